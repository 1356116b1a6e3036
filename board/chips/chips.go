// Package chips adapts the chip drivers to the board interfaces the voice
// layer uses (board.FXS, board.FXO). It lives apart from package board so
// that the voice layer, which imports board for its interfaces, does not
// link the drivers.
package chips

import (
	"fmt"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/drivers/si3050"
	"github.com/loopstart/loopstart/drivers/si3215"
)

// si3050FXO adapts the Si3050 driver to board.FXO.
type si3050FXO struct{ dev *si3050.Dev }

// NewSi3050FXO returns dev as a board.FXO port.
func NewSi3050FXO(dev *si3050.Dev) board.FXO { return si3050FXO{dev: dev} }

// SetHook implements board.FXO.
func (f si3050FXO) SetHook(off bool) error { return f.dev.SetHook(off) }

// Poll implements board.FXO.
func (f si3050FXO) Poll(now time.Duration) (board.FXOStatus, error) {
	st, err := f.dev.Poll(now)
	return board.FXOStatus{
		OffHook: st.OffHook, Ringing: st.Ringing, Rings: st.Rings,
		LineVolts: st.LineVolts, LoopMA: st.LoopMA, Reversed: st.Reversed,
		Battery: st.Battery, InUse: st.InUse, Events: board.FXOEvent(st.Events),
	}, err
}

// si3215FXS adapts the Si3215 driver to board.FXS.
type si3215FXS struct{ dev *si3215.Dev }

// NewSi3215FXS returns dev as a board.FXS port.
func NewSi3215FXS(dev *si3215.Dev) board.FXS { return si3215FXS{dev: dev} }

var si3215Feeds = [...]si3215.Linefeed{
	board.FeedOpen:          si3215.LinefeedOpen,
	board.FeedForwardActive: si3215.LinefeedForwardActive,
	board.FeedForwardOHT:    si3215.LinefeedForwardOHT,
	board.FeedReverseActive: si3215.LinefeedReverseActive,
	board.FeedReverseOHT:    si3215.LinefeedReverseOHT,
}

// PollHook implements board.FXS.
func (f si3215FXS) PollHook(now time.Duration) (bool, error) { return f.dev.PollHook(now) }

// SetLinefeed implements board.FXS.
func (f si3215FXS) SetLinefeed(lf board.Linefeed) error {
	if lf < 0 || int(lf) >= len(si3215Feeds) {
		return fmt.Errorf("board: unknown linefeed %v", lf)
	}
	return f.dev.SetLinefeed(si3215Feeds[lf])
}

// SetRinging implements board.FXS.
func (f si3215FXS) SetRinging(on bool) error { return f.dev.SetRinging(on) }
