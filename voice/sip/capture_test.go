package sip

import (
	"log/slog"
	"testing"
)

type sinkRec struct{ got []string }

func (s *sinkRec) SIP(src, dst string, msg []byte) {
	s.got = append(s.got, src+">"+dst+" "+string(msg))
}

// TestTraceCapture: with a capture set, every message goes to it with
// its direction, whether or not the log trace is on; nil stops it.
func TestTraceCapture(t *testing.T) {
	tr := &Trace{log: slog.New(slog.DiscardHandler)}
	s := &sinkRec{}
	tr.SIPTraceRead("UDP", "127.0.0.1:5062", "127.0.0.1:5060", []byte("A"))
	tr.SetCapture(s)
	tr.SIPTraceRead("UDP", "127.0.0.1:5062", "127.0.0.1:5060", []byte("B"))
	tr.SIPTraceWrite("TCP", "127.0.0.1:5062", "10.0.0.1:5060", []byte("C"))
	tr.SetCapture(nil)
	tr.SIPTraceWrite("UDP", "127.0.0.1:5062", "127.0.0.1:5060", []byte("D"))
	want := []string{"127.0.0.1:5060>127.0.0.1:5062 B", "127.0.0.1:5062>10.0.0.1:5060 C"}
	if len(s.got) != len(want) || s.got[0] != want[0] || s.got[1] != want[1] {
		t.Errorf("captured %q, want %q", s.got, want)
	}
}
