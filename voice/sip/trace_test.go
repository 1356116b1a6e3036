package sip

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSIPTrace(t *testing.T) {
	var buf bytes.Buffer
	tr := &Trace{log: slog.New(slog.NewTextHandler(&buf, nil))}
	msg := []byte("OPTIONS sip:101@127.0.0.1 SIP/2.0\r\n\r\n")
	tr.SIPTraceRead("UDP", "127.0.0.1:5062", "127.0.0.1:5060", msg)
	if buf.Len() != 0 {
		t.Fatalf("traced while off: %s", buf.String())
	}
	tr.SetSIPTrace(true)
	tr.SIPTraceWrite("UDP", "127.0.0.1:5062", "127.0.0.1:5060", msg)
	tr.SIPTraceRead("TCP", "127.0.0.1:5062", "127.0.0.1:5060", bytes.Repeat([]byte("x"), 10_000))
	out := buf.String()
	if !strings.Contains(out, `msg="sip sent"`) || !strings.Contains(out, "OPTIONS sip:101@127.0.0.1") ||
		!strings.Contains(out, `msg="sip received"`) || strings.Count(out, "x") > maxTraced+100 {
		t.Fatalf("trace log:\n%.500s", out)
	}
	if !tr.SIPTrace() {
		t.Fatal("SIPTrace() = false")
	}
}
