package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/health"
)

func TestGatewayConfig(t *testing.T) {
	b := &board.Board{}
	addr := netip.MustParseAddrPort("127.0.0.1:5062")
	withUA := config.Default(2)
	withUA.SIP = &config.SIP{UserAgent: "Acme/1"}
	codecs := config.Default(1)
	codecs.Accounts[0].Codecs = "g722,pcma"
	codecs.Ports[0].Country, codecs.Ports[0].DialPlan = "de", "(xxx|*x.)"
	orphan := config.Default(1)
	orphan.Ports[0].Account = "9"
	for _, c := range []struct {
		name      string
		cfg       *config.Config
		userAgent string
		ports     []int
		accounts  []string
		codecs    []string // port 1's
	}{
		{name: "default", cfg: config.Default(2), userAgent: "Loopstart", ports: []int{1, 2},
			accounts: []string{"1", "2"}, codecs: config.Default(1).Accounts[0].CodecList()},
		{name: "user agent", cfg: withUA, userAgent: "Acme/1", ports: []int{1, 2}, accounts: []string{"1", "2"},
			codecs: config.Default(1).Accounts[0].CodecList()},
		{name: "codecs, country, dial plan", cfg: codecs, userAgent: "Loopstart", ports: []int{1}, accounts: []string{"1"},
			codecs: []string{"g722", "pcma"}},
		{name: "port without its account", cfg: orphan, userAgent: "Loopstart", ports: []int{1}, accounts: []string{"1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			gc := gatewayConfig(c.cfg, b, addr, "1.2", slog.New(slog.DiscardHandler))
			if gc.Board != b || gc.RTPAddr != addr.Addr() || gc.SIP.Listen != "127.0.0.1:5062" || gc.Version != "1.2" {
				t.Errorf("board %p (want %p), rtp %v, listen %q, version %q", gc.Board, b, gc.RTPAddr, gc.SIP.Listen, gc.Version)
			}
			// The same priority on every board: hardware and sim highways
			// alike need the loop's frames on time.
			if gc.LoopPriority != 40 {
				t.Errorf("loop priority %d", gc.LoopPriority)
			}
			if gc.SIP.UserAgent != c.userAgent {
				t.Errorf("user agent %q, want %q", gc.SIP.UserAgent, c.userAgent)
			}
			var ports []int
			for _, p := range gc.Ports {
				ports = append(ports, p.N)
			}
			var accounts []string
			for _, a := range gc.SIP.Accounts {
				accounts = append(accounts, a.ID)
			}
			if !reflect.DeepEqual(ports, c.ports) || !reflect.DeepEqual(accounts, c.accounts) {
				t.Fatalf("ports %v accounts %v, want %v %v", ports, accounts, c.ports, c.accounts)
			}
			p := gc.Ports[0]
			want := c.cfg.Ports[0]
			if !reflect.DeepEqual(p.Codecs, c.codecs) || p.Country != want.Country || p.DigitMap != want.DialPlan || p.Account != want.Account {
				t.Errorf("port 1: %+v, want codecs %v from %+v", p, c.codecs, want)
			}
		})
	}
	// Account fields reach SIP.
	cfg := config.Default(1)
	a := &cfg.Accounts[0]
	a.AuthUser, a.Password, a.DisplayName, a.Expires, a.Transport, a.SRTP = "auth", "pw", "Desk", 600, "tcp", "optional"
	got := gatewayConfig(cfg, b, addr, "1.2", slog.New(slog.DiscardHandler)).SIP.Accounts[0]
	if got.User != a.User || got.AuthUser != "auth" || got.Password != "pw" || got.Display != "Desk" ||
		got.Expires != 10*time.Minute || got.Transport != "tcp" || got.SRTP != "optional" || got.Registrar != a.Registrar {
		t.Errorf("account %+v from %+v", got, *a)
	}
	// The message-waiting subscription reaches SIP.
	if got.MWISubscribe || got.Mailbox != "" {
		t.Errorf("subscription on by default: %+v", got)
	}
	a.MWISubscribe, a.Mailbox = "true", "sip:*97@pbx.example"
	got = gatewayConfig(cfg, b, addr, "1.2", slog.New(slog.DiscardHandler)).SIP.Accounts[0]
	if !got.MWISubscribe || got.Mailbox != "sip:*97@pbx.example" {
		t.Errorf("subscription lost: %+v", got)
	}
	// The SIP switches reach SIP.
	cfg.SIP = &config.SIP{DirectCalls: "true", IgnoreStrangers: "true"}
	if sc := gatewayConfig(cfg, b, addr, "1.2", slog.New(slog.DiscardHandler)).SIP; !sc.DirectCalls || !sc.IgnoreStrangers {
		t.Errorf("switches lost: direct %v, ignore %v", sc.DirectCalls, sc.IgnoreStrangers)
	}
	if sc := gatewayConfig(config.Default(1), b, addr, "1.2", slog.New(slog.DiscardHandler)).SIP; sc.DirectCalls || sc.IgnoreStrangers {
		t.Errorf("switches on by default: direct %v, ignore %v", sc.DirectCalls, sc.IgnoreStrangers)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	three, err := config.Default(3).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	one, err := config.Default(1).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	explicit := write("explicit.xml", string(one))
	stored := write("data/config.xml", string(three))
	bad := write("bad.xml", "<loopstart><port n=\"1\" account=\"9\"/></loopstart>")
	notDir := write("file", "")
	for _, c := range []struct {
		name, file, data string
		ports            int
		source           string
		err              string
	}{
		{"--config wins", explicit, filepath.Dir(stored), 1, explicit, ""},
		{"data directory", "", filepath.Dir(stored), 3, stored, ""},
		{"built-in default", "", filepath.Join(dir, "empty"), 2, "built-in default", ""},
		{"invalid file", bad, "", 0, "", "config " + bad + ":"},
		{"missing file", filepath.Join(dir, "nope.xml"), "", 0, "", "nope.xml"},
		{"data not a directory", "", notDir, 0, "", "not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, source, err := loadConfig(c.file, c.data, 0)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Ports) != c.ports || source != c.source {
				t.Errorf("%d ports from %q, want %d from %q", len(cfg.Ports), source, c.ports, c.source)
			}
		})
	}
}

