package line

import (
	"errors"
	"fmt"
)

// Digit map limits.
const (
	// MaxDigitMapLen is the longest digit map source ParseDigitMap accepts.
	MaxDigitMapLen = 4096
	// MaxMapElements is the most elements one alternative of a digit map may
	// have (the matcher keeps its positions in a 64-bit set).
	MaxMapElements = 63
)

// ErrDigitMapSyntax is wrapped by every error ParseDigitMap returns; the
// concrete error is a *DigitMapError carrying the position.
var ErrDigitMapSyntax = errors.New("digit map syntax error")

// DigitMapError describes a digit map syntax error and where it is.
type DigitMapError struct {
	// Pos is the byte offset (from 0) in the source where the error was found.
	Pos int
	// Msg says what is wrong there.
	Msg string
}

// Error formats the error with its 1-based column, as a user reads it.
func (e *DigitMapError) Error() string {
	return fmt.Sprintf("digit map: column %d: %s", e.Pos+1, e.Msg)
}

// Unwrap returns ErrDigitMapSyntax.
func (e *DigitMapError) Unwrap() error { return ErrDigitMapSyntax }

// MatchResult is how a dialed string relates to a digit map.
type MatchResult int

// Match results.
const (
	// NoMatch: no alternative can match the digits, whatever follows.
	NoMatch MatchResult = iota
	// Partial: the digits are a proper prefix of some alternative's match and
	// complete for none: keep collecting (long inter-digit timer).
	Partial
	// Ambiguous: the digits are a complete match of some alternative and a
	// prefix of a longer match: wait a little for more (short timer).
	Ambiguous
	// Complete: the digits are a complete match and nothing longer can match:
	// dial now.
	Complete
)

// String names the result.
func (r MatchResult) String() string {
	switch r {
	case NoMatch:
		return "nomatch"
	case Partial:
		return "partial"
	case Ambiguous:
		return "ambiguous"
	case Complete:
		return "complete"
	}
	return fmt.Sprintf("matchresult(%d)", int(r))
}

// Symbols a digit map element can match, as bit numbers of symMask.
const (
	symStar  = 10
	symHash  = 11
	anyDigit = symMask(1<<10 - 1)
)

// symMask is a set of keypad symbols: bits 0-9 the digits, 10 '*', 11 '#'.
type symMask uint16

// symbol returns the bit number of a keypad key, or -1.
func symbol(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c == '*':
		return symStar
	case c == '#':
		return symHash
	}
	return -1
}

// element is one position of an alternative: the keys it accepts and
// whether it repeats (a following '.').
type element struct {
	mask   symMask
	repeat bool
}

// DigitMap is a compiled dial plan: a set of alternatives, each a sequence of
// elements, in the Cisco SPA / MGCP style subset:
//
//	(0|911|[2-9]xxxxxx|1[2-9]xx[2-9]xxxxxx|011x.|*xx)
//
// Alternatives are separated by '|' and the whole map may be wrapped in
// parentheses. Elements are the keys 0-9, '*' and '#', 'x' (or 'X') for any
// digit 0-9, and sets such as [2-9], [135] or [13-5*]. A '.' repeats the
// element before it zero or more times, so "01." matches 0, 01, 011, ...
// Spaces and tabs are ignored. Substitutions (<a:b>), in-plan timers (S0,
// L0, T), pauses and the bar '!' are not supported and are reported as
// errors. A DigitMap is immutable and safe for concurrent use.
type DigitMap struct {
	src   string
	elems []element // all alternatives back to back
	ends  []int     // ends[i] is the end of alternative i in elems
}

// ParseDigitMap compiles a digit map. Errors are *DigitMapError values (wrapping
// ErrDigitMapSyntax) that give the position of the problem.
func ParseDigitMap(s string) (*DigitMap, error) {
	if len(s) > MaxDigitMapLen {
		return nil, &DigitMapError{Pos: MaxDigitMapLen, Msg: fmt.Sprintf("longer than %d bytes", MaxDigitMapLen)}
	}
	p := mapParser{src: s}
	return p.parse()
}

type mapParser struct {
	src string
	pos int
	m   DigitMap
}

func (p *mapParser) errf(pos int, format string, args ...any) error {
	return &DigitMapError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *mapParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *mapParser) parse() (*DigitMap, error) {
	p.m.src = p.src
	p.skipSpace()
	if p.pos == len(p.src) {
		return nil, p.errf(p.pos, "empty digit map")
	}
	paren := false
	open := p.pos
	if p.src[p.pos] == '(' {
		paren = true
		p.pos++
	}
	for {
		if err := p.alternative(); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos == len(p.src) {
			if paren {
				return nil, p.errf(open, "'(' is never closed")
			}
			break
		}
		c := p.src[p.pos]
		if c == '|' {
			p.pos++
			continue
		}
		if c == ')' {
			if !paren {
				return nil, p.errf(p.pos, "')' without '('")
			}
			p.pos++
			p.skipSpace()
			if p.pos != len(p.src) {
				return nil, p.errf(p.pos, "unexpected %s after ')'", quoteByte(p.src[p.pos]))
			}
			break
		}
		// alternative() stops only at '|', ')' or the end.
		return nil, p.errf(p.pos, "unexpected %s", quoteByte(c))
	}
	m := p.m
	return &m, nil
}

