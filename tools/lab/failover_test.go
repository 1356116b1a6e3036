package lab

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startDNS runs dnsmasq on 127.0.0.1:port answering only for pbx.lab:
// SRV _sip._udp.pbx.lab → k1.pbx.lab:p1 (priority 10), k2.pbx.lab:p2
// (priority 20), both hosts 127.0.0.1. It forwards nothing anywhere.
func startDNS(t *testing.T, port, p1, p2 int) *Proc {
	t.Helper()
	Need(t, "dnsmasq")
	dir := t.TempDir()
	p := Start(t, dir, "dnsmasq", "--keep-in-foreground", "--log-facility=-", "--log-queries",
		"--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll", "--pid-file=", "--user=root",
		"--bind-interfaces", "--listen-address=127.0.0.1", fmt.Sprintf("--port=%d", port),
		"--host-record=k1.pbx.lab,127.0.0.1", "--host-record=k2.pbx.lab,127.0.0.1",
		fmt.Sprintf("--srv-host=_sip._udp.pbx.lab,k1.pbx.lab,%d,10,10", p1),
		fmt.Sprintf("--srv-host=_sip._udp.pbx.lab,k2.pbx.lab,%d,20,10", p2))
	Eventually(t, 5*time.Second, "dnsmasq answers", func() error {
		if p.Exited() {
			t.Fatalf("dnsmasq exited:\n%s", p.Log())
		}
		if !strings.Contains(p.Log(), "started") {
			return fmt.Errorf("not started:\n%s", p.Log())
		}
		return nil
	})
	return p
}

// pbxName makes both Kamailio instances one service, pbx.lab: they take
// it as their own name and record-route with it, so a dialog's requests
// can go through either.
var pbxName = []string{"record_route();", `record_route_preset("pbx.lab");`, "auto_aliases=no", "auto_aliases=no\nalias=pbx.lab"}

func registeredIn(k *Kamailio, user string) error {
	ok, err := k.Registered(user)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s not in %s's location table", user, k.Addr)
	}
	return nil
}

