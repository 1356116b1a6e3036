package system

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Syslog sends log lines to a remote syslog server over UDP (RFC 5424
// framing, facility daemon). It never blocks the caller for long: a failed
// send is dropped.
type Syslog struct {
	mu   sync.Mutex
	conn net.Conn
	host string
	app  string
	now  func() time.Time
}

// DialSyslog prepares sending to addr (host or host:port, default port 514).
func DialSyslog(addr, app string, now func() time.Time) (*Syslog, error) {
	h, p, err := splitHostPortDefault(addr, "514")
	if err != nil {
		return nil, fmt.Errorf("syslog %q: %w", addr, err)
	}
	c, err := net.Dial("udp", net.JoinHostPort(h, p))
	if err != nil {
		return nil, fmt.Errorf("syslog %q: %w", addr, err)
	}
	host, _ := os.Hostname()
	if host == "" || host == "(none)" {
		host = "loopstart"
	}
	return &Syslog{conn: c, host: host, app: app, now: now}, nil
}

// Send sends one message at severity sev (0 emergency .. 7 debug).
func (s *Syslog) Send(sev int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pri := 3*8 + sev // facility 3: system daemons
	line := fmt.Sprintf("<%d>1 %s %s %s - - - %s", pri, s.now().UTC().Format(time.RFC3339Nano), s.host, s.app, msg)
	_ = s.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = s.conn.Write([]byte(line))
}

// Writer returns an io.Writer that sends each line written at severity sev.
func (s *Syslog) Writer(sev int) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		for _, l := range splitLines(p) {
			s.Send(sev, l)
		}
		return len(p), nil
	})
}

// Close closes the socket.
func (s *Syslog) Close() error { return s.conn.Close() }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func splitLines(p []byte) []string {
	var out []string
	start := 0
	for i, c := range p {
		if c == '\n' {
			if i > start {
				out = append(out, string(p[start:i]))
			}
			start = i + 1
		}
	}
	if start < len(p) {
		out = append(out, string(p[start:]))
	}
	return out
}

// splitHostPortDefault splits host[:port], using def when there is no port.
func splitHostPortDefault(addr, def string) (host, port string, err error) {
	if addr == "" {
		return "", "", fmt.Errorf("empty address")
	}
	if h, p, err := net.SplitHostPort(addr); err == nil {
		if h == "" {
			return "", "", fmt.Errorf("no host in %q", addr)
		}
		return h, p, nil
	}
	return addr, def, nil
}
