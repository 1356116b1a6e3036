package lab

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestRunRemoteSyslog: `loopstart run --syslog` sends its log to a UDP
// syslog listener on loopback, in RFC 5424 framing at the records'
// severities, while the console log goes on.
func TestRunRemoteSyslog(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g := StartGateway(t, GatewayOpts{Args: []string{"--syslog", ln.LocalAddr().String()}})
	defer g.Stop()
	var got []string
	buf := make([]byte, 8192)
	deadline := time.Now().Add(15 * time.Second)
	running := false
	for !running && time.Now().Before(deadline) && len(got) < 5000 {
		ln.SetReadDeadline(deadline)
		n, _, err := ln.ReadFrom(buf)
		if err != nil {
			break
		}
		m := string(buf[:n])
		got = append(got, m)
		running = strings.HasPrefix(m, "<30>1 ") && strings.Contains(m, " loopstart - - - level=INFO msg=\"loopstart running\"")
	}
	if !running {
		t.Fatalf("no \"loopstart running\" at severity info among %d syslog messages: %q", len(got), got[:min(len(got), 5)])
	}
	if !strings.Contains(got[0], "msg=\"remote syslog\"") {
		t.Errorf("first message %q", got[0])
	}
	if !strings.Contains(g.Log(), "loopstart running") {
		t.Errorf("the console log lost the line")
	}
}