// TestFailoverSRV: the registrar is a domain whose SRV records name two
// Kamailio instances, resolved at the lab's own dnsmasq. The gateway
// registers at the preferred one; a call runs through it; the primary is
// killed mid-call: the call's audio goes on, the registration is at the
// secondary within 10 s, the phone can hold the call and take it back
// (re-INVITEs through the secondary), and hang up. When the primary
// returns the registration goes back to it. The account keeps the default
// NAT keep-alive (25 s): the 5 s failover probe of a registration with
// another target is what notices the loss.
func TestFailoverSRV(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip", "dnsmasq")
	base := FreePort(t, 3)
	p1, p2, dnsPort := base, base+1, base+2
	dns := startDNS(t, dnsPort, p1, p2)
	k1 := StartKamailioIn(t, nil, "127.0.0.1", p1, KamailioOpts{}, pbxName...)
	k2 := StartKamailioIn(t, nil, "127.0.0.1", p2, KamailioOpts{}, pbxName...)
	wav := filepath.Join(t.TempDir(), "tone1000.wav")
	if err := WriteToneWAV(wav, 1000, -12, 120); err != nil {
		t.Fatal(err)
	}
	b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k1.Addr, SourceWAV: wav,
		DNS: fmt.Sprintf("127.0.0.1:%d", dnsPort)})
	g := StartGateway(t, GatewayOpts{Config: fmt.Sprintf(`<loopstart>
  <sip><dns>127.0.0.1:%d</dns></sip>
  <account id="1"><registrar>sip:pbx.lab</registrar><user>1001</user><password>secret1</password></account>
  <port n="1" account="1"/>
</loopstart>
`, dnsPort)})
	Eventually(t, 10*time.Second, "1001 registered at the primary", func() error { return registeredIn(k1, "1001") })
	if registeredIn(k2, "1001") == nil {
		t.Errorf("1001 registered at the secondary too while the primary answers")
	}
	if !strings.Contains(dns.Log(), "_sip._udp.pbx.lab") {
		t.Errorf("the gateway never asked the lab's DNS for the SRV records:\n%s", tail(dns.Log(), 20))
	}

	// A call through the primary.
	if err := b.Command("dial", "sip:1001@"+k1.Addr); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "phone 1 rings", func() error {
		if p := g.Phone(t, 1); !p.Ringing {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	g.Hook(t, 1, "off")
	b.WaitEvent(t, "CALL_ESTABLISHED", 0, 10*time.Second, "the call is up")
	g.WaitHears(t, 1, 5*time.Second, "phone 1 hears baresip's 1000 Hz", 1000)

	// The primary dies mid-call.
	k1.Stop()
	lost := time.Now()
	Eventually(t, 10*time.Second, "1001 registered at the secondary within 10 s", func() error { return registeredIn(k2, "1001") })
	t.Logf("registered at the secondary %.1f s after the primary died", time.Since(lost).Seconds())
	packets := g.callStats(t, 1).PacketsReceived
	g.WaitHears(t, 1, 3*time.Second, "phone 1 still hears baresip's 1000 Hz", 1000)
	g.WaitCallMedia(t, 1, packets+100, 5*time.Second)

	// The phone holds baresip (flash: a re-INVITE sendonly) and takes it
	// back (flash again): the re-INVITEs' first hop, pbx.lab, fails over
	// to the secondary, and their ACKs follow the address that answered.
	reinvites := strings.Count(g.Log(), "sip re-invite answered")
	g.Hook(t, 1, "flash")
	g.WaitHears(t, 1, 10*time.Second, "second dial tone while baresip is held", 350, 440)
	Eventually(t, 15*time.Second, "baresip answers the hold through the secondary", func() error {
		log := g.Log()
		if n := strings.Count(log, "sip re-invite answered"); n <= reinvites || !strings.Contains(log, "far_direction=recvonly") {
			return fmt.Errorf("%d re-INVITEs answered (before the hold %d)", n, reinvites)
		}
		return nil
	})
	g.Hook(t, 1, "flash")
	g.WaitHears(t, 1, 15*time.Second, "phone 1 hears baresip again after the resume", 1000)
	packets = g.callStats(t, 1).PacketsReceived
	g.WaitCallMedia(t, 1, packets+100, 10*time.Second)

	// The phone hangs up: the BYE's first hop, pbx.lab, fails over to
	// the secondary, which relays it to baresip.
	closed := b.EventCount("CALL_CLOSED")
	g.Hook(t, 1, "on")
	g.WaitIdle(t, 1)
	b.WaitEvent(t, "CALL_CLOSED", closed, 15*time.Second, "baresip sees the phone's BYE through the secondary")

	// The primary comes back on its address: the registration returns.
	k1b := StartKamailioIn(t, nil, "127.0.0.1", p1, KamailioOpts{}, pbxName...)
	back := time.Now()
	Eventually(t, 15*time.Second, "1001 back at the primary", func() error { return registeredIn(k1b, "1001") })
	t.Logf("back at the primary %.1f s after it returned", time.Since(back).Seconds())
	if a := g.Account(t, "1"); a.State != "registered" {
		t.Errorf("account state %q (%s) after the fail-back", a.State, a.LastError)
	}
}

// TestOutboundProxyKamailio: an account whose registrar's name resolves
// nowhere (the lab's DNS knows nothing of pbx.invalid) registers, calls and
// is called through its outbound proxy, Kamailio, by loose routing.
func TestOutboundProxyKamailio(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip", "dnsmasq")
	dnsPort := FreePort(t, 1)
	startDNS(t, dnsPort, 9, 9) // knows nothing of pbx.invalid: no query leaves the lab
	k := StartKamailio(t, KamailioOpts{})
	wav := filepath.Join(t.TempDir(), "tone1000.wav")
	if err := WriteToneWAV(wav, 1000, -12, 120); err != nil {
		t.Fatal(err)
	}
	b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.Addr, SourceWAV: wav})
	g := StartGateway(t, GatewayOpts{Config: fmt.Sprintf(`<loopstart>
  <sip><dns>127.0.0.1:%d</dns></sip>
  <account id="1"><registrar>sip:pbx.invalid</registrar><outbound-proxy>sip:%s</outbound-proxy><user>1001</user><password>secret1</password></account>
  <port n="1" account="1"/>
</loopstart>
`, dnsPort, k.Addr)})
	Eventually(t, 10*time.Second, "1001 registered through the proxy", func() error { return registeredIn(k, "1001") })

	// The phone calls baresip: the INVITE for sip:1003@pbx.invalid goes
	// through the proxy.
	closed := b.EventCount("CALL_CLOSED")
	g.OffHookAndDial(t, 1, "1003#")
	b.WaitEvent(t, "CALL_ESTABLISHED", 0, 10*time.Second, "baresip answers the phone's call")
	g.WaitHears(t, 1, 5*time.Second, "phone 1 hears baresip's 1000 Hz", 1000)
	g.Hook(t, 1, "on")
	b.WaitEvent(t, "CALL_CLOSED", closed, 5*time.Second, "baresip sees the BYE")
	g.WaitIdle(t, 1)

	// baresip calls the phone: the proxy's INVITE is trusted.
	if err := b.Command("dial", "sip:1001@"+k.Addr); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "phone 1 rings for the proxy's INVITE", func() error {
		if p := g.Phone(t, 1); !p.Ringing {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	if strings.Count(k.Log(), "REGISTER from 1001") == 0 {
		t.Errorf("Kamailio logged no REGISTER from 1001")
	}
}
