package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The NAT lab: three namespaces, a "WAN" with Kamailio and SIPp, a router
// that masquerades the "LAN" behind its WAN address with a fresh random
// port for each new flow and forwards nothing from the WAN that it did not
// see go out, and a "LAN" with two gateways. Both UDP conntrack timeouts
// in the router are 20 s.
const (
	natWANIP    = "10.201.0.1"
	natRouterIP = "10.201.0.2" // the LAN's public address
	natLANIP    = "10.201.1.2"
)

type natLab struct {
	wan, router, lan *NetNS
}

func startNATLab(t *testing.T) *natLab {
	t.Helper()
	NeedRoot(t)
	tag := fmt.Sprintf("%d", os.Getpid()%100000)
	l := &natLab{
		wan:    AddNetNS(t, "lsnat-w"+tag),
		router: AddNetNS(t, "lsnat-r"+tag),
		lan:    AddNetNS(t, "lsnat-l"+tag),
	}
	Link(t, l.router, "wan0", natRouterIP+"/24", l.wan, "eth0", natWANIP+"/24")
	Link(t, l.router, "lan0", "10.201.1.1/24", l.lan, "eth0", natLANIP+"/24")
	l.lan.Sh(t, "ip", "route", "add", "default", "via", "10.201.1.1")
	l.router.Sh(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	rules := filepath.Join(t.TempDir(), "nat.nft")
	if err := os.WriteFile(rules, []byte(`table ip lsnat {
	chain masq {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade fully-random
	}
	chain lanonly {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan0" oifname "wan0" accept
	}
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	l.router.Sh(t, "nft", "-f", rules)
	// The conntrack sysctls exist once the NAT loaded conntrack.
	l.router.Sh(t, "sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=20", "net.netfilter.nf_conntrack_udp_timeout_stream=20")
	return l
}

// natConfig is one account behind the NAT with keep-alive seconds.
func natConfig(k *Kamailio, user, password string, keepAlive int) string {
	return fmt.Sprintf(`<loopstart>
  <account id="1"><registrar>sip:%s</registrar><user>%s</user><password>%s</password><keep-alive>%d</keep-alive></account>
  <port n="1" account="1"/>
</loopstart>
`, k.Addr, user, password, keepAlive)
}

// registeredAt returns the host:port of user's Contact in Kamailio's
// location table ("" when it has none).
func registeredAt(t *testing.T, k *Kamailio, user string) string {
	t.Helper()
	locs, err := k.Locations()
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(locs, "AoR: "+user)
	if !ok {
		return ""
	}
	if next := strings.Index(rest, "AoR: "); next >= 0 {
		rest = rest[:next]
	}
	m := regexp.MustCompile(`Address: sips?:[^@>;\s]+@([^>;\s]+)`).FindAllStringSubmatch(rest, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// natCall has SIPp in the WAN call user through Kamailio and reports
// whether phone 1 of g rang within 8 s; a ringing phone is answered and
// the call completed (SIPp's BYE).
func natCall(t *testing.T, l *natLab, k *Kamailio, g *Gateway, user string) bool {
	t.Helper()
	dir := t.TempDir()
	sf := filepath.Join(dir, "call.xml")
	if err := os.WriteFile(sf, []byte(edgeRelayedXML), 0o644); err != nil {
		t.Fatal(err)
	}
	p := l.wan.Start(t, dir, "sipp", k.Addr, "-sf", sf, "-s", user, "-i", natWANIP, "-p", "5070", "-mp", "6000",
		"-m", "1", "-timeout", "25s", "-timeout_error", "-recv_timeout", "12000", "-nostdin")
	defer p.Stop()
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		if ph := g.Phone(t, 1); ph.Ringing || ph.Rings > 0 {
			g.Hook(t, 1, "off")
			waitExit(t, p, 20*time.Second)
			if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("sipp exit %d: the call to %s did not complete:\n%s", code, user, tail(p.Log(), 30))
			}
			g.Hook(t, 1, "on")
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// TestNATKeepAlive: behind a real NAT with 20 s UDP timeouts, an account
// with 15 s keep-alives registers its public address, follows a new
// public port after the router forgets its mappings, and still rings
// after 50 s idle; an account without keep-alives, on another gateway
// behind the same NAT, does not: the NAT is real.
func TestNATKeepAlive(t *testing.T) {
	l := startNATLab(t)
	k := StartKamailioIn(t, l.wan, natWANIP, 5060, KamailioOpts{})
	g1 := StartGatewayIn(t, l.lan, natLANIP+":5062", natConfig(k, "1001", "secret1", 15))
	g2 := StartGatewayIn(t, l.lan, natLANIP+":5064", natConfig(k, "1002", "secret2", 0))
	waitRegistered(t, g1, "1")
	waitRegistered(t, g2, "1")
	var first string
	Eventually(t, 10*time.Second, "1001 registered at its public address", func() error {
		if first = registeredAt(t, k, "1001"); !strings.HasPrefix(first, natRouterIP+":") {
			return fmt.Errorf("1001 registered at %q, want %s:port", first, natRouterIP)
		}
		return nil
	})
	if at := registeredAt(t, k, "1002"); !strings.HasPrefix(at, natRouterIP+":") {
		t.Errorf("1002 registered at %q, want its public address %s:port", at, natRouterIP)
	}

	// The router forgets every mapping: the next keep-alive leaves from
	// a new public port, and the registration follows it.
	l.router.Sh(t, "conntrack", "-F")
	Eventually(t, 25*time.Second, "1001's registration follows its new public port", func() error {
		if at := registeredAt(t, k, "1001"); at == first || !strings.HasPrefix(at, natRouterIP+":") {
			return fmt.Errorf("1001 still registered at %q", at)
		}
		return nil
	})
	t.Logf("public address of 1001: %s, after the flush %s", first, registeredAt(t, k, "1001"))

	time.Sleep(50 * time.Second) // idle: 2.5 times the 20 s mappings, which lapse unless kept
	if !natCall(t, l, k, g1, "1001") {
		t.Errorf("after 50 s idle with keep-alives, a call to 1001 did not ring the phone\n%s", tail(g1.Log(), 30))
	}
	if natCall(t, l, k, g2, "1002") {
		t.Errorf("after 50 s idle without keep-alives a call to 1002 rang: the NAT let it in, so the test proves nothing")
	}
	if n := strings.Count(g1.Log(), "sip public address changed"); n < 2 {
		t.Errorf("gateway 1 logged %d public address changes, want at least 2 (first registration, flush)", n)
	}
}
