package system

import (
	"context"
	"log/slog"
)

// Handler returns a slog.Handler that sends each record to s, formatted
// as slog's text handler does (without the time: the syslog header has
// it), at the severity of its level: error 3, warn 4, info 6, debug 7.
func (s *Syslog) Handler(level slog.Leveler) slog.Handler {
	h := &syslogHandler{level: level}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	for i, sev := range []int{7, 6, 4, 3} {
		h.hs[i] = slog.NewTextHandler(s.Writer(sev), opts)
	}
	return h
}

type syslogHandler struct {
	level slog.Leveler
	hs    [4]slog.Handler // debug, info, warn, error
}

func (h *syslogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *syslogHandler) pick(l slog.Level) slog.Handler {
	switch {
	case l >= slog.LevelError:
		return h.hs[3]
	case l >= slog.LevelWarn:
		return h.hs[2]
	case l >= slog.LevelInfo:
		return h.hs[1]
	}
	return h.hs[0]
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.pick(r.Level).Handle(ctx, r)
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &syslogHandler{level: h.level}
	for i := range h.hs {
		n.hs[i] = h.hs[i].WithAttrs(as)
	}
	return n
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	n := &syslogHandler{level: h.level}
	for i := range h.hs {
		n.hs[i] = h.hs[i].WithGroup(name)
	}
	return n
}
