package qemutest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/buildroot"
	"github.com/loopstart/loopstart/tools/lab"
)

// hilStatus is the part of spidevd's /hil/status the test reads.
type hilStatus struct {
	Devices []struct {
		Name  string `json:"name"`
		Chip  string `json:"chip"`
		Stats struct {
			Messages, Transfers, Bytes, Violations, Errors int
			LastError                                      string
			Busy                                           time.Duration
		} `json:"stats"`
		ModelViolations []string `json:"model_violations"`
		Cycles          int      `json:"cycles"`
	} `json:"devices"`
	Phones map[string]struct {
		OffHook bool `json:"off_hook"`
	} `json:"phones"`
	PCM struct {
		Source string `json:"source"`
		Frames uint64 `json:"frames"`
		Missed uint64 `json:"missed"`
	} `json:"pcm"`
}

// gwStatus is the part of /api/status the test reads.
type gwStatus struct {
	Ports []struct {
		Port  int    `json:"port"`
		Kind  string `json:"kind"`
		Hook  string `json:"hook"`
		State string `json:"state"`
		Fault string `json:"fault"`
	} `json:"ports"`
	Loop struct {
		Running       bool   `json:"running"`
		Ticks         uint64 `json:"ticks"`
		Late          uint64 `json:"late"`
		Missed        uint64 `json:"missed"`
		MaxLatenessUS int64  `json:"max_lateness_us"`
		MaxWorkUS     int64  `json:"max_work_us"`
		Histogram     []struct {
			UpToUS int64  `json:"up_to_us"`
			Count  uint64 `json:"count"`
		} `json:"histogram"`
		WorkHistogram []struct {
			UpToUS int64  `json:"up_to_us"`
			Count  uint64 `json:"count"`
		} `json:"work_histogram"`
		Priority int `json:"priority"`
	} `json:"loop"`
}

