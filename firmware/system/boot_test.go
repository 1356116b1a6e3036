package system

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/health"
)

// syncBuffer is a console the steps and their goroutines write to.
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

// testBooter is a booter whose system calls all fail the test unless
// the test replaces them: no step may touch the real machine.
func testBooter(t *testing.T, cmdline string) (*booter, *syncBuffer) {
	t.Helper()
	con := &syncBuffer{}
	b := newBooter(BootOptions{Cmdline: cmdline, Console: con, Version: "9.9", Binary: "/nonexistent/loopstart"})
	never := func(what string) { t.Errorf("step called the real %s", what) }
	b.mountBase = func() error { never("mount"); return nil }
	b.setHostname = func(string) error { never("sethostname"); return nil }
	b.loadMods = func(string) ([]ModuleLoad, error) { never("finit_module"); return nil, nil }
	b.selfTest = func(context.Context, string, string, io.Writer) (string, bool) { never("self-test"); return "", false }
	b.upLoopback = func() error { never("netlink"); return nil }
	b.network = func(context.Context) *NetState { never("network"); return nil }
	b.mountData = func(string, string, string, time.Duration) (bool, error) { never("mount data"); return false, nil }
	b.mountTmpData = func(string) error { never("mount tmpfs"); return nil }
	b.setClock = func(string, time.Duration) (time.Duration, error) { never("settimeofday"); return 0, nil }
	b.openWatchdog = func(string, time.Duration) (*Watchdog, error) { never("watchdog"); return nil, nil }
	dir := t.TempDir()
	b.controlSocket = filepath.Join(dir, "boot.sock")
	b.healthSocket = filepath.Join(dir, "gateway-health.sock")
	b.cmdlinePath = filepath.Join(dir, "cmdline")
	b.set, _ = ParseCmdline(cmdline)
	return b, con
}

func TestBootMountFS(t *testing.T) {
	for _, c := range []struct {
		name      string
		cmdline   string // BootOptions.Cmdline
		file      string // the cmdline file, when Cmdline is empty
		mountErr  error
		board     string
		wantProbs []string
	}{
		{name: "command line from options", cmdline: "quiet loopstart.board=x1", board: "x1"},
		{name: "command line from /proc", file: "loopstart.board=x2 loopstart.http=80\n", board: "x2"},
		{name: "no command line", board: "sim"},
		{name: "bad parameter keeps booting", cmdline: "loopstart.http=99999 loopstart.bogus=1", board: "sim",
			wantProbs: []string{"loopstart.http", "unknown parameter loopstart.bogus"}},
		{name: "mount fails", cmdline: "loopstart.board=x3", mountErr: errors.New("mount proc: EPERM"), board: "x3",
			wantProbs: []string{"mount proc: EPERM"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, con := testBooter(t, c.cmdline)
			if c.file != "" {
				os.WriteFile(b.cmdlinePath, []byte(c.file), 0o644)
			}
			mounted := false
			var host string
			b.mountBase = func() error { mounted = true; return c.mountErr }
			b.setHostname = func(h string) error { host = h; return nil }
			b.mountFS()
			if !mounted || host != "loopstart" {
				t.Errorf("mounted %v, host name %q", mounted, host)
			}
			if b.set.Board != c.board {
				t.Errorf("board %q, want %q", b.set.Board, c.board)
			}
			st := b.state()
			if len(st.Problems) != len(c.wantProbs) {
				t.Fatalf("problems %q, want %q", st.Problems, c.wantProbs)
			}
			for i, w := range c.wantProbs {
				if !strings.Contains(st.Problems[i], w) || !strings.Contains(con.String(), "level=ERROR msg=boot") {
					t.Errorf("problem %d %q, want %q; console:\n%s", i, st.Problems[i], w, con)
				}
			}
		})
	}
}

