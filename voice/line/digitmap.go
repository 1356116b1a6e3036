package line

import "github.com/loopstart/loopstart/voice/dialplan"

// DigitMap is a compiled dial plan (package dialplan): an MGCP digit map,
// a Cisco SPA or a Grandstream dial plan.
type DigitMap = dialplan.Map

// DigitMapError describes a dial plan syntax error and where it is.
type DigitMapError = dialplan.Error

// MatchResult is how a dialed string relates to a digit map.
type MatchResult = dialplan.MatchResult

// Match results (dialplan.MatchResult).
const (
	NoMatch   = dialplan.NoMatch
	Partial   = dialplan.Partial
	Ambiguous = dialplan.Ambiguous
	Complete  = dialplan.Complete
)

// Digit map limits (dialplan.MaxLen, dialplan.MaxElements).
const (
	MaxDigitMapLen = dialplan.MaxLen
	MaxMapElements = dialplan.MaxElements
)

// ErrDigitMapSyntax is wrapped by every error ParseDigitMap returns.
var ErrDigitMapSyntax = dialplan.ErrSyntax

// ParseDigitMap compiles a dial plan in any syntax dialplan.Parse knows.
func ParseDigitMap(s string) (*DigitMap, error) { return dialplan.Parse(s) }
