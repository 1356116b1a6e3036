package lab

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProvisionNotify: a check-sync NOTIFY relayed by Kamailio (answered
// with the account's credentials) makes the gateway fetch its profile, a
// Grandstream file on a real tftpd-hpa, at once; the same NOTIFY forged by
// a stranger straight to the gateway, and one relayed without credentials,
// change nothing.
func TestProvisionNotify(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "in.tftpd")
	k := StartKamailio(t, KamailioOpts{})
	dir, err := os.MkdirTemp("", "loopstart-notify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	runAs := "nobody"
	if u, err := user.Current(); err == nil && u.Uid != "0" {
		runAs = u.Username
	}
	tftpAddr := fmt.Sprintf("127.0.0.1:%d", FreePort(t, 1))
	Start(t, t.TempDir(), "in.tftpd", "--foreground", "--listen", "--address", tftpAddr, "--secure", "--user", runAs, dir)
	cfg := strings.Replace(ContractConfig(k.Addr), "</loopstart>",
		"<provisioning><url>tftp://"+tftpAddr+"/</url><interval>86400</interval></provisioning></loopstart>", 1)
	g := StartGateway(t, GatewayOpts{Config: cfg})
	tok := labLogin(t, g)
	Eventually(t, 10*time.Second, "1001 registered", func() error {
		if ok, err := k.Registered("1001"); err != nil || !ok {
			return fmt.Errorf("registered=%v err=%v", ok, err)
		}
		return nil
	})
	// The gateway's own first attempt comes at a random time within 30 s
	// of its start: ask for it now. It finds no file and waits 5 minutes;
	// only then is the profile written, so that nothing but the
	// check-sync can fetch it.
	g.authJSON(t, tok, "POST", "/api/provisioning/resync", nil)
	Eventually(t, 15*time.Second, "the first provisioning attempt fails for want of a file", func() error {
		if s := g.provStatus(t, tok); s.LastFailure.IsZero() {
			return fmt.Errorf("no failed attempt yet: %+v", s)
		}
		return nil
	})
	// The profile: port 1's dial plan, as a Grandstream file.
	writeProv(t, filepath.Join(dir, "cfg.xml"), gsWrap(`<P4200>{2xxx|*x+}</P4200>`))
	dialPlan := func() string {
		var c labConfig
		g.authJSON(t, tok, "GET", "/api/config", &c)
		return c.Port[0].DialPlan
	}
	applied := func() bool { return dialPlan() == "{2xxx|*x+}" }
	resyncs := func() int { return strings.Count(g.Log(), "resync asked by SIP NOTIFY") }

	contact := contactOf(t, k, "1001")
	peer := newNotifyPeer(t)
	// Forged: straight to the gateway from a stranger, and relayed
	// without credentials.
	if res := peer.notify(t, g.SIP, contact, "check-sync", "", ""); !strings.HasPrefix(res, "SIP/2.0 404") {
		t.Errorf("forged check-sync: %q", statusLine(res))
	}
	chal := peer.notify(t, k.Addr, "sip:1001@"+k.Addr, "check-sync", "", "")
	if !strings.HasPrefix(chal, "SIP/2.0 401") {
		t.Fatalf("relayed check-sync without credentials: %q", statusLine(chal))
	}
	time.Sleep(time.Second) // what a resync would take here, were one started
	if resyncs() != 0 {
		t.Fatalf("a forged or unanswered check-sync started a resync:\n%s", tail(g.Log(), 20))
	}
	// Relayed with the account's credentials: a resync, at once.
	right := credentials(t, chal, "SHA-256", contact, "1001", "secret1", 1)
	res := peer.notify(t, k.Addr, "sip:1001@"+k.Addr, "check-sync", "", right)
	if strings.HasPrefix(res, "SIP/2.0 401") {
		// A fresh challenge: the gateway's SIP stack restarted since the
		// first one (a configuration applied meanwhile), as a PBX meets
		// it; it answers that one, once.
		right = credentials(t, res, "SHA-256", contact, "1001", "secret1", 1)
		res = peer.notify(t, k.Addr, "sip:1001@"+k.Addr, "check-sync", "", right)
	}
	if !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("relayed check-sync with credentials: %q", statusLine(res))
	}
	Eventually(t, 10*time.Second, "the profile applied after check-sync", func() error {
		if !applied() {
			return fmt.Errorf("dial plan %q; provisioning %+v", dialPlan(), g.provStatus(t, tok))
		}
		return nil
	})
	if n := resyncs(); n != 1 {
		t.Errorf("%d resyncs asked, want 1", n)
	}
	if s := g.provStatus(t, tok); s.Format != "grandstream" || !strings.HasSuffix(s.LastFile, "/cfg.xml") {
		t.Errorf("provisioning status %+v", s)
	}
}
