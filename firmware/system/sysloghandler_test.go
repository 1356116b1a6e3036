package system

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSyslogHandler: records reach a UDP listener on loopback at the
// severity of their level, attributes and groups included, below the
// level nothing.
func TestSyslogHandler(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sl, err := DialSyslog(ln.LocalAddr().String(), "loopstart", func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	log := slog.New(sl.Handler(slog.LevelInfo)).With("part", "sip")
	log.Debug("hidden")
	log.Info("registered", "account", "1")
	log.Warn("slow")
	log.WithGroup("call").Error("failed", "code", 503)
	want := []string{
		`<30>1 2026-01-02T03:04:05Z `, `loopstart - - - level=INFO msg=registered part=sip account=1`,
		`<28>1 `, `level=WARN msg=slow part=sip`,
		`<27>1 `, `level=ERROR msg=failed part=sip call.code=503`,
	}
	buf := make([]byte, 2048)
	for i := 0; i < len(want); i += 2 {
		ln.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := ln.ReadFrom(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i/2, err)
		}
		got := string(buf[:n])
		if !strings.HasPrefix(got, want[i]) || !strings.HasSuffix(got, want[i+1]) || strings.Contains(got, "time=") {
			t.Errorf("got %q, want %q...%q", got, want[i], want[i+1])
		}
	}
}