// TestRunRefuses: a start-up error stops Run with the flag it concerns.
func TestRunRefuses(t *testing.T) {
	b := opened(&board.Board{})
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"no board", Options{}, "app: no board"},
		{"board fails", Options{OpenBoard: func(string) (*Board, error) { return nil, errors.New("board x: missing device files: /dev/spidev0.0") }},
			"missing device files: /dev/spidev0.0"},
		{"bad sip", Options{OpenBoard: b, SIP: "localhost"}, `--sip "localhost": want IP:PORT`},
		{"http in use", Options{OpenBoard: b, SIP: "127.0.0.1:5062", HTTP: busy.Addr().String()}, "--http:"},
		{"bad firmware key", Options{OpenBoard: b, FirmwareKey: filepath.Join(t.TempDir(), "none.pub")}, "firmware: --firmware-key:"},
		{"bad config", Options{OpenBoard: b, ConfigFile: filepath.Join(t.TempDir(), "none.xml")}, "config "},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.BoardName, c.o.Logger = "sim", slog.New(slog.DiscardHandler)
			if c.o.OpenBoard != nil {
				c.o.DataDir = t.TempDir()
			}
			err := Run(context.Background(), c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Run = %v, want %q", err, c.want)
			}
		})
	}
}

// opened is an OpenBoard that gives b.
func opened(b *board.Board) func(string) (*Board, error) {
	return func(string) (*Board, error) { return &Board{Board: b}, nil }
}

// freePorts returns a loopback TCP port for the web UI and a SIP port
// free on UDP and TCP with the next TCP port (SIP over TLS) free too.
func freePorts(t *testing.T) (web, sip int) {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		u, uerr := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		n, nerr := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		w, werr := net.Listen("tcp", "127.0.0.1:0")
		ln.Close()
		if uerr == nil {
			u.Close()
		}
		if nerr == nil {
			n.Close()
		}
		if werr == nil {
			w.Close()
		}
		if uerr == nil && nerr == nil && werr == nil {
			return w.Addr().(*net.TCPAddr).Port, p
		}
	}
	t.Fatal("no free ports")
	return 0, 0
}

// syncBuffer is a bytes.Buffer for a logger used from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunSimBoard runs the whole application on the sim board: the web
// UI answers (its own names only), the data directory gets its firmware
// store and the setup code (also in the log), and the run ends cleanly
// with its context.
func TestRunSimBoard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway")
	}
	sb, err := simboard.New(simboard.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	open := func(string) (*Board, error) {
		return &Board{Board: &sb.Board, Sim: sb, Close: func() error { close(closed); return sb.Close() }}, nil
	}
	healthSock := filepath.Join(t.TempDir(), "health.sock")
	web, sip := freePorts(t)
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logBuf syncBuffer
	go func() {
		done <- Run(ctx, Options{OpenBoard: open, BoardName: "sim", DataDir: data, HealthSocket: healthSock,
			HTTP: fmt.Sprintf("127.0.0.1:%d", web), SIP: fmt.Sprintf("127.0.0.1:%d", sip), WebHosts: []string{"ata.test"},
			FirmwareHealth: time.Minute, Version: "test", Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", web)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
			err = errors.New(res.Status)
		}
		select {
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("web UI not up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(data, "firmware")); err != nil {
		t.Errorf("firmware store: %v", err)
	}
	code, err := os.ReadFile(filepath.Join(data, "setup-code"))
	if err != nil || !strings.Contains(logBuf.String(), `msg="first setup: setup code" setup_code=`+strings.TrimSpace(string(code))) {
		t.Errorf("setup code %q (%v) not in the log:\n%s", code, err, logBuf.String())
	}
	for _, c := range []struct {
		host string
		want int
	}{{"ata.test", http.StatusOK}, {"rebind.attacker.example", http.StatusMisdirectedRequest}} {
		r, _ := http.NewRequest("GET", url, nil)
		r.Host = c.host
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("Host %s: %d, want %d", c.host, res.StatusCode, c.want)
		}
	}
	// The boot supervisor's health check: the loop's ticks on the socket.
	var rep health.Report
	for i := 0; ; i++ {
		if rep, err = health.Read(context.Background(), healthSock); err == nil && rep.Ticks > 0 && rep.Started > 0 {
			break
		}
		if i > 500 {
			t.Fatalf("health socket: %+v %v", rep, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end with its context")
	}
	select {
	case <-closed:
	default:
		t.Error("Run did not close the board")
	}
}