// alternative parses one sequence of elements up to '|', ')' or the end.
func (p *mapParser) alternative() error {
	start := len(p.m.elems)
	altPos := p.pos
	for {
		p.skipSpace()
		if p.pos == len(p.src) {
			break
		}
		c := p.src[p.pos]
		if c == '|' || c == ')' {
			break
		}
		at := p.pos
		var mask symMask
		switch {
		case symbol(c) >= 0:
			mask = 1 << symbol(c)
			p.pos++
		case c == 'x' || c == 'X':
			mask = anyDigit
			p.pos++
		case c == '[':
			var err error
			if mask, err = p.set(); err != nil {
				return err
			}
		case c == '.':
			n := len(p.m.elems)
			if n == start {
				return p.errf(at, "'.' must follow an element it repeats")
			}
			if p.m.elems[n-1].repeat {
				return p.errf(at, "'.' repeats an element that already repeats")
			}
			p.m.elems[n-1].repeat = true
			p.pos++
			continue
		case c == '(':
			return p.errf(at, "nested '(' is not supported")
		case c == '<':
			return p.errf(at, "substitutions <dialed:sent> are not supported")
		case c == ']':
			return p.errf(at, "']' without '['")
		case c == '-':
			return p.errf(at, "'-' is only allowed inside [ ]")
		case c == ',' || c == '!' || c == 'S' || c == 'L' || c == 'P' || c == 'T':
			return p.errf(at, "%s (timers, pauses, bars) is not supported", quoteByte(c))
		default:
			return p.errf(at, "unexpected %s", quoteByte(c))
		}
		if len(p.m.elems)-start >= MaxMapElements {
			return p.errf(at, "alternative has more than %d elements", MaxMapElements)
		}
		p.m.elems = append(p.m.elems, element{mask: mask})
	}
	if len(p.m.elems) == start {
		return p.errf(altPos, "empty alternative")
	}
	p.m.ends = append(p.m.ends, len(p.m.elems))
	return nil
}

// set parses "[...]" at p.pos: keys, 'x', and digit ranges a-b.
func (p *mapParser) set() (symMask, error) {
	open := p.pos
	p.pos++ // '['
	var mask symMask
	for {
		if p.pos == len(p.src) {
			return 0, p.errf(open, "'[' is never closed")
		}
		c := p.src[p.pos]
		at := p.pos
		switch {
		case c == ']':
			p.pos++
			if mask == 0 {
				return 0, p.errf(open, "empty set []")
			}
			return mask, nil
		case c == 'x' || c == 'X':
			mask |= anyDigit
			p.pos++
		case c >= '0' && c <= '9':
			p.pos++
			if p.pos < len(p.src) && p.src[p.pos] == '-' {
				p.pos++
				if p.pos == len(p.src) {
					return 0, p.errf(open, "'[' is never closed")
				}
				hi := p.src[p.pos]
				if hi < '0' || hi > '9' {
					return 0, p.errf(p.pos, "range end %s is not a digit", quoteByte(hi))
				}
				if hi < c {
					return 0, p.errf(at, "range %c-%c runs backwards", c, hi)
				}
				for d := c; d <= hi; d++ {
					mask |= 1 << (d - '0')
				}
				p.pos++
				continue
			}
			mask |= 1 << (c - '0')
		case c == '*' || c == '#':
			mask |= 1 << symbol(c)
			p.pos++
		case c == '-':
			return 0, p.errf(at, "'-' must sit between two digits")
		case c == ' ' || c == '\t':
			p.pos++
		default:
			return 0, p.errf(at, "unexpected %s in set", quoteByte(c))
		}
	}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// String returns the source the map was parsed from.
func (m *DigitMap) String() string { return m.src }

// Alternatives returns the number of alternatives in the map.
func (m *DigitMap) Alternatives() int { return len(m.ends) }

// Match tells how digits relate to the map. Digits are the keys 0-9, '*' and
// '#'; any other byte (A-D, say) matches nothing. Match does not allocate.
func (m *DigitMap) Match(digits string) MatchResult { return match(m, digits) }

// matchBytes is Match over a byte buffer, for the line's digit buffer.
func (m *DigitMap) matchBytes(digits []byte) MatchResult { return match(m, digits) }

// match runs every alternative as a small NFA whose state set is a bitmask
// of element positions (position len(alt) = matched to the end).
func match[S ~string | ~[]byte](m *DigitMap, digits S) MatchResult {
	complete, longer := false, false
	start := 0
	for _, end := range m.ends {
		alt := m.elems[start:end]
		start = end
		set := closure(alt, 1)
		for i := 0; i < len(digits) && set != 0; i++ {
			sym := symbol(digits[i])
			if sym < 0 {
				set = 0
				break
			}
			var next uint64
			for j, e := range alt {
				if set&(1<<j) == 0 || e.mask&(1<<sym) == 0 {
					continue
				}
				if e.repeat {
					next |= 1 << j
				} else {
					next |= 1 << (j + 1)
				}
			}
			set = closure(alt, next)
		}
		if set == 0 {
			continue
		}
		if set&(1<<len(alt)) != 0 {
			complete = true
		}
		// Every element accepts at least one key and every position can
		// reach the end, so any live position before the end means a longer
		// string can still match.
		if set&(1<<len(alt)-1) != 0 {
			longer = true
		}
	}
	switch {
	case complete && longer:
		return Ambiguous
	case complete:
		return Complete
	case longer:
		return Partial
	}
	return NoMatch
}

// closure adds the positions reachable by skipping repeating elements.
func closure(alt []element, set uint64) uint64 {
	for j, e := range alt {
		if e.repeat && set&(1<<j) != 0 {
			set |= 1 << (j + 1)
		}
	}
	return set
}

// compile-time guard: MaxMapElements positions plus the end fit in 64 bits.
var _ = [64 - MaxMapElements - 1]struct{}{}
