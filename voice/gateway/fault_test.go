package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// TestFaultedPortsRun: a board whose ports are all out of service (chips
// silent, or no PCM highway) still makes a gateway that runs its loop and
// reports each port as "fault" with the reason.
func TestFaultedPortsRun(t *testing.T) {
	hwy := &counted{Highway: simpcm.New(simpcm.Opts{Slots: 2}), frames: make(chan struct{})}
	pcmDown := errors.New("pcm highway alsa:hw:0,0: silent")
	b := &board.Board{
		Name:    "dead",
		Highway: hwy,
		Ports: []board.Port{
			{N: 1, Kind: board.KindFXS, Slot: 0, Fault: pcmDown},
			{N: 2, Kind: board.KindFXO, Slot: 1, Fault: pcmDown},
		},
	}
	defer b.Highway.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw, err := gateway.New(gateway.Config{
		Board: b,
		SIP: sip.Config{Listen: freeUDP(t), UserAgent: "loopstart-test", Logger: log,
			Accounts: []sip.Account{{ID: "1", User: "101"}}},
		Ports:  []gateway.PortConfig{{N: 1, Account: "1"}},
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	select { // the loop runs on the dead board
	case <-hwy.frames:
	case <-time.After(10 * time.Second):
		t.Fatal("no frames")
	}
	st := gw.Status()
	if st.Loop.Ticks < 2 {
		t.Errorf("%d loop ticks", st.Loop.Ticks)
	}
	if len(st.Ports) != 2 {
		t.Fatalf("ports %+v", st.Ports)
	}
	for _, p := range st.Ports {
		if p.State != "fault" || !strings.Contains(p.Fault, "silent") {
			t.Errorf("port %d: state %q fault %q", p.Port, p.State, p.Fault)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not stop")
	}
}

// counted is a highway that closes frames after its third frame.
type counted struct {
	*simpcm.Highway
	n      int
	frames chan struct{}
}

func (c *counted) Exchange(ctx context.Context, tx, rx [][]int16) (uint64, time.Duration, error) {
	c.n++
	if c.n == 3 {
		close(c.frames)
	}
	return c.Highway.Exchange(ctx, tx, rx)
}
