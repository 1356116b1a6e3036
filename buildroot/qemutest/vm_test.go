package qemutest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	return imageCmds(t, target, nil, extraModules...)
}

// imageCmds is image with helper commands added (buildroot.BuildOptions
// ExtraCmds), for a test variant.
func imageCmds(t testing.TB, target string, cmds []string, extraModules ...string) buildroot.Image {
	t.Helper()
	return imageKernel(t, target, false, cmds, extraModules...)
}

// boardImage is target's image on its board kernel (make kernel), which
// it builds first unless the kernel cache has it (minutes, once per
// kernel source and configuration), whatever LOOPSTART_STOCK_KERNEL says.
func boardImage(t testing.TB, target string) buildroot.Image {
	t.Helper()
	cache, err := buildroot.KernelCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	start := time.Now()
	if _, err := buildroot.BuildBoardKernel(target, buildroot.KernelBuildOptions{Cache: cache, Log: &log}); err != nil {
		t.Fatalf("board kernel for %s: %v\n%s", target, err, log.String())
	}
	t.Logf("board kernel for %s in %v:\n%s", target, time.Since(start).Round(time.Second), log.String())
	return imageKernel(t, target, true, nil)
}

// imageKernel is imageCmds; board demands the board kernel (cached).
// Images are kept per kernel: a test run may build the board kernel after
// another test built the image on Debian's.
func imageKernel(t testing.TB, target string, board bool, cmds []string, extraModules ...string) buildroot.Image {
	t.Helper()
	lab.Need(t, "apt-get", "dpkg-deb", "xz")
	tg, err := buildroot.Lookup(target)
	if err != nil {
		t.Fatal(err)
	}
	lab.Need(t, tg.QEMU)
	buildMu.Lock()
	defer buildMu.Unlock()
	key := strings.Join(append(append([]string{target}, extraModules...), cmds...), "+")
	stock := !board && os.Getenv("LOOPSTART_STOCK_KERNEL") == "1"
	if _, cached := buildroot.CachedBoardKernel(target); !cached {
		if board {
			t.Fatalf("%s: no board kernel in the cache", target)
		}
		stock = true
	}
	if stock {
		key += "+stock-kernel"
	}
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
	// A board kernel cached on this host (make kernel) is booted, as make
	// image does; LOOPSTART_STOCK_KERNEL=1 keeps Debian's.
	img, err := buildroot.Build(tg, buildroot.BuildOptions{Repo: repo, Out: out,
		Cache: filepath.Join(repo, ".cache", "image"), Version: "qemutest", Log: &log, ExtraModules: extraModules, ExtraCmds: cmds,
		StockKernel: stock})
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
	http    string // host:port forwarded to the guest's port 80 (a redirect to HTTPS)
	https   string // host:port forwarded to the guest's web UI on HTTPS (port 443)
	hooks   string // host:port forwarded to the test hooks
	started time.Time
	token   string
	// client trusts only the guest's HTTPS certificate, pinned on first
	// use (trustCert).
	client *http.Client
	// passwordSet: this vm's login has set the admin password.
	passwordSet bool
}

// boot starts img with data as its disk (none when empty) and the test
// hooks enabled; extra is added to the kernel command line.
func boot(t testing.TB, img buildroot.Image, data string, extra ...string) *vm {
	t.Helper()
	return bootMem(t, img, data, 0, extra...)
}

// bootMem is boot with memMiB of guest RAM (0: QEMUArgs' default).
func bootMem(t testing.TB, img buildroot.Image, data string, memMiB int, extra ...string) *vm {
	t.Helper()
	return bootFwd(t, img, data, memMiB, nil, extra...)
}

// bootFwd is bootMem with more user-networking forwards (QEMU hostfwd
// rules, e.g. "tcp:127.0.0.1:N-:8082").
func bootFwd(t testing.TB, img buildroot.Image, data string, memMiB int, forwards []string, extra ...string) *vm {
	t.Helper()
	return bootWith(t, img, bootOpts{data: data, memMiB: memMiB, forwards: forwards}, extra...)
}

// bootOpts are bootWith's choices.
type bootOpts struct {
	data     string   // the data disk ("": none)
	memMiB   int      // guest RAM (0: QEMUArgs' default)
	forwards []string // more user-networking forwards
	xz       bool     // boot the xz initramfs, as a board does
}

