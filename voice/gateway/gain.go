package gateway

import (
	"fmt"

	"github.com/loopstart/loopstart/voice/media"
)

// checkGains reports a port's gain out of range.
func (pc PortConfig) checkGains() error {
	for _, g := range []struct {
		name string
		db   float64
	}{{"tx", pc.TXGain}, {"rx", pc.RXGain}} {
		if err := media.CheckGain(g.db); err != nil {
			return fmt.Errorf("gateway: port %d %s %w", pc.N, g.name, err)
		}
	}
	return nil
}

// setGains puts the port's gains on a call's media session.
func (pc PortConfig) setGains(sess *media.Session) {
	sess.TXGainDB, sess.RXGainDB = pc.TXGain, pc.RXGain
}

// chipGains is a line chip with digital gain stages (the Si3050 DAA):
// toLine on the audio it sends to the line, fromLine on what it captures.
type chipGains interface {
	SetGains(toLine, fromLine float64) error
}

// setChipGains sets the port's gains in dev's gain stages when it has
// them; it reports whether it did, so the media path leaves them out.
func (pc PortConfig) setChipGains(dev any) (bool, error) {
	cg, ok := dev.(chipGains)
	if !ok {
		return false, nil
	}
	if err := cg.SetGains(pc.RXGain, pc.TXGain); err != nil {
		return false, fmt.Errorf("gateway: port %d gains: %w", pc.N, err)
	}
	return true, nil
}