func TestBootLoadModules(t *testing.T) {
	b, con := testBooter(t, "")
	b.modulesDir = "/mods"
	b.loadMods = func(dir string) ([]ModuleLoad, error) {
		if dir != "/mods" {
			t.Errorf("modules from %s", dir)
		}
		return []ModuleLoad{{"virtio_net", 3 * time.Millisecond}, {"snd_aloop", 25 * time.Millisecond}},
			errors.New("module broken.ko: exec format error")
	}
	b.loadModules()
	st := b.state()
	if !reflect.DeepEqual(st.Modules, []string{"virtio_net", "snd_aloop"}) || len(st.Problems) != 1 {
		t.Errorf("modules %q, problems %q", st.Modules, st.Problems)
	}
	if out := con.String(); !strings.Contains(out, `msg="modules loaded" proc=boot n=2`) || !strings.Contains(out, "slow=[snd_aloop:25ms]") {
		t.Errorf("console:\n%s", out)
	}
}

func TestModuleSummary(t *testing.T) {
	for _, c := range []struct {
		mods        []ModuleLoad
		names, slow []string
	}{
		{},
		{mods: []ModuleLoad{{"a", 19 * time.Millisecond}}, names: []string{"a"}},
		{mods: []ModuleLoad{{"a", 20 * time.Millisecond}, {"b", time.Second}, {"c", 0}},
			names: []string{"a", "b", "c"}, slow: []string{"a:20ms", "b:1000ms"}},
	} {
		names, slow := moduleSummary(c.mods)
		if !reflect.DeepEqual(names, c.names) || !reflect.DeepEqual(slow, c.slow) {
			t.Errorf("moduleSummary(%v) = %q, %q; want %q, %q", c.mods, names, slow, c.names, c.slow)
		}
	}
}

func TestBootRunSelfTests(t *testing.T) {
	b, con := testBooter(t, "")
	b.set.SelfTest = []string{"pcm", "other"}
	var ran []string
	b.selfTest = func(_ context.Context, binary, name string, out io.Writer) (string, bool) {
		ran = append(ran, binary+" "+name)
		fmt.Fprintf(out, "%s-selftest: output\n", name)
		return name + "-selftest: " + map[bool]string{true: "PASS", false: "FAIL"}[name == "pcm"], name == "pcm"
	}
	b.runSelfTests(context.Background())
	st := b.state()
	want := map[string]SelfTestResult{"pcm": {true, "pcm-selftest: PASS"}, "other": {false, "other-selftest: FAIL"}}
	if !reflect.DeepEqual(st.SelfTests, want) || !reflect.DeepEqual(ran, []string{"/nonexistent/loopstart pcm", "/nonexistent/loopstart other"}) {
		t.Errorf("self-tests %+v, ran %q", st.SelfTests, ran)
	}
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "selftest other failed: other-selftest: FAIL") {
		t.Errorf("problems %q", st.Problems)
	}
	if !strings.Contains(con.String(), "pcm-selftest: output") {
		t.Errorf("self-test output not on the console:\n%s", con)
	}
}

func TestBootStartNetwork(t *testing.T) {
	lease := &NetState{Iface: "eth0", Addr: netip.MustParsePrefix("10.0.0.7/24"),
		Options: DHCPOptions{OptLogServers: {10, 0, 0, 9}, OptTFTPServerName: []byte("tftp.example")}}
	for _, c := range []struct {
		name     string
		net      *NetState
		loErr    error
		wantSIP  string
		wantAddr string
		wantOpts map[uint8]string
		probs    int
	}{
		{name: "dhcp", net: lease, wantSIP: "10.0.0.7", wantAddr: "10.0.0.7/24",
			wantOpts: map[uint8]string{7: "0a000009", 66: fmt.Sprintf("%x", "tftp.example")}},
		{name: "no network", wantSIP: "0.0.0.0"},
		{name: "loopback fails", loErr: errors.New("lo: no such device"), net: lease, wantSIP: "10.0.0.7",
			wantAddr: "10.0.0.7/24", wantOpts: map[uint8]string{7: "0a000009", 66: fmt.Sprintf("%x", "tftp.example")}, probs: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := testBooter(t, "loopstart.data=none")
			var order []string
			var mu sync.Mutex
			step := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
			b.upLoopback = func() error { step("lo"); return c.loErr }
			b.network = func(context.Context) *NetState { step("net"); return c.net }
			b.mountTmpData = func(dir string) error { step("data " + dir); return nil }
			b.startNetwork(context.Background())
			if len(order) != 3 || order[0] != "lo" {
				t.Errorf("steps %q: loopback first, then network and data", order)
			}
			st := b.state()
			if b.sipIP != c.wantSIP || st.Addr != c.wantAddr || !reflect.DeepEqual(st.DHCPOption, c.wantOpts) || len(st.Problems) != c.probs {
				t.Errorf("sip %s, state %+v", b.sipIP, st)
			}
			if b.net != c.net {
				t.Errorf("net %+v", b.net)
			}
		})
	}
}

