// Package lab starts the real peers the interop tests talk to — Kamailio as
// registrar and proxy, baresip as the far phone — and the gateway itself, all
// on 127.0.0.1, each stopped by PID when the test ends.
//
// The peers come from Debian packages that tools/lab/install-peers.sh
// installs (make test runs it). When a peer is missing, tests skip with a
// loud reason, unless LOOPSTART_REQUIRE_PEERS=1 (set by make test) turns the
// skip into a failure.
package lab

import (
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

//go:embed peers/kamailio.cfg
var kamailioCfg string

//go:embed peers/baresip.config
var baresipCfg string

// Need skips (or, with LOOPSTART_REQUIRE_PEERS=1, fails) the test when a
// program is not installed.
func Need(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			msg := fmt.Sprintf("PEER MISSING: %s is not installed (run tools/lab/install-peers.sh as root, or make test)", p)
			if os.Getenv("LOOPSTART_REQUIRE_PEERS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// FreePort returns a port free for both UDP and TCP on 127.0.0.1, and the
// span−1 ports after it too. The ports lie below the kernel's ephemeral
// range (net.ipv4.ip_local_port_range): a port the kernel handed out for
// a moment would be free when checked and could be any peer's outgoing
// source port by the time the gateway binds it ("address already in use").
// A port is handed out once per test process.
func FreePort(t testing.TB, span int) int {
	t.Helper()
	lo, hi := portPool()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 500 {
		port := lo + rand.IntN(hi-lo-span)
		ok := true
		for i := range span {
			if portsGiven[port+i] || !portFree(port+i) {
				ok = false
				break
			}
		}
		if ok {
			for i := range span {
				portsGiven[port+i] = true
			}
			return port
		}
	}
	t.Fatal("no free port on 127.0.0.1 below the ephemeral range")
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// portPool is the range FreePort draws from: the 12 000 ports below the
// kernel's ephemeral range (from 20 768 with Linux's default 32 768).
func portPool() (lo, hi int) {
	eph := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var a, z int
		if n, _ := fmt.Sscan(string(b), &a, &z); n == 2 && a > 2048 {
			eph = a
		}
	}
	return max(eph-12000, 1024), eph
}

func portFree(port int) bool {
	u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	u.Close()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Proc is a started peer process with its output captured to a file.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	done    chan struct{}
	once    sync.Once
}

// Start runs name with args in its own process group, output to dir/name.log,
// and registers a cleanup that ends the group by PID.
func Start(t testing.TB, dir, name string, args ...string) *Proc {
	t.Helper()
	logPath := filepath.Join(dir, filepath.Base(name)+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("---- %s log (%s) ----\n%s", name, logPath, tail(p.Log(), 80))
		}
	})
	return p
}

// Stop ends the process group: SIGTERM, then SIGKILL after 3 s.
func (p *Proc) Stop() {
	p.once.Do(func() {
		pgid := p.Cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
		// Children that outlived the leader.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Log returns what the process has written so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// Eventually polls cond every 100 ms until it returns nil or timeout passes,
// then fails the test with cond's last error.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond) // the poll interval
	}
}

// waitSIP waits until something answers SIP OPTIONS on addr.
func waitSIP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.Dial("udp", addr)
		if err != nil {
			return err
		}
		local := c.LocalAddr().String()
		msg := "OPTIONS sip:" + addr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-lab" + fmt.Sprint(time.Now().UnixNano()) + "\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:lab@127.0.0.1>;tag=lab\r\nTo: <sip:" + addr + ">\r\n" +
			"Call-ID: lab-" + fmt.Sprint(time.Now().UnixNano()) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		_, _ = c.Write([]byte(msg))
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 2048)
		n, err := c.Read(buf)
		c.Close()
		if err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 ") {
			return nil
		}
		time.Sleep(100 * time.Millisecond) // between attempts
	}
	return errors.New("no SIP answer on " + addr)
}
