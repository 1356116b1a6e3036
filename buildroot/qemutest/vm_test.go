package qemutest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/buildroot"
	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/tools/lab"
)

var (
	buildMu sync.Mutex
	built   = map[string]buildroot.Image{}
	outDirs []string
)

// TestMain removes the images built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range outDirs {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}

// repoRoot is the module root (two levels up from this package).
func repoRoot(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

// image builds target's image once per test binary (kernel cached in
// .cache/image like make image), with extra kernel modules when given
// (a test variant, never the product image).
func image(t testing.TB, target string, extraModules ...string) buildroot.Image {
	t.Helper()
	lab.Need(t, "apt-get", "dpkg-deb", "xz")
	tg, err := buildroot.Lookup(target)
	if err != nil {
		t.Fatal(err)
	}
	lab.Need(t, tg.QEMU)
	buildMu.Lock()
	defer buildMu.Unlock()
	key := strings.Join(append([]string{target}, extraModules...), "+")
	if img, ok := built[key]; ok {
		return img
	}
	repo := repoRoot(t)
	out, err := os.MkdirTemp("", "loopstart-image-")
	if err != nil {
		t.Fatal(err)
	}
	outDirs = append(outDirs, out)
	var log bytes.Buffer
	start := time.Now()
	img, err := buildroot.Build(tg, buildroot.BuildOptions{Repo: repo, Out: out,
		Cache: filepath.Join(repo, ".cache", "image"), Version: "qemutest", Log: &log, ExtraModules: extraModules})
	if err != nil {
		t.Fatalf("build %s: %v\n%s", key, err, log.String())
	}
	t.Logf("built %s in %v:\n%s", key, time.Since(start).Round(time.Second), log.String())
	built[key] = img
	return img
}

// vm is a running guest.
type vm struct {
	t       testing.TB
	proc    *lab.Proc
	serial  string
	http    string // host:port forwarded to the guest's web UI
	hooks   string // host:port forwarded to the test hooks
	started time.Time
	token   string
}

// boot starts img with data as its disk (none when empty) and the test
// hooks enabled; extra is added to the kernel command line.
func boot(t testing.TB, img buildroot.Image, data string, extra ...string) *vm {
	t.Helper()
	dir := t.TempDir()
	httpPort, hookPort, sipPort := lab.FreePort(t, 1), lab.FreePort(t, 1), lab.FreePort(t, 1)
	v := &vm{t: t, serial: filepath.Join(dir, "serial.log"),
		http:  fmt.Sprintf("127.0.0.1:%d", httpPort),
		hooks: fmt.Sprintf("127.0.0.1:%d", hookPort)}
	// The guest's SIP port is forwarded from the same port on the host:
	// user networking NATs the guest to 127.0.0.1, and Kamailio answers
	// the Via's port at the address it saw (127.0.0.1).
	sip := fmt.Sprintf("127.0.0.1:%d-:%d", sipPort, sipPort)
	args := buildroot.QEMUArgs(buildroot.QEMUOptions{Image: img, Data: data, Serial: v.serial,
		Forwards: []string{"tcp:" + v.http + "-:80", fmt.Sprintf("tcp:%s-:%d", v.hooks, system.TestHooksPort),
			"udp:" + sip, "tcp:" + sip},
		Append: strings.Join(append([]string{fmt.Sprintf("loopstart.testhooks=1 loopstart.sip=%d", sipPort)}, extra...), " ")})
	v.started = time.Now()
	v.proc = lab.Start(t, dir, img.Target.QEMU, args...)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(v.serial)
			t.Logf("---- guest console (%s) ----\n%s", v.serial, tailLines(string(b), 120))
		}
	})
	return v
}

func tailLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// console returns what the guest printed so far.
func (v *vm) console() string {
	b, _ := os.ReadFile(v.serial)
	return string(b)
}

// waitUI waits for the web UI's /healthz and returns how long after QEMU
// started it answered.
func (v *vm) waitUI(timeout time.Duration) time.Duration {
	v.t.Helper()
	c := &http.Client{Timeout: time.Second}
	lab.Eventually(v.t, timeout, "web UI up", func() error {
		if v.proc.Exited() {
			v.t.Fatalf("QEMU exited:\n%s\n%s", v.proc.Log(), tailLines(v.console(), 60))
		}
		resp, err := c.Get("http://" + v.http + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("healthz: %s", resp.Status)
		}
		return nil
	})
	return time.Since(v.started)
}

// bootState is the part of `loopstart boot`'s state the tests read.
type bootState struct {
	BootedAt  time.Time `json:"booted_at"`
	RSSKiB    int64     `json:"gateway_rss_kib"`
	Formatted bool      `json:"formatted"`
	Petting   bool      `json:"petting"`
	Problems  []string  `json:"problems"`
	SelfTests map[string]struct {
		Pass bool   `json:"pass"`
		Line string `json:"line"`
	} `json:"selftests"`
	Gateway struct {
		Running   bool   `json:"running"`
		Pid       int    `json:"pid"`
		Restarts  int    `json:"restarts"`
		LastCrash string `json:"last_crash"`
	} `json:"gateway"`
}

func (v *vm) state() (bootState, error) {
	var st bootState
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + v.hooks + "/test/state")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return st, fmt.Errorf("state: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (v *vm) mustState() bootState {
	v.t.Helper()
	var st bootState
	lab.Eventually(v.t, 20*time.Second, "boot state", func() (err error) {
		st, err = v.state()
		return err
	})
	return st
}

