package gateway_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// silentRegistrar is a UDP socket that takes REGISTERs and never answers.
func silentRegistrar(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return "sip:" + c.LocalAddr().String()
}

// extensionRig is a gateway whose ports 1 and 2 have extensions 100 and
// 200 and accounts 1001 and 1002 at registrar (which never helps).
func extensionRig(t *testing.T, registrar string) *rig {
	t.Helper()
	return newRigWith(t,
		[]sip.Account{{ID: "1", User: "1001", Password: "secret1", Registrar: registrar},
			{ID: "2", User: "1002", Password: "secret2", Registrar: registrar}},
		[]gateway.PortConfig{{N: 1, Account: "1", DigitMap: "(x00)", Extension: "100"},
			{N: 2, Account: "2", DigitMap: "(x00)", Extension: "200"}})
}

// TestExtensionCall: port 1 dials port 2's extension; the call goes
// through the gateway's own SIP stack although the accounts' registrar does
// not answer (or is not there): port 2 rings, answers, audio flows both
// ways, and hanging up ends it on both.
func TestExtensionCall(t *testing.T) {
	for _, tc := range []struct {
		name      string
		registrar func(t *testing.T) string
	}{
		{"silent registrar", silentRegistrar},
		{"absent registrar", func(t *testing.T) string { return "sip:" + freeUDP(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := extensionRig(t, tc.registrar(t))
			p1, p2 := r.phone(1), r.phone(2)
			must(t, p1.SetHook("off"))
			r.waitState(1, "dialtone")
			must(t, p1.Dial("200", "dtmf"))
			r.eventually("phone 2 rings", func() error {
				if !p2.State().Ringing {
					return fmt.Errorf("not ringing; port 1 %s", r.state(1))
				}
				return nil
			})
			r.waitState(1, "ringback")
			must(t, p2.SetHook("off"))
			r.waitState(1, "talking")
			r.waitState(2, "talking")
			must(t, p1.Say([]float64{1000}, -12))
			must(t, p2.Say([]float64{700}, -12))
			r.waitHears(2, 1000)
			r.waitHears(1, 700)
			if a := r.gw.Status().Accounts[0]; a.State == "registered" {
				t.Errorf("account 1 registered at a registrar that never answers: %+v", a)
			}
			must(t, p1.SetHook("on"))
			r.waitState(1, "idle")
			r.waitState(2, "reorder")
			must(t, p2.SetHook("on"))
			r.waitState(2, "idle")
		})
	}
}

// TestOwnExtension: a port dialing its own extension gets reorder tone,
// like an unknown extension, and rings nothing.
func TestOwnExtension(t *testing.T) {
	r := extensionRig(t, silentRegistrar(t))
	p1 := r.phone(1)
	must(t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	must(t, p1.Dial("100", "dtmf"))
	r.waitState(1, "reorder")
	r.waitHears(1, 620)
	if st := r.phone(2).State(); st.Ringing || st.Rings > 0 {
		t.Errorf("phone 2 rang: %+v", st)
	}
}

// TestExtensionConfigErrors: New and CheckConfig refuse a duplicate
// extension and an extension on a port without an account.
func TestExtensionConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ports []gateway.PortConfig
	}{
		{"duplicate", []gateway.PortConfig{{N: 1, Account: "1", Extension: "200"}, {N: 2, Account: "2", Extension: "200"}}},
		{"no account", []gateway.PortConfig{{N: 1, Extension: "100"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := simboard.New(simboard.Opts{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			cfg := gateway.Config{Board: &b.Board, Ports: tc.ports,
				SIP: sip.Config{Listen: freeUDP(t), Accounts: []sip.Account{{ID: "1", User: "101"}, {ID: "2", User: "102"}}}}
			if err := gateway.CheckConfig(cfg); err == nil || !strings.Contains(err.Error(), "extension") {
				t.Errorf("CheckConfig: %v", err)
			}
			if _, err := gateway.New(cfg); err == nil {
				t.Fatal("New accepted")
			}
		})
	}
}

// TestGhostInvite: an INVITE for port 1's account from an address that is
// not its registrar gets 404 like any unknown user, and no phone rings.
func TestGhostInvite(t *testing.T) {
	r := extensionRig(t, silentRegistrar(t))
	// The loop starts after the UA listens.
	r.eventually("loop running", func() error {
		if !r.gw.Status().Loop.Running {
			return fmt.Errorf("not running")
		}
		return nil
	})
	c, err := net.Dial("udp4", r.gw.UA().Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	msg := fmt.Sprintf("INVITE sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ghost\r\n"+
		"From: <sip:ghost@example.net>;tag=g1\r\nTo: <sip:1001@example.net>\r\nCall-ID: ghost@test\r\n"+
		"CSeq: 1 INVITE\r\nContact: <sip:ghost@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n"+
		"Content-Length: %d\r\n\r\n%s", r.gw.UA().Addr(), c.LocalAddr(), c.LocalAddr(), len(sdp), sdp)
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if line, _, _ := strings.Cut(string(buf[:n]), "\r\n"); line != "SIP/2.0 404 Not Found" {
		t.Fatalf("ghost INVITE answered %q, want 404 Not Found", line)
	}
	time.Sleep(100 * time.Millisecond)
	if st := r.phone(1).State(); st.Ringing || st.Rings > 0 || r.state(1) != "idle" {
		t.Errorf("port 1 %s, phone %+v", r.state(1), st)
	}
}
