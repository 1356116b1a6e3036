package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/tools/lab"
)

// envDHCPChild makes the test binary the DHCP client inside the client
// namespace (TestDHCPNetnsChild), naming the interface to configure.
const envDHCPChild = "LOOPSTART_DHCP_CHILD_IFACE"

// childResult is what the client side reports.
type childResult struct {
	Addr    string   `json:"addr"`
	Servers []string `json:"servers"`
	File    string   `json:"file"`
	User    string   `json:"user"`
	Err     string   `json:"err,omitempty"`
}

// TestDHCPProvisioningNetns: in a pair of network namespaces joined by
// a veth pair, dnsmasq hands out a lease with options 66, 67 and 150
// and serves TFTP; the gateway's DHCP client (firmware/system) takes the
// lease, ServerFromDHCP turns the options into servers, and provisioning
// fetches loopstart-<mac>.xml from dnsmasq's TFTP and applies it.
// Needs root (namespaces); skips loudly otherwise.
func TestDHCPProvisioningNetns(t *testing.T) {
	if os.Getenv(envDHCPChild) != "" {
		t.Skip("child side")
	}
	lab.Need(t, "ip", "dnsmasq")
	if os.Geteuid() != 0 {
		msg := "PEER MISSING: the DHCP namespace test needs root (ip netns add)"
		if os.Getenv("LOOPSTART_REQUIRE_PEERS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	id := fmt.Sprintf("%d", os.Getpid()%100000)
	nsS, nsC := "lsdhcp-s-"+id, "lsdhcp-c-"+id
	vs, vc := "lsvs"+id, "lsvc"+id
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Cleanups run last-in first-out: the namespaces (and with them the
	// veth pair) go after dnsmasq has been stopped.
	// ip netns makes /run/netns a mount point (and /etc/netns a
	// directory) the first time: a test that made them takes them away
	// again, so a machine or chroot is left as it was.
	hadMount := isMountPoint("/run/netns")
	_, etcErr := os.Stat("/etc/netns")
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", nsS).Run()
		exec.Command("ip", "netns", "del", nsC).Run()
		os.RemoveAll("/etc/netns/" + nsC)
		if os.IsNotExist(etcErr) {
			os.Remove("/etc/netns") // only when empty
		}
		if ents, _ := os.ReadDir("/run/netns"); !hadMount && len(ents) == 0 && isMountPoint("/run/netns") {
			if out, err := exec.Command("umount", "/run/netns").CombinedOutput(); err != nil {
				t.Logf("umount /run/netns: %v %s", err, out)
			}
			os.Remove("/run/netns")
		}
	})
	ip("netns", "add", nsS)
	ip("netns", "add", nsC)
	// Some sandboxes (a chroot without its own mount root, say) can create
	// a namespace but not enter one; that is the machine, not a missing
	// peer, so it skips even under LOOPSTART_REQUIRE_PEERS.
	if out, err := exec.Command("ip", "netns", "exec", nsS, "true").CombinedOutput(); err != nil {
		t.Skipf("ENVIRONMENT: this machine cannot enter a network namespace (%v: %s); the test needs a real host or VM", err, strings.TrimSpace(string(out)))
	}
	// The client namespace gets its own resolv.conf, so nothing the DHCP
	// client writes reaches the host's /etc.
	os.MkdirAll("/etc/netns/"+nsC, 0o755)
	os.WriteFile("/etc/netns/"+nsC+"/resolv.conf", nil, 0o644)
	ip("link", "add", vs, "type", "veth", "peer", "name", vc)
	ip("link", "set", vs, "netns", nsS)
	ip("link", "set", vc, "netns", nsC)
	ip("-n", nsS, "addr", "add", "10.77.0.1/24", "dev", vs)
	ip("-n", nsS, "link", "set", vs, "up")
	ip("-n", nsS, "link", "set", "lo", "up")
	ip("-n", nsC, "link", "set", "lo", "up")
	out, err := exec.Command("ip", "-n", nsC, "-o", "link", "show", vc).Output()
	if err != nil {
		t.Fatal(err)
	}
	mac, err := net.ParseMAC(strings.Fields(strings.SplitN(string(out), "link/ether ", 2)[1])[0])
	if err != nil {
		t.Fatalf("client MAC from %q: %v", out, err)
	}
	macHex := strings.ReplaceAll(mac.String(), ":", "")

	dir := t.TempDir()
	tftpRoot := filepath.Join(dir, "tftp")
	os.MkdirAll(tftpRoot, 0o755)
	os.Chmod(dir, 0o755)
	os.WriteFile(filepath.Join(tftpRoot, "loopstart-"+macHex+".xml"),
		[]byte(`<loopstart><account id="1"><user>4001</user></account></loopstart>`), 0o644)
	os.WriteFile(filepath.Join(tftpRoot, "loopstart.xml"),
		[]byte(`<loopstart><account id="1"><user>4999</user></account></loopstart>`), 0o644)
	lab.Start(t, dir, "ip", "netns", "exec", nsS, "dnsmasq", "--keep-in-foreground", "--log-facility=-",
		"--conf-file=/dev/null", "--port=0", "--user=root", "--interface="+vs, "--bind-interfaces",
		"--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,1h", "--dhcp-leasefile="+filepath.Join(dir, "leases"),
		"--dhcp-option=3", "--dhcp-option=6", // no router, no DNS
		"--dhcp-option=66,10.77.0.1", "--dhcp-option=67,loopstart.xml", "--dhcp-option=150,10.77.0.1",
		"--enable-tftp", "--tftp-root="+tftpRoot, "--log-dhcp")

	self, _ := os.Executable()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", nsC, self, "-test.run=^TestDHCPNetnsChild$", "-test.v")
	cmd.Env = append(os.Environ(), envDHCPChild+"="+vc)
	outb, err := cmd.CombinedOutput()
	var res childResult
	for _, l := range strings.Split(string(outb), "\n") {
		if j, ok := strings.CutPrefix(l, "RESULT "); ok {
			json.Unmarshal([]byte(j), &res)
		}
	}
	if err != nil || res.Err != "" {
		t.Fatalf("client: %v %s\n%s", err, res.Err, outb)
	}
	t.Logf("client: %+v", res)
	if !strings.HasPrefix(res.Addr, "10.77.0.") {
		t.Errorf("address %s not from the DHCP range", res.Addr)
	}
	if len(res.Servers) == 0 || res.Servers[0] != "tftp://10.77.0.1/" {
		t.Errorf("servers %v, want tftp://10.77.0.1/ from option 66 (and 150)", res.Servers)
	}
	if res.User != "4001" || !strings.HasSuffix(res.File, "loopstart-"+macHex+".xml") {
		t.Errorf("provisioned user %q from %q, want 4001 from the MAC file", res.User, res.File)
	}
}

// TestDHCPNetnsChild is the client side of TestDHCPProvisioningNetns,
// run by it inside the client namespace; otherwise it skips.
func TestDHCPNetnsChild(t *testing.T) {
	iface := os.Getenv(envDHCPChild)
	if iface == "" {
		t.Skip("run by TestDHCPProvisioningNetns")
	}
	res := childResult{}
	defer func() {
		b, _ := json.Marshal(res)
		fmt.Printf("RESULT %s\n", b)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := system.ConfigureDHCP(ctx, iface)
	if err != nil {
		res.Err = err.Error()
		return
	}
	res.Addr = st.Addr.String()
	servers, err := ServerFromDHCP(st.Options)
	if err != nil {
		res.Err = err.Error()
		return
	}
	for _, u := range servers {
		res.Servers = append(res.Servers, u.String())
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		res.Err = err.Error()
		return
	}
	cur := &store{cur: config.Default(2)}
	// The lease names a TFTP server: plain, so it needs the opt-in.
	cur.cur.Provisioning = &config.Provisioning{AllowInsecure: "true"}
	p := New(Options{Identity: Identity{MAC: ifc.HardwareAddr, Model: "loopstart-sim", Version: "test"},
		Current: cur.Current, Apply: cur.Apply, Fetcher: &Fetcher{Timeout: 5 * time.Second},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	p.SetDHCPServers(servers)
	if err := p.Sync(ctx); err != nil {
		res.Err = err.Error()
		return
	}
	res.File = p.Status().LastFile
	res.User = cur.Current().Account("1").User
}

// isMountPoint reports whether dir is a mount point of this mount
// namespace (from /proc/self/mountinfo's fifth field).
func isMountPoint(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}
