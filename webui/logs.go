package webui

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LogRecord is one log line as the logs page shows it.
type LogRecord struct {
	// Seq numbers records from 1, so a client can resume a stream.
	Seq uint64 `json:"seq"`
	// Time is when it was logged.
	Time time.Time `json:"time"`
	// Level is DEBUG, INFO, WARN or ERROR.
	Level string `json:"level"`
	// Text is the message and its attributes, key=value.
	Text string `json:"text"`
}

// LogRing keeps the most recent log records for the logs page and feeds
// live subscribers (server-sent events). Wrap the gateway's slog handler
// with Handler. It is safe for concurrent use.
type LogRing struct {
	mu   sync.Mutex
	recs []LogRecord
	next int // index of the next write once full
	seq  uint64
	subs map[chan struct{}]struct{}
}

// NewLogRing keeps the last n records (at least 1).
func NewLogRing(n int) *LogRing {
	return &LogRing{recs: make([]LogRecord, 0, max(n, 1)), subs: map[chan struct{}]struct{}{}}
}

// Add appends one record.
func (l *LogRing) Add(t time.Time, level slog.Level, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	r := LogRecord{Seq: l.seq, Time: t, Level: level.String(), Text: text}
	if len(l.recs) < cap(l.recs) {
		l.recs = append(l.recs, r)
	} else {
		l.recs[l.next] = r
		l.next = (l.next + 1) % len(l.recs)
	}
	for ch := range l.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Since returns the records with Seq > seq, oldest first.
func (l *LogRing) Since(seq uint64) []LogRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []LogRecord{}
	for i := range l.recs {
		r := l.recs[(l.next+i)%len(l.recs)]
		if r.Seq > seq {
			out = append(out, r)
		}
	}
	return out
}

func (l *LogRing) subscribe() chan struct{} {
	ch := make(chan struct{}, 1)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return ch
}

func (l *LogRing) unsubscribe(ch chan struct{}) {
	l.mu.Lock()
	delete(l.subs, ch)
	l.mu.Unlock()
}

// Handler returns a slog.Handler that passes records to next and keeps
// those at level min or above in the ring.
func (l *LogRing) Handler(next slog.Handler, min slog.Leveler) slog.Handler {
	return &ringHandler{ring: l, next: next, min: min}
}

type ringHandler struct {
	ring  *LogRing
	next  slog.Handler
	min   slog.Leveler
	attrs string
	group string
}

func (h *ringHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= h.min.Level() || h.next.Enabled(ctx, lv)
}

func (h *ringHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= h.min.Level() {
		var b strings.Builder
		b.WriteString(r.Message)
		b.WriteString(h.attrs)
		r.Attrs(func(a slog.Attr) bool {
			writeAttr(&b, h.group, a)
			return true
		})
		h.ring.Add(r.Time, r.Level, b.String())
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	if a.Value.Kind() == slog.KindGroup {
		g := a.Key
		if group != "" {
			g = group + "." + g
		}
		for _, x := range a.Value.Group() {
			writeAttr(b, g, x)
		}
		return
	}
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	v := a.Value.Resolve().String()
	if strings.ContainsAny(v, " \"=") {
		v = strconv.Quote(v)
	}
	fmt.Fprintf(b, " %s=%s", key, v)
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range as {
		writeAttr(&b, h.group, a)
	}
	return &ringHandler{ring: h.ring, next: h.next.WithAttrs(as), min: h.min, attrs: h.attrs + b.String(), group: h.group}
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	g := name
	if h.group != "" {
		g = h.group + "." + name
	}
	return &ringHandler{ring: h.ring, next: h.next.WithGroup(name), min: h.min, attrs: h.attrs, group: g}
}

// handleLogs answers the recent records as JSON (?since=SEQ).
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
	recs := []LogRecord{}
	if s.opts.Logs != nil {
		recs = s.opts.Logs.Since(since)
	}
	writeJSON(w, http.StatusOK, recs)
}

// handleLogStream streams records as server-sent events, one JSON
// LogRecord per "data:" line, starting after Last-Event-ID or ?since.
func (s *Server) handleLogStream(w http.ResponseWriter, r *http.Request) {
	ring := s.opts.Logs
	if ring == nil {
		writeError(w, http.StatusNotFound, "no log available")
		return
	}
	since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		since, _ = strconv.ParseUint(id, 10, 64)
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming not supported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	ch := ring.subscribe()
	defer ring.unsubscribe(ch)
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		for _, rec := range ring.Since(since) {
			b, _ := jsonLine(rec)
			fmt.Fprintf(w, "id: %d\ndata: %s\n\n", rec.Seq, b)
			since = rec.Seq
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-ch:
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
	}
}