// steadyRSS waits until the gateway's resident set has stopped growing
// after start-up (two reads a second apart within 1 % of each other) and
// returns the boot state of the second read.
func (v *vm) steadyRSS(timeout time.Duration) bootState {
	v.t.Helper()
	var prev, st bootState
	var prevAt time.Time
	lab.Eventually(v.t, timeout, "gateway RSS steady", func() error {
		if !prevAt.IsZero() && time.Since(prevAt) < time.Second {
			return fmt.Errorf("gateway RSS %d KiB, next read due", prev.RSSKiB)
		}
		var err error
		if st, err = v.state(); err != nil {
			return err
		}
		last := prev
		prev, prevAt = st, time.Now()
		if last.RSSKiB == 0 || st.RSSKiB == 0 {
			return fmt.Errorf("gateway RSS %d KiB, no earlier read to compare", st.RSSKiB)
		}
		if d := st.RSSKiB - last.RSSKiB; d*100 > last.RSSKiB || -d*100 > last.RSSKiB {
			return fmt.Errorf("gateway RSS moved from %d to %d KiB in a second", last.RSSKiB, st.RSSKiB)
		}
		return nil
	})
	return st
}

func (v *vm) hook(what string) {
	v.t.Helper()
	resp, err := http.Post("http://"+v.hooks+"/test/"+what, "text/plain", nil)
	if err != nil {
		v.t.Fatalf("hook %s: %v", what, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		v.t.Fatalf("hook %s: %s %s", what, resp.Status, b)
	}
}

// api calls the web UI's API (ctype is the Accept type for GET, the
// Content-Type otherwise) with the bearer token (the web UI's API
// contract: POST /api/setup, POST /api/login -> {"token"}, then
// Authorization: Bearer).
func (v *vm) api(method, path, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, "http://"+v.http+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" && method == "GET" {
		req.Header.Set("Accept", ctype)
	} else if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if v.token != "" {
		req.Header.Set("Authorization", "Bearer "+v.token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// login sets the admin password when none is set, then logs in.
func (v *vm) login(password string) {
	v.t.Helper()
	v.token = ""
	body, _ := json.Marshal(map[string]string{"password": password})
	code, b, err := v.api("POST", "/api/setup", "application/json", body)
	if err != nil {
		v.t.Fatalf("POST /api/setup: %v", err)
	}
	if code == 404 {
		v.t.Fatalf("POST /api/setup: 404: the web UI's config API is not in this build: %s", b)
	}
	if code != 200 && code != 201 && code != 204 && code != 409 {
		v.t.Fatalf("POST /api/setup: %d %s", code, b)
	}
	code, b, err = v.api("POST", "/api/login", "application/json", body)
	if err != nil || code != 200 {
		v.t.Fatalf("POST /api/login: %d %s %v", code, b, err)
	}
	var lr struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &lr); err != nil || lr.Token == "" {
		v.t.Fatalf("POST /api/login: no token in %s (%v)", b, err)
	}
	v.token = lr.Token
}

// putConfig replaces the whole config through PUT /api/config.
func (v *vm) putConfig(xml string) {
	v.t.Helper()
	code, b, err := v.api("PUT", "/api/config", "application/xml", []byte(xml))
	if err != nil || code != 200 {
		v.t.Fatalf("PUT /api/config: %d %s %v", code, b, err)
	}
}

func (v *vm) getConfig() string {
	v.t.Helper()
	code, b, err := v.api("GET", "/api/config", "application/xml", nil)
	if err != nil || code != 200 {
		v.t.Fatalf("GET /api/config: %d %s %v", code, b, err)
	}
	return string(b)
}

// accountState returns account id's registration state from /api/status.
func (v *vm) accountState(id string) (string, error) {
	code, b, err := v.api("GET", "/api/status", "", nil)
	if err != nil {
		return "", err
	}
	if code != 200 {
		return "", fmt.Errorf("GET /api/status: %d %s", code, b)
	}
	var st struct {
		Accounts []struct {
			ID, State, LastError string
		} `json:"accounts"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return "", err
	}
	for _, a := range st.Accounts {
		if a.ID == id {
			return a.State, nil
		}
	}
	return "", fmt.Errorf("no account %q in status", id)
}

// guestConfig is a config whose accounts register at Kamailio on the host.
func guestConfig(kamPort int, users ...string) string {
	var b strings.Builder
	b.WriteString("<loopstart>\n")
	for i, u := range users {
		fmt.Fprintf(&b, "  <account id=\"%d\"><registrar>sip:10.0.2.2:%d</registrar><user>%s</user><password>secret%s</password></account>\n",
			i+1, kamPort, u, u[len(u)-1:])
	}
	for i := range users {
		fmt.Fprintf(&b, "  <port n=\"%d\" account=\"%d\"/>\n", i+1, i+1)
	}
	b.WriteString("</loopstart>\n")
	return b.String()
}

// seededDisk makes an ext4 data disk with config.xml on it (mkfs.ext4 -d).
func seededDisk(t testing.TB, configXML string) string {
	t.Helper()
	lab.Need(t, "mkfs.ext4")
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed")
	if err := os.MkdirAll(seed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seed, "config.xml"), []byte(configXML), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "data.img")
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "loopstart", "-m", "0", "-d", seed, path, "64M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	return path
}