// TestBootHIL boots the amd64 image's qemu-hil variant (cuse and
// snd-aloop modules, tools/spidevd) with loopstart.board=qemu-hil: the
// gateway's real board path (board/factory, board/hw, periph.io's spidev
// driver, ALSA) brings the Si3215 and Si3050 models up through the
// guest kernel's CUSE devices. It asserts that each device's register
// accesses begin with the drivers' no-reset golden files, that no cycle
// broke chip-select framing and the models saw no misuse, that both ports
// are up (not faulted) and that the phone's hook, taken off and put back
// from the host, reaches the gateway through the polled hook register. It
// logs the SPI traffic per frame and the media loop's lateness.
func TestBootHIL(t *testing.T) {
	img := imageCmds(t, "qemu-amd64", buildroot.HILTestCmds, buildroot.HILTestModules...)
	k := hilKamailio(t)
	hn := newHILNet(t)
	hilAddr := fmt.Sprintf("127.0.0.1:%d", lab.FreePort(t, 1))
	steal0, _ := lab.Steal()
	v := bootFwd(t, img, "", 0, append([]string{"tcp:" + hilAddr + "-:8082"}, hn.forwards...),
		"loopstart.data=none", "loopstart.board=qemu-hil", hn.cmdline)
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := hilGet(hilAddr, "/hil/status"); err == nil {
				t.Logf("spidevd status: %s", b)
			}
		}
	})
	up := v.waitUI(150 * time.Second)
	t.Logf("web UI after %v", up.Round(time.Millisecond))
	if !strings.Contains(v.console(), "spidevd: ready: /dev/spidev0.0 /dev/spidev0.1") {
		t.Errorf("spidevd never reported its devices ready")
	}
	st := v.mustState()
	if len(st.Problems) > 0 {
		t.Errorf("boot problems: %q", st.Problems)
	}
	// The first password's hash shares the one emulated CPU with the
	// media loop and its SPI polling through the kernel: give the web UI
	// longer than the other boot tests do.
	v.trustCert()
	v.client.Timeout = 90 * time.Second
	loginStart := time.Now()
	v.login(adminPassword)
	t.Logf("the first login (setting the password) took %v", time.Since(loginStart).Round(time.Millisecond))

	var gs gwStatus
	lab.Eventually(t, 60*time.Second, "both ports up and idle", func() error {
		var err error
		if gs, err = v.gatewayStatus(); err != nil {
			return err
		}
		if len(gs.Ports) != 2 {
			return fmt.Errorf("%d ports: %+v", len(gs.Ports), gs.Ports)
		}
		for _, p := range gs.Ports {
			if p.Fault != "" {
				t.Fatalf("port %d faulted: %s", p.Port, p.Fault)
			}
			if p.State != "idle" {
				return fmt.Errorf("port %d %s", p.Port, p.State)
			}
		}
		return nil
	})

	// hwsmoke probed the chips before the gateway started, as on a real
	// board: its results, and its register accesses first in each trace.
	smoke := hwsmokeAccesses(t, v.console())

	// The bring-up through the kernel equals the drivers' golden files.
	repo := repoRoot(t)
	for dev, golden := range map[string]string{
		"spidev0.0": "drivers/si3215/testdata/init-noreset.golden",
		"spidev0.1": "drivers/si3050/testdata/init-noreset.golden",
	} {
		want, err := os.ReadFile(filepath.Join(repo, golden))
		if err != nil {
			t.Fatal(err)
		}
		got, err := hilGet(hilAddr, "/hil/trace?dev="+dev)
		if err != nil {
			t.Fatal(err)
		}
		gl, wl := strings.Split(string(got), "\n"), strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
		sm := smoke[dev]
		if len(sm) == 0 || len(gl) < len(sm) {
			t.Errorf("%s: no hwsmoke accesses (%q) before the gateway's", dev, sm)
			continue
		}
		for i, a := range sm {
			if normAccess(gl[i]) != a {
				t.Errorf("%s: access %d is %q, hwsmoke printed %q", dev, i+1, gl[i], a)
			}
		}
		gl = gl[len(sm):]
		if len(gl) < len(wl) {
			t.Errorf("%s: %d register accesses, the golden file has %d", dev, len(gl), len(wl))
			continue
		}
		for i := range wl {
			if gl[i] != wl[i] {
				t.Errorf("%s: access %d through the kernel is %q, golden %s has %q", dev, i+1, gl[i], golden, wl[i])
				break
			}
		}
	}

	// Hook polling through the kernel: off hook, dial tone, back on hook.
	for _, c := range []struct{ state, hook, line string }{{"off", "off", "dialtone"}, {"on", "on", "idle"}} {
		if _, err := hilPost(hilAddr, "/hil/hook?port=1&state="+c.state); err != nil {
			t.Fatal(err)
		}
		lab.Eventually(t, 20*time.Second, "port 1 "+c.line, func() error {
			gs, err := v.gatewayStatus()
			if err != nil {
				return err
			}
			if p := gs.Ports[0]; p.Hook != c.hook || p.State != c.line {
				return fmt.Errorf("port 1 hook %s state %s", p.Hook, p.State)
			}
			return nil
		})
	}

	// SPI traffic per frame through the kernel, over a quiet window.
	before, err := v.hilStatus(hilAddr)
	if err != nil {
		t.Fatal(err)
	}
	cpu0, err := hilCPU(hilAddr)
	if err != nil {
		t.Fatal(err)
	}
	g0, err := v.gatewayStatus()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	after, err := v.hilStatus(hilAddr)
	if err != nil {
		t.Fatal(err)
	}
	cpu1, err := hilCPU(hilAddr)
	if err != nil {
		t.Fatal(err)
	}
	g1, err := v.gatewayStatus()
	if err != nil {
		t.Fatal(err)
	}
	frames := float64(g1.Loop.Ticks - g0.Loop.Ticks)
	for i, d := range after.Devices {
		b := before.Devices[i]
		if d.Stats.Violations != 0 || d.Stats.Errors != 0 || len(d.ModelViolations) != 0 {
			t.Errorf("%s: %d framing violations, %d refused messages (last %q), model violations %q",
				d.Name, d.Stats.Violations, d.Stats.Errors, d.Stats.LastError, d.ModelViolations)
		}
		if frames > 0 {
			t.Logf("%s (%s): %.2f SPI_IOC_MESSAGE/frame, %.1f transfers/frame, model time %.1f µs/frame over %.0f frames",
				d.Name, d.Chip, float64(d.Stats.Messages-b.Stats.Messages)/frames, float64(d.Stats.Transfers-b.Stats.Transfers)/frames,
				float64((d.Stats.Busy-b.Stats.Busy).Microseconds())/frames, frames)
		}
	}
	if total := cpu1.Total - cpu0.Total; total > 0 && frames > 0 {
		share := func(name string) float64 { return float64(cpu1.Procs[name]-cpu0.Procs[name]) / float64(total) }
		busy := 1 - float64(cpu1.Idle-cpu0.Idle)/float64(total)
		t.Logf("guest CPU over %.0f frames: busy %.1f %%, loopstart %.1f %% (%.0f µs/frame), spidevd %.1f %% (%.0f µs/frame)",
			frames, 100*busy, 100*share("loopstart"), share("loopstart")*5e6/frames, 100*share("spidevd"), share("spidevd")*5e6/frames)
	}
	l := g1.Loop
	t.Logf("loop: running %v priority %d ticks %d late %d missed %d max lateness %d µs max work %d µs",
		l.Running, l.Priority, l.Ticks, l.Late, l.Missed, l.MaxLatenessUS, l.MaxWorkUS)
	t.Logf("loop lateness histogram %+v", l.Histogram)
	t.Logf("loop work histogram %+v", l.WorkHistogram)
	if !l.Running {
		t.Errorf("media loop not running")
	}

	// A second login hashes the password again on the one emulated CPU:
	// what it costs the media loop (frames missed, lateness).
	if g0, err := v.gatewayStatus(); err == nil {
		start := time.Now()
		v.login(adminPassword)
		took := time.Since(start)
		if g1, err := v.gatewayStatus(); err == nil {
			t.Logf("a login took %v: the loop missed %d frames and counted %d late ticks meanwhile (max lateness %d µs since start)",
				took.Round(time.Millisecond), g1.Loop.Missed-g0.Loop.Missed, g1.Loop.Late-g0.Loop.Late, g1.Loop.MaxLatenessUS)
		}
	}

	// A whole call through the kernel.
	v.putConfig(hilCallConfig(k.Port, hn.stunPort))
	hilCall(t, v, hilPhone{addr: hilAddr, port: 1}, k)
	if st, err := v.hilStatus(hilAddr); err == nil {
		for _, d := range st.Devices {
			if d.Stats.Violations != 0 || d.Stats.Errors != 0 || len(d.ModelViolations) != 0 {
				t.Errorf("%s after the call: %d framing violations, %d refused messages (last %q), model violations %q",
					d.Name, d.Stats.Violations, d.Stats.Errors, d.Stats.LastError, d.ModelViolations)
			}
		}
		t.Logf("models' pcm: %+v", st.PCM)
	}
	if g, err := v.gatewayStatus(); err == nil {
		l := g.Loop
		steal1, _ := lab.Steal()
		t.Logf("loop over the whole run: ticks %d late %d missed %d max lateness %d µs max work %d µs; host steal %v over %v",
			l.Ticks, l.Late, l.Missed, l.MaxLatenessUS, l.MaxWorkUS, (steal1 - steal0).Round(time.Millisecond), time.Since(v.started).Round(time.Second))
		t.Logf("loop lateness histogram over the whole run %+v", l.Histogram)
		t.Logf("loop work histogram over the whole run %+v", l.WorkHistogram)
	}
}

