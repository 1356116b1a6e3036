package si3215

import "strconv"

// Linefeed is the LF[2:0] field of register 64: the DC feed state of the line.
// Bit 2 selects reverse polarity for the active and OHT states.
type Linefeed uint8

// Linefeed states, with their register codes.
const (
	// LinefeedOpen removes battery: the phone sees a dead line.
	LinefeedOpen Linefeed = 0
	// LinefeedForwardActive is talk battery, tip positive.
	LinefeedForwardActive Linefeed = 1
	// LinefeedForwardOHT is on-hook transmission (audio to an on-hook phone,
	// for caller ID), forward polarity.
	LinefeedForwardOHT Linefeed = 2
	// LinefeedTipOpen leaves ring fed and tip open (ground start).
	LinefeedTipOpen Linefeed = 3
	// LinefeedRinging applies ringing voltage from the ringing oscillator.
	LinefeedRinging Linefeed = 4
	// LinefeedReverseActive is talk battery with tip and ring swapped.
	LinefeedReverseActive Linefeed = 5
	// LinefeedReverseOHT is on-hook transmission with reversed polarity.
	LinefeedReverseOHT Linefeed = 6
	// LinefeedRingOpen leaves tip fed and ring open.
	LinefeedRingOpen Linefeed = 7
)

var linefeedNames = [8]string{
	"open", "forward-active", "forward-oht", "tip-open",
	"ringing", "reverse-active", "reverse-oht", "ring-open",
}

// String returns the state's name.
func (l Linefeed) String() string {
	if int(l) < len(linefeedNames) {
		return linefeedNames[l]
	}
	return "linefeed(" + strconv.Itoa(int(l)) + ")"
}