func TestBootOpenData(t *testing.T) {
	for _, c := range []struct {
		name      string
		cmdline   string
		formatted bool
		mountErr  error
		tmpErr    error
		wantTmp   bool
		wantData  string
		wantProbs []string
		wantLog   string
	}{
		{name: "no partition", cmdline: "loopstart.data=none loopstart.datadir=/d", wantTmp: true, wantData: "/d"},
		{name: "no partition, tmpfs fails", cmdline: "loopstart.data=none", tmpErr: errors.New("tmpfs on /data: EPERM"),
			wantTmp: true, wantData: "/data", wantProbs: []string{"tmpfs on /data: EPERM"}},
		{name: "blank disk formatted", cmdline: "loopstart.data=/dev/vdb", formatted: true, wantData: "/data",
			wantLog: `msg="data partition mounted" proc=boot dev=/dev/vdb dir=/data formatted=true`},
		{name: "existing disk", wantData: "/data", wantLog: `msg="data partition mounted" proc=boot dev=/dev/vda dir=/data formatted=false`},
		{name: "mount fails: tmpfs instead", mountErr: errors.New("data partition /dev/vda: no such file"), wantTmp: true,
			wantData: "/data (tmpfs)", wantProbs: []string{"data partition /dev/vda: no such file; config and state will not persist"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, con := testBooter(t, c.cmdline)
			tmp := false
			b.mountTmpData = func(dir string) error {
				if dir != b.set.DataDir {
					t.Errorf("tmpfs on %s", dir)
				}
				tmp = true
				return c.tmpErr
			}
			b.mountData = func(dev, dir, mkfs string, wait time.Duration) (bool, error) {
				if dev != b.set.DataDev || dir != b.set.DataDir || mkfs != Mke2fs || wait <= 0 {
					t.Errorf("MountData(%s, %s, %s, %v)", dev, dir, mkfs, wait)
				}
				return c.formatted, c.mountErr
			}
			b.openData()
			st := b.state()
			if tmp != c.wantTmp || st.Data != c.wantData || st.Formatted != c.formatted || !reflect.DeepEqual(st.Problems, c.wantProbs) {
				t.Errorf("tmpfs %v, state %+v", tmp, st)
			}
			if !strings.Contains(con.String(), c.wantLog) {
				t.Errorf("console lacks %q:\n%s", c.wantLog, con)
			}
		})
	}
}

