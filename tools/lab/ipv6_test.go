package lab

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestInteropIPv6: the gateway on [::1] registers both ports at Kamailio
// listening on [::1] (registrar given as an IPv6 literal), phone 1 calls
// phone 2 through it, audio crosses both ways over RTP on IPv6, and the hang-up ends the call. Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run 'TestInteropIPv6' ./tools/lab/
func TestInteropIPv6(t *testing.T) {
	Need(t, "kamailio", "kamcmd")
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("SKIP: no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	k := StartKamailio(t, KamailioOpts{IPv6: true})
	sip := fmt.Sprintf("[::1]:%d", FreePort(t, 2))
	g := StartGateway(t, GatewayOpts{Config: ContractConfig(k.Addr6), Args: []string{"--sip", sip}})
	for _, id := range []string{"1", "2"} {
		Eventually(t, 15*time.Second, "account "+id+" registered over IPv6", func() error {
			if a := g.Account(t, id); a.State != "registered" {
				return fmt.Errorf("state %q (%s)", a.State, a.LastError)
			}
			return nil
		})
	}
	locs, err := k.Locations()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(locs, "[::1]") {
		t.Errorf("Kamailio's location table has no IPv6 contact:\n%s", locs)
	}
	g.OffHookAndDial(t, 1, "1002#")
	Eventually(t, 10*time.Second, "phone 2 rings", func() error {
		if !g.Phone(t, 2).Ringing {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	g.Hook(t, 2, "off")
	g.Say(t, 1, []float64{600}, -12)
	g.Say(t, 2, []float64{1000}, -12)
	g.WaitHears(t, 2, 10*time.Second, "phone 2 hears phone 1 over IPv6", 600)
	g.WaitHears(t, 1, 10*time.Second, "phone 1 hears phone 2 over IPv6", 1000)
	for _, n := range []int{1, 2} {
		c := g.PortStatus(t, n).Call
		if c == nil || !strings.HasPrefix(c.LocalRTP, "[::1]:") || !strings.HasPrefix(c.RemoteRTP, "[::1]:") {
			t.Errorf("port %d call media %+v, want RTP between [::1] addresses", n, c)
		}
	}
	g.Hook(t, 1, "on")
	Eventually(t, 10*time.Second, "phone 2's call ends", func() error {
		if st := g.PortStatus(t, 2).State; st == "talking" {
			return fmt.Errorf("port 2 %s", st)
		}
		return nil
	})
}
