package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cpuTicks returns the user+system CPU time of process pid and of its
// reaped children so far (/proc/PID/stat fields 14-17), in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: split after its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var sum int64
	for _, k := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// clkTck is the kernel's USER_HZ (100 on Linux everywhere that matters).
const clkTck = 100

// cpuOver returns the CPU seconds each pid used over window.
func cpuOver(t *testing.T, window time.Duration, pids ...int) []float64 {
	t.Helper()
	before := make([]int64, len(pids))
	for i, p := range pids {
		v, err := cpuTicks(p)
		if err != nil {
			t.Fatal(err)
		}
		before[i] = v
	}
	time.Sleep(window) // the measurement window: CPU time is read at both ends
	out := make([]float64, len(pids))
	for i, p := range pids {
		v, err := cpuTicks(p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = float64(v-before[i]) / clkTck
	}
	return out
}

// TestBenchPeers is `make bench-peers`: CPU seconds per call-minute of N
// simultaneous G.711 (PCMU, 20 ms) + SRTP (AES_CM_128_HMAC_SHA1_80, SIP
// over TLS) calls through loopstart, against baresip doing the other end of
// the very same calls in the same run — one paced baresip per call
// (baresip's aubridge module as the player), so both sides do the same work: capture or
// file source, encode, SRTP both ways, jitter buffer, decode, play.
// N is LOOPSTART_BENCH_CALLS (default 2: every FXS port of the default sim
// board; `make bench-peers` runs 8, on a sim board sized to N FXS ports). Each process's user+system CPU
// is read from /proc/PID/stat over the window. The gateway is also measured
// idle (no call: the media loop still ticks for the lines) so its marginal
// cost per call can be told from its fixed cost. Figures go to the log and
// to docs/PERFORMANCE.md; nothing is asserted (speed is not a test).
//
//	LOOPSTART_BENCH_PEERS=1 go test ./tools/lab -run TestBenchPeers -v
//
// LOOPSTART_BENCH_SECONDS sets the window (default 30);
// LOOPSTART_BENCH_WINDOWS measures that many windows one after the other on
// the same calls and logs their median (default 1; `make bench-peers`: 3);
// LOOPSTART_BENCH_PERF=FILE records a perf profile of the gateway over the
// first.
func TestBenchPeers(t *testing.T) {
	if os.Getenv("LOOPSTART_BENCH_PEERS") != "1" {
		t.Skip("benchmark: set LOOPSTART_BENCH_PEERS=1 (make bench-peers)")
	}
	Need(t, "kamailio", "kamcmd", "baresip")
	secs := 30
	if v, err := strconv.Atoi(os.Getenv("LOOPSTART_BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	window := time.Duration(secs) * time.Second
	n := 2
	if v, err := strconv.Atoi(os.Getenv("LOOPSTART_BENCH_CALLS")); err == nil && v > 0 {
		n = v
	}
	windows := 1
	if v, err := strconv.Atoi(os.Getenv("LOOPSTART_BENCH_WINDOWS")); err == nil && v > 0 {
		windows = v
	}
	if n > 16 {
		t.Fatalf("LOOPSTART_BENCH_CALLS=%d: at most 16 (one baresip per call, users up to 1032)", n)
	}
	// Gateway ports 1..n are users 1001..100n; the baresip of port p is
	// user 1000+n+p.
	k := startKamailioTLS(t, max(0, 2*n-4))
	dir := t.TempDir()
	tones := map[int]float64{}
	bs := make([]*Baresip, n+1)
	for port := 1; port <= n; port++ {
		hz := float64(900 + 100*port)
		tones[port] = hz
		wav := filepath.Join(dir, fmt.Sprintf("tone%v.wav", hz))
		// baresip's aufile source stops at the end of the file: the tone
		// lasts through the set-up (up to a minute) and every window.
		if err := WriteToneWAV(wav, hz, -12, float64(secs*windows+90)); err != nil {
			t.Fatal(err)
		}
		u := 1000 + n + port
		bs[port] = StartBaresip(t, BaresipOpts{User: fmt.Sprint(u), Password: fmt.Sprintf("secret%d", u-1000), Registrar: k.TLSAddr,
			Transport: "tls", MediaEnc: "srtp-mand", CAFile: k.Cert.CAFile, SourceWAV: wav})
	}
	opts := GatewayOpts{Config: SecureConfig(k.TLSAddr, k.Cert.CAFile, "mandatory")}
	if n != 2 {
		// A sim board with n FXS ports, every one in a call.
		opts = GatewayOpts{Config: scaleConfig(n, k.TLSAddr, k.Cert.CAFile), Args: []string{"--fxs", fmt.Sprint(n), "--fxo", "0"}}
	}
	g := StartGateway(t, opts)
	for id := 1; id <= n; id++ {
		Eventually(t, 10*time.Second, fmt.Sprintf("account %d registered", id), func() error {
			if a := g.Account(t, fmt.Sprint(id)); a.State != "registered" {
				return fmt.Errorf("state %q (%s)", a.State, a.LastError)
			}
			return nil
		})
	}
	gw := g.proc.PID()
	idle := cpuOver(t, window/3, gw)[0] * 3 // the gateway with no call, scaled to the window
	ports := make([]int, n)
	for port := 1; port <= n; port++ {
		placeSRTPCall(t, g, port, bs[port], fmt.Sprint(1000+n+port), tones[port], float64(500+50*port))
		ports[port-1] = port
	}
	g.WaitMediaSteady(t, 20*time.Second, ports...) // call set-up over before the measured window
	if out := os.Getenv("LOOPSTART_BENCH_PERF"); out != "" {
		// Profile the gateway during the window (perf report -i FILE).
		Start(t, dir, "perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(gw), "-o", out, "--", "sleep", strconv.Itoa(secs))
	}
	pids := []int{gw}
	for port := 1; port <= n; port++ {
		pids = append(pids, bs[port].proc.PID())
	}
	// Windows one after the other on the same calls: the ratio moves
	// with the host (baresip's cost, mostly wake-ups, far more than
	// loopstart's), so each is logged with the host's steal over it and
	// the median is the figure.
	var ratios, ownRatios []float64
	for w := 1; w <= windows; w++ {
		r, own := benchWindow(t, g, pids, idle, window, n)
		t.Logf("window %d of %d: ratio %.2f× (total), %.2f× less the sim board's models", w, windows, r, own)
		ratios, ownRatios = append(ratios, r), append(ownRatios, own)
	}
	if windows > 1 {
		slices.Sort(ratios)
		slices.Sort(ownRatios)
		t.Logf("median of %d windows: ratio loopstart/baresip %.2f× (total; %.2f–%.2f), %.2f× less the sim board's models; goal ≤ 0.5×",
			windows, ratios[windows/2], ratios[0], ratios[windows-1], ownRatios[windows/2])
	}
	for port := 1; port <= n; port++ {
		g.Hook(t, port, "on")
	}
}

// benchWindow measures one window of TestBenchPeers' calls: the CPU of
// the gateway (pids[0]) and of each call's baresip, logged with the
// host's steal over the window; it returns the ratio of the gateway's CPU
// per call-minute to baresip's, whole and less the sim board's models.
func benchWindow(t *testing.T, g *Gateway, pids []int, idle float64, window time.Duration, n int) (ratio, own float64) {
	t.Helper()
	st0 := g.Status(t)
	models0 := st0.Loop.SimModelsCPUUS
	steal0, _ := Steal()
	cpu := cpuOver(t, window, pids...)
	steal1, _ := Steal()
	st := g.Status(t)
	// The sim board's chip models, phones and lines: test equipment in
	// the gateway's process, measured apart (their threads' CPU time).
	models := float64(st.Loop.SimModelsCPUUS-models0) / 1e6
	for port := 1; port <= n; port++ {
		c, c0 := st.Ports[port-1].Call, st0.Ports[port-1].Call
		// baresip sends a packet every 20 ms for the whole window: at
		// least half of them arrived in it, or the window measured
		// something else (a call that ended, a source that ran out).
		if c == nil || c0 == nil || c.SRTP == "" || c.PacketsReceived-c0.PacketsReceived < uint64(window/(40*time.Millisecond)) {
			t.Fatalf("port %d: no steady SRTP call during the window: %+v", port, c)
		}
		if c.Echo != nil { // what the canceller was doing: its cost depends on it
			t.Logf("port %d: echo canceller ERLE %.1f dB, double talk %.0f %% of the far end's talk", port, c.Echo.ERLEDB, c.Echo.DoubleTalkPct)
		}
	}
	var bCPU float64
	for _, c := range cpu[1:] {
		bCPU += c
	}
	minutes := window.Minutes()
	gwPerCall := cpu[0] / (float64(n) * minutes)
	gwMarginal := (cpu[0] - idle) / (float64(n) * minutes)
	bPerCall := bCPU / (float64(n) * minutes)
	t.Logf("window %v, %d SRTP G.711 calls; host steal over it %v", window, n, (steal1 - steal0).Round(10*time.Millisecond))
	t.Logf("loopstart: %.2f CPU-s in the window (idle %.2f): %.3f CPU-s per call-minute, %.3f marginal", cpu[0], idle, gwPerCall, gwMarginal)
	t.Logf("baresip:   %.2f CPU-s in all (%d processes): %.3f CPU-s per call-minute", bCPU, n, bPerCall)
	gwOwn := (cpu[0] - models) / (float64(n) * minutes)
	t.Logf("of it the sim board's models: %.2f CPU-s; loopstart less them: %.3f CPU-s per call-minute", models, gwOwn)
	if bPerCall <= 0 {
		t.Fatalf("baresip used no CPU in the window (%v)", cpu[1:])
	}
	t.Logf("ratio loopstart/baresip: %.2f× (total), %.2f× (marginal); goal ≤ 0.5×", gwPerCall/bPerCall, gwMarginal/bPerCall)
	t.Logf("ratio less the sim board's models: %.2f×", gwOwn/bPerCall)
	return gwPerCall / bPerCall, gwOwn / bPerCall
}