func TestServersFromSettingsOrDHCP(t *testing.T) {
	dhcp := &NetState{Options: DHCPOptions{OptLogServers: {10, 0, 0, 9, 10, 0, 0, 10}, OptNTPServers: {10, 0, 0, 1}}}
	bad := &NetState{Options: DHCPOptions{OptLogServers: {10, 0, 0}, OptNTPServers: {1}}}
	for _, c := range []struct {
		name         string
		set          Settings
		net          *NetState
		syslog, ntpS string
	}{
		{name: "none"},
		{name: "no network, command line", set: Settings{Syslog: "log:1514", NTP: "pool"}, syslog: "log:1514", ntpS: "pool"},
		{name: "dhcp", net: dhcp, syslog: "10.0.0.9", ntpS: "10.0.0.1"},
		{name: "command line wins", set: Settings{Syslog: "log", NTP: "pool"}, net: dhcp, syslog: "log", ntpS: "pool"},
		{name: "lease without them", net: &NetState{}},
		{name: "malformed options", net: bad},
	} {
		if got := syslogServer(c.set, c.net); got != c.syslog {
			t.Errorf("%s: syslog %q, want %q", c.name, got, c.syslog)
		}
		if got := ntpServer(c.set, c.net); got != c.ntpS {
			t.Errorf("%s: ntp %q, want %q", c.name, got, c.ntpS)
		}
	}
}

func TestBootStartSyslog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	b, con := testBooter(t, "loopstart.syslog="+pc.LocalAddr().String())
	b.startSyslog()
	b.log.Info("after syslog")
	fmt.Fprintln(b.childOut, "gateway line")
	got := map[string]bool{}
	buf := make([]byte, 2048)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < 3 {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("syslog got %v, then %v", got, err)
		}
		line := string(buf[:n])
		for _, w := range []string{`msg="remote syslog"`, `msg="after syslog"`, "gateway line"} {
			if strings.Contains(line, w) && strings.HasPrefix(line, "<30>1 ") {
				got[w] = true
			}
		}
	}
	if out := con.String(); !strings.Contains(out, "after syslog") || !strings.Contains(out, "gateway line") {
		t.Errorf("console lost the lines:\n%s", out)
	}

	b, con = testBooter(t, "loopstart.syslog=bad:host:name")
	b.startSyslog()
	if st := b.state(); len(st.Problems) != 1 || b.childOut != io.Writer(con) {
		t.Errorf("bad server: problems %q", st.Problems)
	}
	b, con = testBooter(t, "")
	b.startSyslog()
	if st := b.state(); len(st.Problems) != 0 || b.childOut != io.Writer(con) || con.String() != "" {
		t.Errorf("no server: problems %q, console %q", st.Problems, con)
	}
}

func TestBootStartNTP(t *testing.T) {
	for _, c := range []struct {
		name, cmdline string
		err           error
		want          string
		problem       string
	}{
		{name: "none"},
		{name: "set", cmdline: "loopstart.ntp=pool.example", want: `msg="clock set" proc=boot ntp=pool.example offset=1.5s`},
		{name: "fails", cmdline: "loopstart.ntp=pool.example", err: errors.New("ntp pool.example: timeout"), problem: "ntp pool.example: timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, con := testBooter(t, c.cmdline)
			var asked string
			b.setClock = func(server string, timeout time.Duration) (time.Duration, error) {
				asked = server
				return 1500 * time.Millisecond, c.err
			}
			select {
			case <-b.startNTP():
			case <-time.After(5 * time.Second):
				t.Fatal("clock step never ended")
			}
			if asked != b.set.NTP {
				t.Errorf("asked %q, want %q", asked, b.set.NTP)
			}
			if !strings.Contains(con.String(), c.want) {
				t.Errorf("console lacks %q:\n%s", c.want, con)
			}
			if st := b.state(); c.problem != "" && (len(st.Problems) != 1 || st.Problems[0] != c.problem) {
				t.Errorf("problems %q", st.Problems)
			}
		})
	}
}

