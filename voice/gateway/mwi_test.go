package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	simboard "github.com/loopstart/loopstart/board/sim"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

func mwiOf(gw *gateway.Gateway) map[int]bool {
	m := map[int]bool{}
	for _, p := range gw.Status().Ports {
		m[p.Port] = p.MWI
	}
	return m
}

func TestSetMessageWaiting(t *testing.T) {
	r := newRig(t)
	r.eventually("the loop running", func() error {
		if !r.gw.Status().Loop.Running {
			return errors.New("not yet")
		}
		return nil
	})
	for _, tt := range []struct {
		account string
		on      bool
		ok      bool
		want    map[int]bool
	}{
		{"1", true, true, map[int]bool{1: true, 2: false}},
		{"2", true, true, map[int]bool{1: true, 2: true}},
		{"1", false, true, map[int]bool{1: false, 2: true}},
		{"9", true, false, map[int]bool{1: false, 2: true}},
	} {
		if ok := r.gw.SetMessageWaiting(tt.account, tt.on); ok != tt.ok {
			t.Errorf("SetMessageWaiting(%s, %v) = %v, want %v", tt.account, tt.on, ok, tt.ok)
		}
		if got := mwiOf(r.gw); got[1] != tt.want[1] || got[2] != tt.want[2] {
			t.Errorf("after account %s %v: ports %v, want %v", tt.account, tt.on, got, tt.want)
		}
	}
}

func TestMessageWaitingAtStart(t *testing.T) {
	clock := &simpcm.VirtualClock{}
	b, err := simboard.New(simboard.Opts{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw, err := gateway.New(gateway.Config{
		Board: &b.Board,
		SIP: sip.Config{Listen: freeUDP(t), Logger: log,
			Accounts: []sip.Account{{ID: "1", User: "101"}, {ID: "2", User: "102"}}},
		Ports:          []gateway.PortConfig{{N: 1, Account: "1"}, {N: 2, Account: "2"}},
		Logger:         log,
		MessageWaiting: func(id string) bool { return id == "2" },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mwiOf(gw); got[1] || !got[2] {
		t.Errorf("ports at start %v, want only port 2 waiting", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	clock.Release()
	_ = gw.Run(ctx)
}
