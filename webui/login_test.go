package webui

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingKDF wraps argonKey, counting the hashes and the most at once.
type countingKDF struct {
	calls, running, peak atomic.Int64
}

func (k *countingKDF) kdf(pw, salt []byte, p argonParams, n uint32) []byte {
	k.calls.Add(1)
	r := k.running.Add(1)
	defer k.running.Add(-1)
	for {
		old := k.peak.Load()
		if r <= old || k.peak.CompareAndSwap(old, r) {
			break
		}
	}
	return argonKey(pw, salt, p, n)
}

// memWatch samples the Go heap while a burst runs.
type memWatch struct {
	stop, done       chan struct{}
	idleInuse, peak  uint64 // HeapInuse
	idleSys, peakSys uint64 // Sys
	idleRSS, hwm     uint64 // VmRSS before, VmHWM after (0 if unknown)
	hwmReset         bool
}

func watchMemory() *memWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &memWatch{stop: make(chan struct{}), done: make(chan struct{}), idleInuse: ms.HeapInuse, peak: ms.HeapInuse,
		idleSys: ms.Sys, peakSys: ms.Sys}
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux).
	m.hwmReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	m.idleRSS = procStatus("VmRSS")
	go func() {
		defer close(m.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			m.peak = max(m.peak, ms.HeapInuse)
			m.peakSys = max(m.peakSys, ms.Sys)
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *memWatch) end() {
	close(m.stop)
	<-m.done
	if m.hwmReset {
		m.hwm = procStatus("VmHWM")
	}
}

func (m *memWatch) String() string {
	s := fmt.Sprintf("heap in use %.1f → peak %.1f MiB (+%.1f), Sys %.1f → peak %.1f MiB (+%.1f)",
		mib(m.idleInuse), mib(m.peak), mib(m.peak-m.idleInuse), mib(m.idleSys), mib(m.peakSys), mib(m.peakSys-m.idleSys))
	if m.hwm > 0 && m.idleRSS > 0 {
		s += fmt.Sprintf(", RSS %.1f → peak %.1f MiB (+%.1f)", mib(m.idleRSS), mib(m.hwm), mib(m.hwm-min(m.hwm, m.idleRSS)))
	}
	return s
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// procStatus reads a kB field of /proc/self/status in bytes, 0 if unknown.
func procStatus(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10
		}
	}
	return 0
}

// maxBurstGrowth is how much memory a login burst may add.
const maxBurstGrowth = 64 << 20

// TestLoginBurst: 50 parallel wrong logins with the right password last,
// with the production argon2 cost (19 MiB), from one client and from 50.
// One client gets no more hash checks than the lockout allows; many
// clients never run more than MaxHashes hashes at once; memory stays
// within 64 MiB above idle.
func TestLoginBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 19 MiB argon2 hashes")
	}
	for _, c := range []struct {
		name     string
		clients  int
		maxCalls int64
	}{
		{"one client", 1, LoginFailures},
		{"50 clients", 50, 50},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _, _ := newAuthServer(t, false)
			s.auth.argon = defaultArgon // the stored hash's cost is what logins pay
			login(t, s, "127.0.0.1:1")
			k := &countingKDF{}
			s.auth.kdf = k.kdf
			remote := func(i int) string { return fmt.Sprintf("192.0.2.%d:%d", 1+i%c.clients, 1000+i) }
			wrong := `{"password":"not the password"}`
			mem := watchMemory()
			start := time.Now()
			var wg sync.WaitGroup
			codes := make([]int, 50)
			var started sync.WaitGroup
			started.Add(49)
			for i := range 49 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					started.Done()
					codes[i] = send(t, s, req{method: "POST", path: "/api/login", body: wrong, remote: remote(i)}).Code
				}()
			}
			started.Wait()
			codes[49] = send(t, s, req{method: "POST", path: "/api/login", body: `{"password":"correct horse"}`, remote: remote(49)}).Code
			wg.Wait()
			took := time.Since(start)
			mem.end()
			hist := map[int]int{}
			for _, code := range codes {
				hist[code]++
			}
			t.Logf("%s: %d hash checks (at most %d at once) in %v; answers %v; right password last: %d; %s",
				c.name, k.calls.Load(), k.peak.Load(), took.Round(time.Millisecond), hist, codes[49], mem)
			if n := k.calls.Load(); n > c.maxCalls {
				t.Errorf("%d hash checks, want at most %d", n, c.maxCalls)
			}
			if p := k.peak.Load(); p > MaxHashes {
				t.Errorf("%d hashes at once, want at most %d", p, MaxHashes)
			}
			for i, code := range codes[:49] {
				if code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
					t.Errorf("wrong login %d = %d", i, code)
				}
			}
			if c.clients == 1 && codes[49] != http.StatusTooManyRequests {
				t.Errorf("right password after the burst = %d, want 429 (locked out)", codes[49])
			}
			if g := mem.peak - mem.idleInuse; g > maxBurstGrowth {
				t.Errorf("heap grew %.1f MiB, want at most %d", mib(g), maxBurstGrowth>>20)
			}
			if !raceDetector && mem.hwm > 0 && mem.idleRSS > 0 && mem.hwm > mem.idleRSS+maxBurstGrowth {
				t.Errorf("RSS grew %.1f MiB, want at most %d", mib(mem.hwm-mem.idleRSS), maxBurstGrowth>>20)
			}
		})
	}
}