func TestGatewayArgs(t *testing.T) {
	sock := "/run/loopstart/gateway-health.sock"
	for _, c := range []struct {
		cmdline, sipIP string
		want           []string
	}{
		{"", "0.0.0.0", []string{"run", "--board", "sim", "--data", "/data", "--http", "0.0.0.0:80", "--sip", "0.0.0.0:5060",
			"--health-socket", sock, "--https", "0.0.0.0:443", "--http-redirect"}},
		{"loopstart.board=x1 loopstart.datadir=/d loopstart.http=8080 loopstart.https=8443 loopstart.sip=5070 loopstart.debug=1", "10.0.0.7",
			[]string{"run", "--board", "x1", "--data", "/d", "--http", "0.0.0.0:8080", "--sip", "10.0.0.7:5070",
				"--health-socket", sock, "--https", "0.0.0.0:8443", "--http-redirect", "--log-level", "debug"}},
		{"loopstart.https=off", "0.0.0.0", []string{"run", "--board", "sim", "--data", "/data", "--http", "0.0.0.0:80", "--sip", "0.0.0.0:5060",
			"--health-socket", sock}},
		{"loopstart.https=off loopstart.fxs=1", "0.0.0.0", []string{"run", "--board", "sim", "--data", "/data", "--http", "0.0.0.0:80", "--sip", "0.0.0.0:5060",
			"--health-socket", sock, "--fxs", "1", "--fxo", "0"}},
	} {
		set, errs := ParseCmdline(c.cmdline)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if got := gatewayArgs(set, c.sipIP, sock); !reflect.DeepEqual(got, c.want) {
			t.Errorf("gatewayArgs(%q) = %q, want %q", c.cmdline, got, c.want)
		}
	}
}

