package lab

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestKeepAlivePongKamailio: the gateway registers at Kamailio over TCP
// with 2 s keep-alives; Kamailio answers each CRLF ping with a pong, so
// the connection stays as it is. Then Kamailio freezes: our pings are
// still written (the kernel takes them) but no pong comes, and within
// the RFC 5626 wait the gateway takes the flow for dead, closes it and
// registers again on a new connection, which succeeds once Kamailio runs
// again. Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run 'TestKeepAlivePongKamailio' ./tools/lab/
func TestKeepAlivePongKamailio(t *testing.T) {
	Need(t, "kamailio", "kamcmd")
	k := StartKamailio(t, KamailioOpts{})
	g := StartGateway(t, GatewayOpts{Config: fmt.Sprintf(`<loopstart>
  <account id="1"><registrar>sip:%s</registrar><transport>tcp</transport><keep-alive>2</keep-alive><user>1001</user><password>secret1</password></account>
  <port n="1" account="1"/>
</loopstart>
`, k.Addr)})
	registered := func(what string, timeout time.Duration) {
		t.Helper()
		Eventually(t, timeout, what, func() error {
			if st := g.Account(t, "1").State; st != "registered" {
				return fmt.Errorf("account 1 %s", st)
			}
			return nil
		})
	}
	registered("registered over TCP", 20*time.Second)
	const lost = "sip registrar stopped answering keep-alives"
	// Answered pings: nothing happens to the connection.
	time.Sleep(8 * time.Second)
	if strings.Contains(g.Log(), lost) {
		t.Fatalf("the flow was taken for lost while Kamailio answered its pings:\n%s", tail(g.Log(), 30))
	}
	registered("still registered after 4 keep-alives", 5*time.Second)

	k.Freeze(t)
	frozen := time.Now()
	Eventually(t, 30*time.Second, "the gateway notices the missing pongs", func() error {
		if !strings.Contains(g.Log(), lost) {
			return fmt.Errorf("no %q in the log", lost)
		}
		return nil
	})
	t.Logf("flow taken for lost %.1f s after Kamailio froze", time.Since(frozen).Seconds())
	k.Thaw()
	registered("registered again on a new connection", 60*time.Second)
}