// TestClientTableEviction: a full client table never frees a locked
// client. A flood of new clients evicts unlocked ones (the oldest failure
// first); when every entry is locked, new clients are refused with 429.
func TestClientTableEviction(t *testing.T) {
	s, clk, _ := newAuthServer(t, false)
	login(t, s, "127.0.0.1:1")
	wrong := func(remote string) int {
		return send(t, s, req{method: "POST", path: "/api/login", body: `{"password":"not it"}`, remote: remote}).Code
	}
	for range LoginFailures {
		wrong("192.0.2.9:1")
	}
	// A flood from more addresses than the table holds.
	for i := range 2 * maxClients {
		wrong(fmt.Sprintf("10.%d.%d.1:1", i/250, i%250))
	}
	if n := len(s.auth.clients); n > maxClients {
		t.Errorf("client table grew to %d", n)
	}
	if w := send(t, s, req{method: "POST", path: "/api/login", body: `{"password":"correct horse"}`, remote: "192.0.2.9:2"}); w.Code != http.StatusTooManyRequests {
		t.Errorf("locked client after the flood: right password = %d, want 429", w.Code)
	}

	// A table of locked clients only refuses newcomers and keeps them all.
	a := s.auth
	a.mu.Lock()
	clear(a.clients)
	a.global = window{} // the flood used up this window's attempts
	now := clk.now()
	for i := range maxClients {
		a.clients[fmt.Sprintf("locked-%d", i)] = &client{fails: LoginFailures, last: now, lockedUntil: now.Add(LockoutBase)}
	}
	a.mu.Unlock()
	w := send(t, s, req{method: "POST", path: "/api/login", body: `{"password":"correct horse"}`, remote: "192.0.2.77:1"})
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || len(a.clients) != maxClients || a.clients["192.0.2.77"] != nil {
		t.Errorf("new client with the table full of locked ones: %d %s, table %d", w.Code, w.Body, len(a.clients))
	}
	// Two unlocked clients with failures: the older one goes first.
	a.mu.Lock()
	a.clients["locked-1"] = &client{fails: 2, last: now.Add(-2 * time.Minute)}
	a.clients["locked-2"] = &client{fails: 2, last: now.Add(-time.Minute)}
	a.mu.Unlock()
	if w := send(t, s, req{method: "POST", path: "/api/login", body: `{"password":"correct horse"}`, remote: "192.0.2.77:1"}); w.Code != http.StatusOK {
		t.Errorf("new client with an unlocked one to evict = %d %s", w.Code, w.Body)
	}
	if a.clients["locked-1"] != nil || a.clients["locked-2"] == nil || a.clients["locked-3"] == nil {
		t.Error("evicted the wrong client")
	}
	// Once the lockouts end, the idle entries make room.
	clk.add(LoginWindow + time.Minute)
	if w := send(t, s, req{method: "POST", path: "/api/login", body: `{"password":"correct horse"}`, remote: "192.0.2.78:1"}); w.Code != http.StatusOK {
		t.Errorf("after the lockouts = %d %s", w.Code, w.Body)
	}
	if n := len(a.clients); n > 10 {
		t.Errorf("%d stale clients kept", n)
	}
}

// TestRateLimits: one client gets SourceAttempts checks per window, all
// clients together GlobalAttempts; a new window resets them.
func TestRateLimits(t *testing.T) {
	s, clk, _ := newAuthServer(t, false)
	login(t, s, "127.0.0.1:1")
	right := func(remote string) *http.Response {
		return send(t, s, req{method: "POST", path: "/api/login", body: `{"password":"correct horse"}`, remote: remote}).Result()
	}
	for i := range SourceAttempts {
		if r := right("192.0.2.1:1"); r.StatusCode != http.StatusOK {
			t.Fatalf("login %d = %d", i, r.StatusCode)
		}
	}
	if r := right("192.0.2.1:1"); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" {
		t.Errorf("login %d from one client = %d Retry-After %q", SourceAttempts+1, r.StatusCode, r.Header.Get("Retry-After"))
	}
	n := 1 + SourceAttempts // the setup and the first login above count too
	for i := 0; n < GlobalAttempts; i++ {
		right(fmt.Sprintf("192.0.2.%d:1", 2+i/SourceAttempts))
		n++
	}
	if r := right("198.51.100.1:1"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("login past the global limit = %d", r.StatusCode)
	}
	clk.add(AttemptWindow)
	if r := right("192.0.2.1:1"); r.StatusCode != http.StatusOK {
		t.Errorf("login in the next window = %d", r.StatusCode)
	}
}

// TestClientKey: IPv6 clients are keyed by their /64.
func TestClientKey(t *testing.T) {
	for _, c := range []struct{ remote, want string }{
		{"192.0.2.1:80", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:80", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::99]:1", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:1", "fe80::/64"},
		{"[::1]:80", "::1"},
		{"[::ffff:192.0.2.1]:80", "::ffff:192.0.2.1"},
		{"garbage", "garbage"},
	} {
		r := httptestRequest("GET", "/", "localhost")
		r.RemoteAddr = c.remote
		if got := clientKey(r); got != c.want {
			t.Errorf("clientKey(%q) = %q, want %q", c.remote, got, c.want)
		}
	}
}
