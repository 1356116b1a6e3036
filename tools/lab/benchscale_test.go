package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/voice/status"
)

// scaleChannels are the channel counts `make bench-scale` measures;
// LOOPSTART_SCALE_CHANNELS (comma-separated) picks others.
func scaleChannels(t *testing.T) []int {
	v := os.Getenv("LOOPSTART_SCALE_CHANNELS")
	if v == "" {
		return []int{1, 2, 8, 16, 32}
	}
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 32 {
			t.Fatalf("LOOPSTART_SCALE_CHANNELS: %q is not a channel count 1-32", f)
		}
		out = append(out, n)
	}
	return out
}

// scaleTone is what the phone on port p says into its call: 50 Hz apart,
// so that every channel's audio is told from every other's.
func scaleTone(p int) float64 { return 400 + 50*float64(p) }

// scaleFarTone is what the paced baresip says on an odd channel count's
// last channel.
const scaleFarTone = 1000

// scaleConfig is the gateway config of an n-port board: account i (user
// 1000+i) registering over TLS at tlsAddr with SRTP mandatory, port i on
// account i with the echo canceller on.
func scaleConfig(n int, tlsAddr, caFile string) string {
	var b strings.Builder
	b.WriteString("<loopstart>\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  <account id=\"%d\"><registrar>sips:%s</registrar><user>%d</user><password>secret%d</password><ca-file>%s</ca-file><srtp>mandatory</srtp></account>\n",
			i, tlsAddr, 1000+i, i, caFile)
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  <port n=\"%d\" account=\"%d\"><echo-canceller>on</echo-canceller></port>\n", i, i)
	}
	b.WriteString("</loopstart>\n")
	return b.String()
}

