package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Network namespaces for tests that need a real network between peers (a
// NAT, a lost route). Each namespace is created by the test, torn down in
// its cleanup, and entered only by the processes the test starts in it.

// NetNS is a network namespace the test created.
type NetNS struct{ Name string }

// NeedRoot skips t unless it runs as root with ip, nft and conntrack.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (run the lab as root)")
	}
	Need(t, "ip", "nsenter", "nft", "conntrack", "sysctl")
}

// AddNetNS creates namespace name (removing a stale one left by a killed
// run) with its loopback up, and deletes it in t's cleanup.
func AddNetNS(t testing.TB, name string) *NetNS {
	t.Helper()
	_ = exec.Command("ip", "netns", "del", name).Run()
	if !netnsMounted() {
		// ip makes /run/netns a mount point for its first namespace;
		// the test that made it unmounts it once its namespaces are gone
		// (this cleanup runs after theirs), so nothing stays mounted.
		t.Cleanup(func() {
			if ents, err := os.ReadDir("/run/netns"); err == nil && len(ents) == 0 && netnsMounted() {
				if out, err := exec.Command("umount", "/run/netns").CombinedOutput(); err != nil {
					t.Logf("umount /run/netns: %v: %s", err, out)
				}
			}
		})
	}
	Sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Logf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ns := &NetNS{Name: name}
	ns.Sh(t, "ip", "link", "set", "lo", "up")
	return ns
}

// netnsMounted reports whether /run/netns is a mount point.
func netnsMounted() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/run/netns" {
			return true
		}
	}
	return false
}

// Sh runs a command and fails t when it fails.
func Sh(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// enter is the command line that runs name inside the namespace. nsenter
// enters only the network namespace; "ip netns exec" would also remount
// /sys, which a chroot or container refuses ("mount --make-rslave /").
func (ns *NetNS) enter(name string, args ...string) []string {
	return append([]string{"--net=" + filepath.Join("/run/netns", ns.Name), name}, args...)
}

// Sh runs a command inside the namespace.
func (ns *NetNS) Sh(t testing.TB, name string, args ...string) string {
	t.Helper()
	return Sh(t, "nsenter", ns.enter(name, args...)...)
}

// Start starts a process inside the namespace (nsenter execs it, so the
// PID the cleanup ends is the program's own); a nil ns is the test's own
// namespace.
func (ns *NetNS) Start(t testing.TB, dir, name string, args ...string) *Proc {
	t.Helper()
	sub := filepath.Join(dir, filepath.Base(name))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if ns == nil {
		return Start(t, sub, name, args...)
	}
	return Start(t, sub, "nsenter", ns.enter(name, args...)...)
}

// Link joins namespaces a and b with a veth pair, aName in a with address
// aAddr (CIDR) and bName in b with bAddr, both up.
func Link(t testing.TB, a *NetNS, aName, aAddr string, b *NetNS, bName, bAddr string) {
	t.Helper()
	Sh(t, "ip", "link", "add", aName, "netns", a.Name, "type", "veth", "peer", "name", bName, "netns", b.Name)
	a.Sh(t, "ip", "addr", "add", aAddr, "dev", aName)
	a.Sh(t, "ip", "link", "set", aName, "up")
	b.Sh(t, "ip", "addr", "add", bAddr, "dev", bName)
	b.Sh(t, "ip", "link", "set", bName, "up")
}

// DialContext dials addr from inside the namespace: the socket is made on
// a thread switched into it, then the thread switches back.
func (ns *NetNS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer self.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns.Name))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("setns %s: %w", ns.Name, err)}
			return
		}
		var d net.Dialer
		c, derr := d.DialContext(ctx, network, addr)
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			// The thread stays locked and dies with the goroutine.
			ch <- result{c, derr}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{c, derr}
	}()
	r := <-ch
	return r.c, r.err
}

var (
	nsRoutesMu sync.Mutex
	nsRoutes   = map[string]*NetNS{} // host:port → namespace
)

// RouteHTTP makes the default HTTP client reach addr (host:port) inside
// ns, so the lab's Gateway helpers work on a gateway whose web UI listens
// on the namespace's loopback; t's cleanup undoes it.
func RouteHTTP(t testing.TB, addr string, ns *NetNS) {
	t.Helper()
	nsRoutesMu.Lock()
	defer nsRoutesMu.Unlock()
	tr, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		t.Fatal("http.DefaultTransport is not an *http.Transport")
	}
	if len(nsRoutes) == 0 {
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nsRoutesMu.Lock()
			via := nsRoutes[addr]
			nsRoutesMu.Unlock()
			if via != nil {
				return via.DialContext(ctx, network, addr)
			}
			return d.DialContext(ctx, network, addr)
		}
	}
	nsRoutes[addr] = ns
	t.Cleanup(func() {
		nsRoutesMu.Lock()
		defer nsRoutesMu.Unlock()
		delete(nsRoutes, addr)
		tr.CloseIdleConnections()
	})
}

// StartGatewayIn starts the gateway binary inside ns with SIP on sipAddr
// (an address of ns) and the web UI on the namespace's loopback, which the
// lab's HTTP helpers reach through RouteHTTP.
func StartGatewayIn(t testing.TB, ns *NetNS, sipAddr, config string) *Gateway {
	t.Helper()
	bin := Binary(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", FreePort(t, 1))
	RouteHTTP(t, httpAddr, ns)
	dir := t.TempDir()
	g := &Gateway{HTTP: "http://" + httpAddr, SIP: sipAddr, Data: filepath.Join(dir, "data")}
	p := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(p, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	g.proc = ns.Start(t, dir, bin, "run", "--board", "sim", "--data", g.Data, "--http", httpAddr, "--sip", sipAddr,
		"--log-level", "debug", "--config", p)
	Eventually(t, 15*time.Second, "gateway web UI in "+ns.Name, func() error {
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

// StartKamailioIn starts Kamailio inside ns (nil: the test's own
// namespace) listening on ip:port; edits are old, new pairs replaced in
// its configuration.
func StartKamailioIn(t testing.TB, ns *NetNS, ip string, port int, opts KamailioOpts, edits ...string) *Kamailio {
	t.Helper()
	Need(t, "kamailio", "kamcmd")
	dir := t.TempDir()
	ctl := filepath.Join(dir, "kamailio.ctl")
	qop := "1"
	if opts.NoQop {
		qop = "0"
	}
	repl := append([]string{"@PORT@", fmt.Sprint(port), "@CTL@", ctl, "@QOP@", qop}, opts.authReplacements(qop)...)
	cfg := strings.NewReplacer(repl...).Replace(kamailioCfg)
	cfg = strings.ReplaceAll(cfg, "127.0.0.1:", ip+":")
	cfg = strings.NewReplacer(edits...).Replace(cfg)
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &Kamailio{Port: port, Addr: fmt.Sprintf("%s:%d", ip, port), ctl: ctl}
	k.proc = ns.Start(t, dir, "kamailio", "-DD", "-E", "-f", cfgPath, "-P", filepath.Join(dir, "kamailio.pid"),
		"-Y", dir, "-m", "64", "-M", "8")
	Eventually(t, 10*time.Second, "kamailio on "+k.Addr, func() error {
		if k.proc.Exited() {
			t.Fatalf("kamailio exited:\n%s", tail(k.proc.Log(), 40))
		}
		_, err := k.Locations()
		return err
	})
	return k
}
