package sip

import (
	"log/slog"
	"sync/atomic"

	sipmsg "github.com/emiago/sipgo/sip"
)

// maxTraced bounds one traced SIP message in the log.
const maxTraced = 4096

// Trace routes sipgo's message trace into the log (and so the web
// UI's log ring) while it is on. sipgo's switch (sip.SIPDebug) is a plain
// global its transports read without synchronisation, so it is set once,
// before any transport starts, and the on/off state is our own atomic.
type Trace struct {
	log  *slog.Logger
	on   atomic.Bool
	sink atomic.Pointer[sinkBox]
}

// PacketSink receives a copy of every SIP message sent and received, with
// its source and destination "ip:port" (a packet capture).
type PacketSink interface {
	SIP(src, dst string, msg []byte)
}

type sinkBox struct{ s PacketSink }

// SetCapture makes every SIP message also go to s; nil stops it. The
// capture sees messages whether or not the log trace is on.
func (t *Trace) SetCapture(s PacketSink) {
	if s == nil {
		t.sink.Store(nil)
		return
	}
	t.sink.Store(&sinkBox{s})
}

var _ sipmsg.SIPTracer = (*Trace)(nil)

// installedTrace is the tracer InstallTrace hooked into sipgo, for the
// messages answered before sipgo sees them (stateless.go).
var installedTrace atomic.Pointer[Trace]

// InstallTrace hooks a tracer into sipgo, off until SetSIPTrace(true);
// call it once per process, before any user agent starts.
func InstallTrace(log *slog.Logger) *Trace {
	t := &Trace{log: log.With("part", "sip-trace")}
	installedTrace.Store(t)
	sipmsg.SIPDebugTracer(t)
	sipmsg.SIPDebug = true
	return t
}

// SIPTrace reports whether the trace is on (the web UI's diagnostics).
func (t *Trace) SIPTrace() bool { return t.on.Load() }

// SetSIPTrace turns the trace on or off.
func (t *Trace) SetSIPTrace(on bool) error {
	t.on.Store(on)
	t.log.Info("sip trace", "on", on)
	return nil
}

// SIPTraceRead implements sipgo's SIPTracer.
func (t *Trace) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	if b := t.sink.Load(); b != nil {
		b.s.SIP(raddr, laddr, msg)
	}
	t.trace("received", transport, laddr, raddr, msg)
}

// SIPTraceWrite implements sipgo's SIPTracer.
func (t *Trace) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	if b := t.sink.Load(); b != nil {
		b.s.SIP(laddr, raddr, msg)
	}
	t.trace("sent", transport, laddr, raddr, msg)
}

func (t *Trace) trace(dir, transport, laddr, raddr string, msg []byte) {
	if !t.on.Load() {
		return
	}
	if len(msg) > maxTraced {
		msg = msg[:maxTraced]
	}
	t.log.Info("sip "+dir, "transport", transport, "local", laddr, "remote", raddr, "msg", string(msg))
}