// TestBootSupervise starts a stand-in gateway (a shell script recording
// its arguments and directory) and stops it.
func TestBootSupervise(t *testing.T) {
	sh, err := lookSh()
	if err != nil {
		t.Skip(err)
	}
	data := t.TempDir()
	b, con := testBooter(t, "loopstart.datadir="+data)
	bin := filepath.Join(t.TempDir(), "loopstart")
	os.WriteFile(bin, []byte("#!"+sh+"\necho \"$@\" > args.txt\npwd >> args.txt\necho started\nexec sleep 60\n"), 0o755)
	b.o.Binary = bin
	stop := b.supervise(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	var got []byte
	for {
		got, _ = os.ReadFile(filepath.Join(data, "args.txt"))
		if bytes.Count(got, []byte("\n")) == 2 && b.sup.State().Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not started: %q, console:\n%s", got, con)
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := fmt.Sprintf("run --board sim --data %s --http 0.0.0.0:80 --sip 0.0.0.0:5060 --health-socket %s --https 0.0.0.0:443 --http-redirect\n%s\n", data, b.healthSocket, data)
	if string(got) != want {
		t.Errorf("gateway ran with\n%s\nwant\n%s", got, want)
	}
	if b.health == nil || b.health.Socket != b.healthSocket {
		t.Errorf("health check on %+v", b.health)
	}
	stop()
	waitStopped(b.sup, 6*time.Second)
	if b.sup.State().Running {
		t.Error("gateway still running after stop")
	}
	out := con.String()
	for _, w := range []string{`msg="gateway starting" proc=boot args="[run --board sim`, `msg="gateway started"`, "started\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("console lacks %q:\n%s", w, out)
		}
	}
}

func lookSh() (string, error) {
	for _, p := range []string{"/bin/sh", "/usr/bin/sh"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no /bin/sh")
}

func TestBootServeControl(t *testing.T) {
	b, _ := testBooter(t, "")
	b.sup = &Supervisor{}
	b.problem(errors.New("something"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.serveControl(ctx)
	out, err := Request(b.controlSocket, "status")
	if err != nil {
		t.Fatal(err)
	}
	var st bootState
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Version != "9.9" || st.Watchdog != "off" ||
		!reflect.DeepEqual(st.Problems, []string{"something"}) {
		t.Errorf("status %s (%v)", out, err)
	}
	if out, err := Request(b.controlSocket, "poweroff"); err != nil || out != "ok" {
		t.Fatalf("poweroff: %q, %v", out, err)
	}
	if a := <-b.power; a != ActionPowerOff {
		t.Errorf("action %v", a)
	}

	b2, _ := testBooter(t, "")
	b2.sup = &Supervisor{}
	b2.controlSocket = filepath.Join(b.controlSocket, "not-a-dir", "boot.sock")
	b2.serveControl(ctx)
	if st := b2.state(); len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "control socket") {
		t.Errorf("problems %q", st.Problems)
	}
}

func TestBootArmWatchdog(t *testing.T) {
	b, _ := testBooter(t, "loopstart.watchdog=none")
	b.armWatchdog()
	if st := b.state(); b.wd != nil || st.Watchdog != "off" || len(st.Problems) != 0 {
		t.Errorf("none: wd %v state %+v", b.wd, st)
	}
	b, _ = testBooter(t, "loopstart.wdt_timeout=30")
	var dev string
	var timeout time.Duration
	b.openWatchdog = func(d string, to time.Duration) (*Watchdog, error) {
		dev, timeout = d, to
		return nil, errors.New("watchdog: no such device")
	}
	b.armWatchdog()
	if st := b.state(); b.wd != nil || st.Watchdog != "off" || len(st.Problems) != 1 || dev != "/dev/watchdog0" || timeout != 30*time.Second {
		t.Errorf("missing device: %s %v, state %+v", dev, timeout, st)
	}
	// A real device node opens like a watchdog; the ioctls fail on
	// /dev/null, so the driver default (0) is kept and Pet writes a byte.
	b, con := testBooter(t, "loopstart.watchdog=/dev/null")
	b.openWatchdog = OpenWatchdog
	b.armWatchdog()
	if b.wd == nil {
		t.Skipf("cannot open /dev/null: %v", b.state().Problems)
	}
	defer b.wd.f.Close()
	if st := b.state(); st.Watchdog != "/dev/null timeout 0s" || !strings.Contains(con.String(), `msg="watchdog armed" proc=boot dev=/dev/null`) {
		t.Errorf("state %+v, console:\n%s", st, con)
	}
}

// TestBootWatch drives the watchdog loop: a stalled or absent loop is not
// petted after the grace period, a moving one is, and a power request or
// the end of the context ends the loop.
func TestBootWatch(t *testing.T) {
	b, con := testBooter(t, "")
	b.tick = 5 * time.Millisecond
	b.grace = 50 * time.Millisecond
	b.sup = &Supervisor{}
	b.health = &LoopHealth{Socket: b.healthSocket}
	b.power = make(chan PowerAction, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan PowerAction, 1)
	go func() { done <- b.watch(ctx) }()
	petting := func(want bool, why string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for b.state().Petting != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: petting stays %v; console:\n%s", why, !want, con)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	setGateway := func(running bool, pid int, age time.Duration) {
		b.sup.mu.Lock()
		b.sup.state = SupervisorState{Running: running, Pid: pid, Started: time.Now().Add(-age)}
		b.sup.mu.Unlock()
	}
	petting(true, "no gateway yet: the supervisor is in charge")
	setGateway(true, 42, 0)
	petting(true, "a starting gateway")
	// No health socket: after the grace period the watchdog goes unpetted.
	petting(false, "a gateway whose loop never answers")
	if !strings.Contains(con.String(), `msg="media loop unhealthy: not petting the watchdog" proc=boot`) {
		t.Errorf("no unhealthy line:\n%s", con)
	}
	var ticks atomic.Uint64
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- health.Serve(sctx, b.healthSocket, func() health.Report { return health.Report{Ticks: ticks.Add(1)} })
	}()
	petting(true, "a moving loop")
	if !strings.Contains(con.String(), `msg="media loop healthy" proc=boot`) {
		t.Errorf("no healthy line:\n%s", con)
	}
	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	petting(false, "a loop that stopped answering")
	b.power <- ActionPowerOff
	if a := <-done; a != ActionPowerOff {
		t.Errorf("power request: %v", a)
	}
	go func() { done <- b.watch(ctx) }()
	cancel()
	if a := <-done; a != ActionReboot {
		t.Errorf("context end: %v", a)
	}
}