func (v *vm) gatewayStatus() (gwStatus, error) {
	var gs gwStatus
	code, b, err := v.api("GET", "/api/status", "", nil)
	if err != nil {
		return gs, err
	}
	if code != 200 {
		return gs, fmt.Errorf("GET /api/status: %d %s", code, b)
	}
	return gs, json.Unmarshal(b, &gs)
}

func (v *vm) hilStatus(addr string) (hilStatus, error) {
	var s hilStatus
	b, err := hilGet(addr, "/hil/status")
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func hilGet(addr, path string) ([]byte, error) { return hilDo("GET", addr, path) }

func hilPost(addr, path string) ([]byte, error) { return hilDo("POST", addr, path) }

func hilDo(method, addr, path string) ([]byte, error) {
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return b, fmt.Errorf("%s %s: %s %s", method, path, resp.Status, b)
	}
	return b, nil
}

// hilCPU is spidevd's /hil/cpu sample of the guest's CPU ticks.
func hilCPU(addr string) (hilCPUTicks, error) {
	var c hilCPUTicks
	b, err := hilGet(addr, "/hil/cpu")
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

// hilCPUTicks is spidevd's /hil/cpu: the guest's CPU ticks in all, idle,
// and per command name.
type hilCPUTicks struct {
	Total, Idle int64
	Procs       map[string]int64
}

// cpuShares names the guest's busiest commands between two readings, with
// their shares of its CPU, and the share it was idle.
func cpuShares(a, b hilCPUTicks) string {
	total := float64(b.Total - a.Total)
	type share struct {
		name string
		v    float64
	}
	var l []share
	for name, v := range b.Procs {
		if d := float64(v - a.Procs[name]); d > 0 {
			l = append(l, share{name, d / total})
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
	out := fmt.Sprintf("idle %.1f %%", 100*float64(b.Idle-a.Idle)/total)
	for i, s := range l {
		if i == 6 {
			break
		}
		out += fmt.Sprintf(", %s %.1f %%", s.name, 100*s.v)
	}
	return out
}

// hwsmokeAccesses returns the register accesses hwsmoke printed on the
// console per device ("R 0 -> 0x03"), after checking its results.
func hwsmokeAccesses(t *testing.T, console string) map[string][]string {
	t.Helper()
	for _, want := range []string{"result: reg0 0x03 (revision 3), Si3215 bit true", "result: reg2 0x03 (want 0x03)"} {
		if !strings.Contains(console, want) {
			t.Errorf("hwsmoke did not print %q", want)
		}
	}
	out := map[string][]string{}
	dev := ""
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "== port "):
			// "== port 1: si3215 on SPI0.0 chain 0, slot 0"
			if _, after, ok := strings.Cut(line, " on SPI"); ok {
				dev = "spidev" + strings.Fields(after)[0]
			}
		case strings.HasPrefix(line, "-- playback"):
			dev = ""
		case dev != "" && (strings.HasPrefix(line, "R ") || strings.HasPrefix(line, "W ")):
			out[dev] = append(out[dev], strings.Join(strings.Fields(line), " "))
		}
	}
	return out
}

// normAccess drops the Si3050's control byte from a trace line ("R 0x60 2
// -> 0x03" becomes "R 2 -> 0x03"), the form hwsmoke prints.
func normAccess(line string) string {
	f := strings.Fields(line)
	if len(f) >= 3 && strings.HasPrefix(f[1], "0x") {
		f = append(f[:1], f[2:]...)
	}
	return strings.Join(f, " ")
}