// TestBenchScale is `make bench-scale`: for each channel count N (1, 2, 8,
// 16, 32) a sim board of N FXS ports (daisy-chained Si3215 models on one
// highway) carries N simultaneous G.711 + SRTP calls (SIP over TLS through
// Kamailio, AES_CM_128_HMAC_SHA1_80, the echo canceller on every channel):
// N/2 phone-to-phone pairs, port 2k-1 calling port 2k through Kamailio,
// and for odd N the last port calling a paced baresip. While SIPp floods
// the gateway's SIP port with INVITE and OPTIONS (LOOPSTART_FLOOD_RATE per
// second each, bounded by -m and -timeout) for the window
// (LOOPSTART_BENCH_SECONDS, default 60), it reads the media loop's Late and
// Missed counters with the host's steal time beside them (LatenessLedger),
// the lateness and per-frame work histograms (work p99 as the bound of the
// bucket holding the 99th percentile), each channel's losses and
// concealment, the gateway's CPU and RSS, and checks every channel on its
// own: each phone keeps hearing its far end's tone through the window
// (sampled every two seconds) and its last 29 s of audio holds that tone in
// every 10 ms block. Audio faults fail the run unless the host's steal
// excuses them; loop lateness is reported, not failed (this is a
// benchmark on a shared machine; TestInteropFlood is the test).
//
//	LOOPSTART_BENCH_SCALE=1 go test -count=1 -timeout 30m -v -run TestBenchScale ./tools/lab/
func TestBenchScale(t *testing.T) {
	if os.Getenv("LOOPSTART_BENCH_SCALE") != "1" {
		t.Skip("benchmark: set LOOPSTART_BENCH_SCALE=1 (make bench-scale)")
	}
	Need(t, "kamailio", "kamcmd", "baresip", "sipp")
	secs := 60
	if v, err := strconv.Atoi(os.Getenv("LOOPSTART_BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	var rows []string
	for _, n := range scaleChannels(t) {
		t.Run(fmt.Sprintf("%dch", n), func(t *testing.T) {
			rows = append(rows, benchScale(t, n, secs))
		})
	}
	t.Logf("| channels | late | missed | steal in window | max lateness | work p99 | max work | lost / concealed (all channels) | channels heard | CPU (%% of a core) | idle CPU | RSS (HWM) | load avg |")
	t.Logf("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		t.Logf("%s", r)
	}
}

// benchScale runs one channel count and returns its table row.
func benchScale(t *testing.T, n, secs int) string {
	k := startKamailioTLS(t, max(0, n+1-4))
	dir := t.TempDir()
	var far *Baresip
	if n%2 == 1 {
		wav := filepath.Join(dir, "far.wav")
		if err := WriteToneWAV(wav, scaleFarTone, -12, float64(secs+120)); err != nil {
			t.Fatal(err)
		}
		user := fmt.Sprint(1000 + n + 1)
		far = StartBaresip(t, BaresipOpts{User: user, Password: fmt.Sprintf("secret%d", n+1), Registrar: k.TLSAddr,
			Transport: "tls", MediaEnc: "srtp-mand", CAFile: k.Cert.CAFile, SourceWAV: wav})
		if err := SetRealtime(far.proc.PID(), 30); err != nil {
			t.Logf("far phone timing not protected (%v)", err)
		}
	}
	g := StartGateway(t, GatewayOpts{Config: scaleConfig(n, k.TLSAddr, k.Cert.CAFile),
		Args: []string{"--fxs", fmt.Sprint(n), "--fxo", "0"}})
	if err := SetNice(g.proc.PID(), -10); err != nil {
		t.Logf("gateway not reniced (%v)", err)
	}
	Eventually(t, 30*time.Second, "every account registered", func() error {
		var not []string
		for _, a := range g.Status(t).Accounts {
			if a.State != "registered" {
				not = append(not, a.ID+":"+a.State)
			}
		}
		if len(not) > 0 {
			return fmt.Errorf("not registered: %v", not)
		}
		return nil
	})
	gw := g.proc.PID()
	idle := cpuOver(t, 10*time.Second, gw)[0] / 10 // the registered gateway with no call, per second

	hear := map[int]float64{} // what each port must hear
	for a := 1; a+1 <= n; a += 2 {
		b := a + 1
		g.OffHookAndDial(t, a, fmt.Sprint(1000+b)+"#")
		Eventually(t, 10*time.Second, fmt.Sprintf("port %d rings", b), func() error {
			if p := g.Phone(t, b); !p.Ringing {
				return fmt.Errorf("port %d: hook %s, not ringing", b, p.Hook)
			}
			return nil
		})
		g.Hook(t, b, "off")
		Eventually(t, 10*time.Second, fmt.Sprintf("ports %d and %d talking", a, b), func() error {
			if sa, sb := g.PortStatus(t, a).State, g.PortStatus(t, b).State; sa != "talking" || sb != "talking" {
				return fmt.Errorf("states %s, %s", sa, sb)
			}
			return nil
		})
		hear[a], hear[b] = scaleTone(b), scaleTone(a)
	}
	if far != nil {
		placeSRTPCall(t, g, n, far, fmt.Sprint(1000+n+1), scaleFarTone, scaleTone(n))
		hear[n] = scaleFarTone
	}
	ports := make([]int, n)
	for i := range ports {
		ports[i] = i + 1
	}
	// Both ends of a pair are lines with an echo path, so a pure tone sent
	// both ways at once loops through the two hybrids, and each canceller
	// sees its own phone's tone come back as the far end's: it would learn
	// to cancel its own talker. Each direction is therefore measured in
	// single talk, half of the window each: first the calling ports talk
	// and the called ones listen, then the other way round. The cancellers
	// run on every channel all the time either way. A baresip channel's
	// phone talks and listens throughout (baresip has no echo path).
	talk := func(from int) {
		for a := 1; a <= n-n%2; a++ { // the pairs' ports, not the baresip channel's
			if a%2 == from%2 {
				g.Say(t, a, []float64{scaleTone(a)}, -12)
			} else {
				g.Say(t, a, nil, 0)
			}
		}
	}
	listeners := func(phase int) []int {
		var out []int
		for _, p := range ports {
			if p%2 == phase%2 || (far != nil && p == n) { // phase 0: 2, 4, ...; phase 1: 1, 3, ...
				out = append(out, p)
			}
		}
		return out
	}
	talk(1)
	for _, p := range listeners(0) {
		g.WaitHears(t, p, 10*time.Second, fmt.Sprintf("port %d hears its far end", p), hear[p])
	}
	g.WaitMediaSteady(t, 30*time.Second, ports...)

	before := g.Status(t)
	for _, p := range ports {
		if c := before.Ports[p-1].Call; c == nil || c.SRTP != "AES_CM_128_HMAC_SHA1_80" || c.Echo == nil {
			t.Fatalf("port %d: not an SRTP call with the echo canceller: %+v", p, c)
		}
	}
	cpu0, err := cpuTicks(gw)
	if err != nil {
		t.Fatal(err)
	}
	steal0, _ := Steal()
	load0 := loadAvg()
	rate := floodRate()
	start := time.Now()
	inv := startSIPp(t, dir, "invite", "u1", floodInviteXML, g.SIP, "1001", rate, secs)
	opt := startSIPp(t, dir, "options", "u1", floodOptionsXML, g.SIP, "1001", rate, secs)
	var ledger LatenessLedger
	ledger.Sample(before.Loop.Late + before.Loop.Missed)
	deaf := map[int][]string{}
	toneErr := map[int][]error{}
	half := time.Duration(secs) * time.Second / 2
	// settle is how long the second half's cancellers have to converge on
	// the other direction's tone before its audio counts (single talk, as
	// the lab's double-talk check allows).
	const settle = 5 * time.Second
	for phase := range 2 {
		if phase == 1 {
			talk(2)
			for _, p := range listeners(1) {
				g.WaitHears(t, p, 10*time.Second, fmt.Sprintf("port %d hears its far end", p), hear[p])
			}
		}
		phaseStart := time.Now()
		lastHearing := time.Time{}
		for {
			if phase == 0 && time.Since(phaseStart) >= half || phase == 1 && inv.proc.Exited() && opt.proc.Exited() {
				break
			}
			if time.Since(start) > time.Duration(secs+40)*time.Second {
				t.Fatal("sipp did not end within its bounds")
			}
			if time.Since(lastHearing) >= 2*time.Second && (phase == 0 || time.Since(phaseStart) >= settle) {
				lastHearing = time.Now()
				for _, p := range listeners(phase) {
					h := g.Phone(t, p).Hearing
					if !hearsNear(h.TonesHz, hear[p]) {
						deaf[p] = append(deaf[p], fmt.Sprintf("%.1fs: %v %.1f dBFS", time.Since(start).Seconds(), h.TonesHz, h.LevelDBFS))
					}
				}
			}
			time.Sleep(500 * time.Millisecond) // the ledger's sampling interval, not a wait
			st := g.Status(t)
			ledger.Sample(st.Loop.Late + st.Loop.Missed)
		}
		// What each listening phone heard over this half, 10 ms at a
		// time: the first half from its start (the calls were steady),
		// the second from settle after the direction changed.
		skip := 500 * time.Millisecond
		if phase == 1 {
			skip = settle
		}
		ms := min(int((time.Since(phaseStart)-skip)/time.Millisecond), 29000)
		for _, p := range listeners(phase) {
			if err := steadyTone(heardWAV(t, g, p, ms), hear[p]); err != nil {
				toneErr[p] = append(toneErr[p], fmt.Errorf("half %d: %w", phase+1, err))
			}
		}
	}
	window := time.Since(start)
	after := g.Status(t)
	ledger.Sample(after.Loop.Late + after.Loop.Missed)
	cpu1, err := cpuTicks(gw)
	if err != nil {
		t.Fatal(err)
	}
	steal1, _ := Steal()
	load1 := loadAvg()
	rss, hwm := procMemory(t, gw)

	bl, al := before.Loop, after.Loop
	p99 := workP99(bl.WorkHistogram, al.WorkHistogram)
	t.Logf("%d channels, window %.1f s, flood %d/s INVITE + %d/s OPTIONS over UDP", n, window.Seconds(), rate, rate)
	t.Logf("loop: SCHED_FIFO %d %s; ticks +%d, late +%d, missed +%d, max lateness %d µs; lateness %v", al.Priority, al.PriorityError,
		al.Ticks-bl.Ticks, al.Late-bl.Late, al.Missed-bl.Missed, al.MaxLatenessUS, histDelta(bl.Histogram, al.Histogram))
	t.Logf("loop work per frame: p99 ≤ %s, max %d µs (since start); %v", p99, al.MaxWorkUS, histDelta(bl.WorkHistogram, al.WorkHistogram))
	t.Logf("lateness booked against steal: %s; host steal over the window %v; load average %s → %s", &ledger, steal1-steal0, load0, load1)

	heard, lostAll, concealedAll := 0, uint64(0), 0.0
	for _, p := range ports {
		b, a := before.Ports[p-1].Call, after.Ports[p-1].Call
		if a == nil || after.Ports[p-1].State != "talking" {
			t.Errorf("port %d: call gone (state %s)", p, after.Ports[p-1].State)
			continue
		}
		lost, concealed := a.Lost-b.Lost, a.ConcealedMS-b.ConcealedMS
		lostAll += lost
		concealedAll += concealed
		echo := ""
		if a.Echo != nil {
			echo = fmt.Sprintf(", echo canceller ERLE %.1f dB", a.Echo.ERLEDB)
		}
		t.Logf("port %d: sent +%d, received +%d, lost +%d, late +%d, concealed +%.0f ms, jitter %.2f ms%s",
			p, a.PacketsSent-b.PacketsSent, a.PacketsReceived-b.PacketsReceived, lost, a.Late-b.Late, concealed, a.JitterMS, echo)
		switch {
		case len(toneErr[p]) == 0 && len(deaf[p]) == 0:
			heard++
		case ledger.Excuses(30 * time.Millisecond):
			t.Logf("REPORT, not a failure: port %d: %v %v while the host stole %v of CPU (shared VM)", p, toneErr[p], deaf[p], ledger.Total)
		default:
			t.Errorf("port %d does not hear its far end (%v Hz) throughout: %v; sampled: %v; %s", p, hear[p], toneErr[p], deaf[p], &ledger)
		}
	}
	for _, s := range []*sippRun{inv, opt} {
		st := s.stats(t)
		t.Logf("sipp %s: %d requests, %d answered sanely, %d failed", s.name, st.created, st.ok, st.failed)
	}
	core := float64(cpu1-cpu0) / clkTck / window.Seconds() * 100
	t.Logf("gateway CPU %.1f %% of a core with the calls and the flood (idle, registered: %.2f %%); RSS %.1f MiB (high water %.1f MiB)",
		core, idle*100, rss, hwm)
	for _, p := range ports {
		g.Hook(t, p, "on")
	}
	return fmt.Sprintf("| %d | %d | %d | %v | %.1f ms | ≤ %s | %.2f ms | %d / %.0f ms | %d of %d | %.1f | %.2f %% | %.1f (%.1f) MiB | %s → %s |",
		n, al.Late-bl.Late, al.Missed-bl.Missed, (steal1 - steal0).Round(10*time.Millisecond), float64(al.MaxLatenessUS)/1000,
		p99, float64(al.MaxWorkUS)/1000, lostAll, concealedAll, heard, n, core, idle*100, rss, hwm, load0, load1)
}

// workP99 returns the upper bound of the work-histogram bucket that holds
// the 99th percentile of the frames between two status reads.
func workP99(b, a []status.LatenessBucket) string {
	var total uint64
	d := make([]uint64, len(a))
	for i := range a {
		d[i] = a[i].Count
		if i < len(b) {
			d[i] -= b[i].Count
		}
		total += d[i]
	}
	if total == 0 {
		return "no frames"
	}
	var sum uint64
	for i, c := range d {
		sum += c
		if sum*100 >= total*99 {
			if a[i].UpToUS == 0 {
				return fmt.Sprintf("> %.1f ms", float64(a[i-1].UpToUS)/1000)
			}
			return fmt.Sprintf("%.2f ms", float64(a[i].UpToUS)/1000)
		}
	}
	return "?"
}

// loadAvg returns the one-minute load average, "?" when unreadable.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// procMemory returns a process's VmRSS and VmHWM in MiB.
func procMemory(t *testing.T, pid int) (rss, hwm float64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// TestWorkP99 checks the percentile reading of the work histogram.
func TestWorkP99(t *testing.T) {
	bounds := []int64{100, 250, 500, 1000, 0}
	mk := func(counts ...uint64) []status.LatenessBucket {
		out := make([]status.LatenessBucket, len(counts))
		for i, c := range counts {
			out[i] = status.LatenessBucket{UpToUS: bounds[i], Count: c}
		}
		return out
	}
	for _, tc := range []struct {
		b, a []status.LatenessBucket
		want string
	}{
		{mk(0, 0, 0, 0, 0), mk(990, 10, 0, 0, 0), "0.10 ms"},
		{mk(0, 0, 0, 0, 0), mk(980, 10, 10, 0, 0), "0.25 ms"},
		{mk(500, 0, 0, 0, 0), mk(1480, 0, 0, 0, 20), "> 1.0 ms"},
		{mk(5, 0, 0, 0, 0), mk(5, 0, 0, 0, 0), "no frames"},
		{nil, mk(0, 0, 100, 0, 0), "0.50 ms"},
	} {
		if got := workP99(tc.b, tc.a); got != tc.want {
			t.Errorf("workP99(%v, %v) = %q, want %q", tc.b, tc.a, got, tc.want)
		}
	}
}
