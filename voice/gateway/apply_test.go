package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// supConfig is a direct-mode config whose ports answer to users u1 and u2.
func supConfig(b *simboard.Board, listen, u1, u2 string) gateway.Config {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return gateway.Config{
		Board: &b.Board,
		SIP: sip.Config{Listen: listen, UserAgent: "loopstart-test", Logger: log, Accounts: []sip.Account{
			{ID: "1", User: u1}, {ID: "2", User: u2},
		}},
		Ports:  []gateway.PortConfig{{N: 1, Account: "1"}, {N: 2, Account: "2"}},
		Logger: log,
	}
}

func users(s *gateway.Supervisor) string {
	var u []string
	for _, a := range s.Status().Accounts {
		u = append(u, a.User)
	}
	return strings.Join(u, ",")
}

func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSupervisorApply: a changed config waits while a phone is off hook,
// then the gateway is rebuilt on the same board and carries a call with
// the new numbers; configs the gateway cannot run change nothing.
func TestSupervisorApply(t *testing.T) {
	b, err := simboard.New(simboard.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	listen := freeUDP(t)
	sup, err := gateway.NewSupervisor(supConfig(b, listen, "101", "102"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("supervisor: %v", err)
		}
		b.Close()
	})
	waitFor(t, "loop running", func() error {
		if !sup.Status().Loop.Running {
			return fmt.Errorf("not running")
		}
		return nil
	})
	short := func() context.Context {
		c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}

	// The same config: applied at once, no restart.
	res, err := sup.Apply(short(), supConfig(b, listen, "101", "102"))
	if err != nil || !res.Applied || sup.Swaps() != 0 {
		t.Fatalf("same config: %+v %v swaps %d", res, err, sup.Swaps())
	}
	// Configs the gateway cannot run.
	for name, mod := range map[string]func(*gateway.Config){
		"no such port":  func(c *gateway.Config) { c.Ports[1].N = 7 },
		"bad dial plan": func(c *gateway.Config) { c.Ports[0].DigitMap = "(1xx" },
		"bad country":   func(c *gateway.Config) { c.Ports[0].Country = "xx" },
		"duplicate id":  func(c *gateway.Config) { c.SIP.Accounts[1].ID = "1" },
	} {
		c := supConfig(b, listen, "201", "202")
		mod(&c)
		if _, err := sup.Apply(short(), c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if sup.Swaps() != 0 || users(sup) != "101,102" {
		t.Fatalf("a refused config changed the gateway: swaps %d users %s", sup.Swaps(), users(sup))
	}

	// Phone 1 off hook: the change waits.
	p1, _ := b.Phone(1)
	p2, _ := b.Phone(2)
	must(t, p1.SetHook("off"))
	waitFor(t, "dial tone", func() error {
		if s := sup.Status().Ports[0].State; s != "dialtone" {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
	res, err = sup.Apply(short(), supConfig(b, listen, "201", "202"))
	if err != nil || res.Applied || !strings.Contains(res.Pending, "port 1") {
		t.Fatalf("busy: %+v %v", res, err)
	}
	time.Sleep(300 * time.Millisecond)
	if sup.Swaps() != 0 || users(sup) != "101,102" {
		t.Fatalf("swapped while busy: users %s", users(sup))
	}
	must(t, p1.SetHook("on"))
	waitFor(t, "new config in force", func() error {
		if u := users(sup); u != "201,202" {
			return fmt.Errorf("users %s", u)
		}
		return nil
	})

	// The rebuilt gateway carries a call to the new number.
	must(t, p1.SetHook("off"))
	waitFor(t, "dial tone", func() error {
		if s := sup.Status().Ports[0].State; s != "dialtone" {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
	must(t, p1.Dial("202#", "dtmf"))
	waitFor(t, "phone 2 rings", func() error {
		if !p2.State().Ringing {
			return fmt.Errorf("not ringing; port 1 %s", sup.Status().Ports[0].State)
		}
		return nil
	})
	must(t, p1.SetHook("on"))
}
