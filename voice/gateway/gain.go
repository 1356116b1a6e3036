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
