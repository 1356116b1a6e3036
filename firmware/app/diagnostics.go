package app

import (
	"log/slog"
	"sync/atomic"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/loopstart/loopstart/webui"
)

// maxTraced bounds one traced SIP message in the log.
const maxTraced = 4096

// sipTrace routes sipgo's message trace into the log (and so the web
// UI's log ring) while it is on. sipgo's switch (sip.SIPDebug) is a plain
// global its transports read without synchronisation, so it is set once,
// before any transport starts, and the on/off state is our own atomic.
type sipTrace struct {
	log *slog.Logger
	on  atomic.Bool
}

var (
	_ webui.Diagnostics = (*sipTrace)(nil)
	_ sipmsg.SIPTracer  = (*sipTrace)(nil)
)

// installSIPTrace hooks the tracer into sipgo; call it before the user
// agent starts.
func installSIPTrace(log *slog.Logger) *sipTrace {
	t := &sipTrace{log: log.With("part", "sip-trace")}
	sipmsg.SIPDebugTracer(t)
	sipmsg.SIPDebug = true
	return t
}

// SIPTrace implements webui.Diagnostics.
func (t *sipTrace) SIPTrace() bool { return t.on.Load() }

// SetSIPTrace implements webui.Diagnostics.
func (t *sipTrace) SetSIPTrace(on bool) error {
	t.on.Store(on)
	t.log.Info("sip trace", "on", on)
	return nil
}

// SIPTraceRead implements sip.SIPTracer.
func (t *sipTrace) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	t.trace("received", transport, laddr, raddr, msg)
}

// SIPTraceWrite implements sip.SIPTracer.
func (t *sipTrace) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	t.trace("sent", transport, laddr, raddr, msg)
}

func (t *sipTrace) trace(dir, transport, laddr, raddr string, msg []byte) {
	if !t.on.Load() {
		return
	}
	if len(msg) > maxTraced {
		msg = msg[:maxTraced]
	}
	t.log.Info("sip "+dir, "transport", transport, "local", laddr, "remote", raddr, "msg", string(msg))
}
