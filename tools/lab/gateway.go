package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/status"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds the loopstart command once per test process and returns its
// path. With LOOPSTART_PROFILE=DIR set it is a measurement build (-tags
// loopstart_profile): the gateway writes heap and CPU profiles into DIR on
// SIGUSR2 and SIGUSR1 (see Gateway.HeapProfile). LOOPSTART_BINARY names a
// binary built beforehand to run instead (a benchmark of one commit while
// the tree changes).
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if b := os.Getenv("LOOPSTART_BINARY"); b != "" {
			buildPath = b
			return
		}
		dir, err := os.MkdirTemp("", "loopstart-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "loopstart")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		args := []string{"build", "-o", buildPath}
		if os.Getenv("LOOPSTART_PROFILE") != "" {
			args = append(args, "-tags", "loopstart_profile")
		}
		cmd := exec.Command("go", append(args, "./firmware/cmd/loopstart")...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Gateway is a running `loopstart run --board sim`.
type Gateway struct {
	// HTTP is the web UI's base URL.
	HTTP string
	// SIP is the gateway's SIP address.
	SIP string
	// Data is the gateway's data directory (--data).
	Data string
	proc *Proc
}

// GatewayOpts configures StartGateway.
type GatewayOpts struct {
	// Config is the XML config text; empty runs the built-in default.
	Config string
	// Args are extra command-line arguments for loopstart run.
	Args []string
	// Data is the data directory (--data); empty makes a new one. Passing
	// an earlier gateway's Data restarts that gateway with its state.
	Data string
}

// StartGateway starts the gateway on the sim board with its own data
// directory (or o.Data) and waits for its web UI.
func StartGateway(t testing.TB, o GatewayOpts) *Gateway {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	httpPort := FreePort(t, 1)
	sipPort := FreePort(t, 2)
	g := &Gateway{HTTP: fmt.Sprintf("http://127.0.0.1:%d", httpPort), SIP: fmt.Sprintf("127.0.0.1:%d", sipPort),
		Data: filepath.Join(dir, "data")}
	if o.Data != "" {
		g.Data = o.Data
	}
	args := []string{"run", "--board", "sim", "--data", g.Data,
		"--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--sip", g.SIP, "--log-level", "debug"}
	if o.Config != "" {
		p := filepath.Join(dir, "config.xml")
		if err := os.WriteFile(p, []byte(o.Config), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", p)
	}
	args = append(args, o.Args...)
	g.proc = Start(t, dir, bin, args...)
	Eventually(t, 15*time.Second, "gateway web UI", func() error {
		if g.proc.Exited() {
			t.Fatalf("gateway exited:\n%s", tail(g.proc.Log(), 40))
		}
		resp, err := http.Get(g.HTTP + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return g
}

// SetupCode reads the setup code the web UI's first setup needs from the
// data directory (it exists until a password is set).
func SetupCode(t testing.TB, data string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "setup-code"))
	if err != nil {
		t.Fatalf("setup code: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// Log returns the gateway's log so far.
func (g *Gateway) Log() string { return g.proc.Log() }

// Stop ends the gateway (SIGTERM, so it unregisters).
func (g *Gateway) Stop() { g.proc.Stop() }

// Status fetches /api/status.
func (g *Gateway) Status(t testing.TB) status.Status {
	t.Helper()
	var st status.Status
	g.getJSON(t, "/api/status", &st)
	return st
}

// Account returns the status of account id.
func (g *Gateway) Account(t testing.TB, id string) status.AccountStatus {
	t.Helper()
	for _, a := range g.Status(t).Accounts {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("no account %s in status", id)
	return status.AccountStatus{}
}

// Phone fetches the sim state of port n.
func (g *Gateway) Phone(t testing.TB, n int) simapi.Port {
	t.Helper()
	var p simapi.Port
	g.getJSON(t, fmt.Sprintf("/api/sim/ports/%d", n), &p)
	return p
}

// Hook puts phone n off ("off"), on ("on") hook or flashes it.
func (g *Gateway) Hook(t testing.TB, n int, state string) {
	t.Helper()
	g.post(t, fmt.Sprintf("/api/sim/ports/%d/hook", n), simapi.HookRequest{State: state})
}

// Dial keys digits on phone n as DTMF audio.
func (g *Gateway) Dial(t testing.TB, n int, digits string) {
	t.Helper()
	g.post(t, fmt.Sprintf("/api/sim/ports/%d/dial", n), simapi.DialRequest{Digits: digits, Mode: "dtmf"})
}

// Say makes phone n send tones (none: silence).
func (g *Gateway) Say(t testing.TB, n int, hz []float64, dbfs float64) {
	t.Helper()
	if hz == nil {
		hz = []float64{}
	}
	g.post(t, fmt.Sprintf("/api/sim/ports/%d/say", n), simapi.SayRequest{TonesHz: hz, LevelDBFS: &dbfs})
}

func (g *Gateway) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(g.HTTP + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func (g *Gateway) post(t testing.TB, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(g.HTTP+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s %s: %s: %s", path, b, resp.Status, out)
	}
}

// Hears reports whether tones lists a frequency within 5 Hz of each of want.
func Hears(tones []float64, want ...float64) bool {
	for _, w := range want {
		found := false
		for _, f := range tones {
			if f > w-5 && f < w+5 {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// ContractConfig is the minimal config file of the product's contract (two
// accounts, two ports), for a registrar at addr.
func ContractConfig(addr string) string {
	return strings.ReplaceAll(`<loopstart>
  <account id="1"><registrar>sip:ADDR</registrar><user>1001</user><password>secret1</password></account>
  <account id="2"><registrar>sip:ADDR</registrar><user>1002</user><password>secret2</password></account>
  <port n="1" account="1"/>
  <port n="2" account="2"/>
</loopstart>
`, "ADDR", addr)
}

// WaitHears waits until phone n hears every one of hz (within 5 Hz each),
// failing the test with what it heard instead after timeout.
func (g *Gateway) WaitHears(t testing.TB, n int, timeout time.Duration, what string, hz ...float64) {
	t.Helper()
	Eventually(t, timeout, what, func() error {
		if h := g.Phone(t, n).Hearing; !Hears(h.TonesHz, hz...) {
			return fmt.Errorf("phone %d hears %v at %.1f dBFS", n, h.TonesHz, h.LevelDBFS)
		}
		return nil
	})
}

// OffHookAndDial takes phone n off hook, waits for dial tone (350+440 Hz),
// keys digits as DTMF and waits until the line has finished collecting them.
func (g *Gateway) OffHookAndDial(t testing.TB, n int, digits string) {
	t.Helper()
	g.Hook(t, n, "off")
	g.WaitHears(t, n, 3*time.Second, "dial tone 350+440 Hz", 350, 440)
	g.Dial(t, n, digits)
	Eventually(t, 3*time.Second, "dialing done", func() error {
		if st := g.Status(t).Ports[n-1].State; st == "dialtone" || st == "dialing" {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
}

// PSTN performs a far-side action on the FXO port n's line (ring with
// caller ID, answer, hangup with a signal, ...).
func (g *Gateway) PSTN(t testing.TB, n int, req simapi.PSTNRequest) {
	t.Helper()
	g.post(t, fmt.Sprintf("/api/sim/ports/%d/pstn", n), req)
}

// PortStatus returns the status of port n.
func (g *Gateway) PortStatus(t testing.TB, n int) status.PortStatus {
	t.Helper()
	for _, p := range g.Status(t).Ports {
		if p.Port == n {
			return p
		}
	}
	t.Fatalf("no port %d in status", n)
	return status.PortStatus{}
}