// bootWith is boot with every choice.
func bootWith(t testing.TB, img buildroot.Image, o bootOpts, extra ...string) *vm {
	t.Helper()
	data, memMiB, forwards := o.data, o.memMiB, o.forwards
	dir := t.TempDir()
	httpPort, httpsPort, hookPort, sipPort := lab.FreePort(t, 1), lab.FreePort(t, 1), lab.FreePort(t, 1), lab.FreePort(t, 1)
	v := &vm{t: t, serial: filepath.Join(dir, "serial.log"),
		http:  fmt.Sprintf("127.0.0.1:%d", httpPort),
		https: fmt.Sprintf("127.0.0.1:%d", httpsPort),
		hooks: fmt.Sprintf("127.0.0.1:%d", hookPort)}
	// The guest's SIP port is forwarded from the same port on the host:
	// user networking NATs the guest to 127.0.0.1, and Kamailio answers
	// the Via's port at the address it saw (127.0.0.1).
	sip := fmt.Sprintf("127.0.0.1:%d-:%d", sipPort, sipPort)
	args := buildroot.QEMUArgs(buildroot.QEMUOptions{Image: img, Data: data, Serial: v.serial, MemMiB: memMiB, InitramfsXZ: o.xz,
		Forwards: append([]string{"tcp:" + v.http + "-:80", "tcp:" + v.https + "-:443", fmt.Sprintf("tcp:%s-:%d", v.hooks, system.TestHooksPort),
			"udp:" + sip, "tcp:" + sip}, forwards...),
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
	// Memory is the guest's /proc/meminfo (nil from an older image).
	Memory *struct {
		TotalKiB     int64 `json:"total_kib"`
		AvailableKiB int64 `json:"available_kib"`
		FreeKiB      int64 `json:"free_kib"`
	} `json:"memory"`
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

// trustCert fetches the certificate the guest's HTTPS listener presents
// (trust on first use: the TLS handshake's leaf, unverified) and pins it:
// from then on the API client trusts that certificate alone, with full
// verification (it must be valid for 127.0.0.1, the address the test
// connects to). A later boot presenting another certificate fails every
// call, so the pin also proves the certificate persists on the data disk.
func (v *vm) trustCert() {
	v.t.Helper()
	var cert *x509.Certificate
	var version uint16
	lab.Eventually(v.t, 30*time.Second, "HTTPS handshake", func() error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", v.https, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return err
		}
		defer conn.Close()
		cs := conn.ConnectionState()
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("no certificate in the handshake")
		}
		cert, version = cs.PeerCertificates[0], cs.Version
		return nil
	})
	if version < tls.VersionTLS12 {
		v.t.Errorf("HTTPS negotiated %s, want TLS 1.2 or later", tls.VersionName(version))
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		v.t.Errorf("the guest's certificate is not self-signed: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	for _, name := range []string{"127.0.0.1", "localhost"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, CurrentTime: time.Now()}); err != nil {
			v.t.Errorf("the guest's certificate does not verify for %s: %v", name, err)
		}
	}
	v.t.Logf("pinned the guest's HTTPS certificate: %s, %s, IPs %v names %v, valid to %s", tls.VersionName(version),
		cert.Subject, cert.IPAddresses, cert.DNSNames, cert.NotAfter.Format(time.DateOnly))
	v.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// setupCodeLine is the web UI's log line with the per-device setup code
// (slog text handler) on the guest console.
var setupCodeLine = regexp.MustCompile(`msg="first setup: setup code" setup_code="?([0-9A-Za-z]{5}-[0-9A-Za-z]{5})\b`)

// parseSetupCode returns the last setup code in console output, "" when
// there is none.
func parseSetupCode(console string) string {
	m := setupCodeLine.FindAllStringSubmatch(console, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// setupCode returns the last setup code the guest logged on its console,
// waiting up to wait for one; "" when none appeared (a web UI that asks
// for none).
func (v *vm) setupCode(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		if sc := parseSetupCode(v.console()); sc != "" {
			return sc
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// api calls the web UI's API over HTTPS with the pinned certificate
// (ctype is the Accept type for GET, the Content-Type otherwise) with the
// bearer token (the web UI's API contract: POST /api/setup, POST
// /api/login -> {"token"}, then Authorization: Bearer).
func (v *vm) api(method, path, ctype string, body []byte) (int, []byte, error) {
	code, _, b, err := v.apiResp(method, path, ctype, body)
	return code, b, err
}

// apiResp is api that also returns the response headers.
func (v *vm) apiResp(method, path, ctype string, body []byte) (int, http.Header, []byte, error) {
	if v.client == nil {
		v.trustCert()
	}
	req, err := http.NewRequest(method, "https://"+v.https+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if ctype != "" && method == "GET" {
		req.Header.Set("Accept", ctype)
	} else if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if v.token != "" {
		req.Header.Set("Authorization", "Bearer "+v.token)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// login logs in over HTTPS, first setting the admin password (with the
// setup code from the console) when this vm has not set it yet.
func (v *vm) login(password string) {
	v.t.Helper()
	v.token = ""
	if v.client != nil {
		v.client.CloseIdleConnections() // from before a reboot
	}
	body, _ := json.Marshal(map[string]string{"password": password})
	code, h, b := 0, http.Header(nil), []byte(nil)
	if !v.passwordSet {
		code, h, b = v.setup(password) // 200 logs in; 409: set already
		v.passwordSet = true
	}
	if code != 200 {
		// A guest starved under TCG can miss its TLS handshake deadline
		// right after a boot: a transport error is retried (bounded), an
		// answer is not.
		var err error
		for try := 1; ; try++ {
			code, h, b, err = v.apiResp("POST", "/api/login", "application/json", body)
			if err == nil || try == 4 {
				break
			}
			v.t.Logf("POST /api/login, try %d: %v; retrying", try, err)
			v.client.CloseIdleConnections()
			time.Sleep(5 * time.Second)
		}
		if err != nil || code != 200 {
			v.t.Fatalf("POST /api/login: %d %s %v", code, b, err)
		}
	}
	var lr struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &lr); err != nil || lr.Token == "" {
		v.t.Fatalf("login: no token in %s (%v)", b, err)
	}
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if !c.Secure || !c.HttpOnly {
			v.t.Errorf("login over HTTPS set cookie %s without Secure or HttpOnly: %s", c.Name, c)
		}
	}
	v.token = lr.Token
}

// setup sets the first admin password (POST /api/setup) and returns the
// answer, which logs in. The setup code comes from the console; when the
// guest logged one, a setup without it must be refused first.
func (v *vm) setup(password string) (int, http.Header, []byte) {
	v.t.Helper()
	sc := v.setupCode(10 * time.Second)
	if sc == "" {
		v.t.Logf("no setup code on the console: setting the password without one")
	} else {
		body, _ := json.Marshal(map[string]string{"password": password})
		code, h, b, err := v.apiResp("POST", "/api/setup", "application/json", body)
		if err == nil && code == 409 { // a password is set already
			return code, h, b
		}
		if err != nil || code != 403 {
			v.t.Fatalf("POST /api/setup without the setup code: %d %s %v, want 403", code, b, err)
		}
		v.t.Logf("setup without the setup code refused (403); the console's code is %s", sc)
	}
	req := map[string]string{"password": password}
	if sc != "" {
		req["setup_code"] = sc
	}
	body, _ := json.Marshal(req)
	code, h, b, err := v.apiResp("POST", "/api/setup", "application/json", body)
	if err != nil {
		v.t.Fatalf("POST /api/setup: %v", err)
	}
	if code == 404 {
		v.t.Fatalf("POST /api/setup: 404: the web UI's config API is not in this build: %s", b)
	}
	if code != 200 && code != 409 {
		v.t.Fatalf("POST /api/setup (setup code %q): %d %s", sc, code, b)
	}
	return code, h, b
}

// checkPlainHTTP checks the guest's port 80 with the session token in
// hand: every page and API path answers with a redirect to the same path
// on HTTPS and no data, the token is of no use there, and a login there
// gets no token.
func (v *vm) checkPlainHTTP() {
	v.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	pw, _ := json.Marshal(map[string]string{"password": adminPassword})
	for _, r := range []struct {
		method, path string
		body         []byte
	}{
		{"GET", "/", nil},
		{"GET", "/api/status", nil},
		{"GET", "/api/config", nil},
		{"POST", "/api/login", pw},
		{"POST", "/api/setup", pw},
		{"PUT", "/api/config", []byte("<loopstart/>")},
	} {
		req, err := http.NewRequest(r.method, "http://"+v.http+r.path, bytes.NewReader(r.body))
		if err != nil {
			v.t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+v.token)
		if r.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			v.t.Errorf("plain HTTP %s %s: %v", r.method, r.path, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusMovedPermanently && resp.StatusCode != http.StatusPermanentRedirect {
			v.t.Errorf("plain HTTP %s %s: %s %q, want a 301 or 308 redirect to HTTPS", r.method, r.path, resp.Status, b)
			continue
		}
		if !strings.HasPrefix(loc, "https://") || !strings.HasSuffix(loc, r.path) {
			v.t.Errorf("plain HTTP %s %s redirects to %q, want https://…%s", r.method, r.path, loc, r.path)
		}
		for _, leak := range []string{"token", "<loopstart", "accounts", "secret"} {
			if strings.Contains(string(b), leak) {
				v.t.Errorf("plain HTTP %s %s answered with data (%q): %s", r.method, r.path, leak, b)
			}
		}
		if len(resp.Cookies()) > 0 {
			v.t.Errorf("plain HTTP %s %s set cookies: %v", r.method, r.path, resp.Cookies())
		}
	}
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
