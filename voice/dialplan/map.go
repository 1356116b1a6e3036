// Package dialplan compiles dial plans, as PBX admins write them for the
// analog adapters they already run, into one matcher: the MGCP digit map
// (RFC 3435 section 2.1.5), the Cisco SPA dial plan that extends it, and
// the Grandstream HandyTone { } syntax.
//
// A Map tells, key by key, whether the digits so far can still become a
// number (Step), how long to wait for the next key, and, once dialing ends,
// the number to send after substitutions and whether it is barred (Dial).
package dialplan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits.
const (
	// MaxLen is the longest source Parse accepts.
	MaxLen = 4096
	// MaxElements is the most elements one alternative may have (the
	// matcher keeps its positions in a 64-bit set).
	MaxElements = 63
	// MaxTimer is the longest in-plan timer or pause (S, L, P).
	MaxTimer = 99 * time.Second
)

// ErrSyntax is wrapped by every error Parse returns; the concrete error is
// an *Error carrying the position.
var ErrSyntax = errors.New("dial plan syntax error")

// Error describes a dial plan syntax error and where it is.
type Error struct {
	// Pos is the byte offset (from 0) in the source where the error was found.
	Pos int
	// Msg says what is wrong there.
	Msg string
}

// Error formats the error with its 1-based column, as a user reads it.
func (e *Error) Error() string {
	return fmt.Sprintf("dial plan: column %d: %s", e.Pos+1, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *Error) Unwrap() error { return ErrSyntax }

// MatchResult is how a dialed string relates to a map.
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

// Symbols an element can match, as bit numbers of symMask.
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

// IsKey reports whether c is a dialable keypad key: 0-9, '*' or '#'.
func IsKey(c byte) bool { return symbol(c) >= 0 }

// element is one position of an alternative: the keys it accepts, whether
// it repeats (zero or more times), and whether the keys it matched are
// dropped from the number sent (the dialed side of a substitution).
type element struct {
	mask   symMask
	repeat bool
	drop   bool
}

// alt is one alternative (a "sequence" in Cisco's words, a "rule" in
// Grandstream's).
type alt struct {
	elems []element
	ins   []string // ins[j] is sent before the keys of elems[j]; len(elems)+1
	tone  uint64   // positions (keys matched so far) that play a second dial tone
	bar   bool     // '!' or '^': a match is refused
	wait  bool     // 'T': wait for the timer even when complete
	short time.Duration
	long  time.Duration
	dead  bool // holds a key no keypad sends (Grandstream "\p\a\r\k"): never matches
}

// Map is a compiled dial plan. A Map is immutable and safe for concurrent
// use.
type Map struct {
	src   string
	alts  []alt
	long  time.Duration // plan-wide "L:s," or -1
	short time.Duration // plan-wide "S:s," or -1
}

// Step is what the digits dialed so far mean for the collection: the match
// and how long to wait for another key.
type Step struct {
	// Match is how the digits relate to the map.
	Match MatchResult
	// Timer is how long to wait for the next key before dialing (Ambiguous)
	// or giving up (Partial), as the plan sets it with S, L or P; negative
	// means the line's own inter-digit timer.
	Timer time.Duration
	// DialTone is set when the digits end where the plan plays a second
	// (outside line) dial tone: the ',' of "9,1xxxxxxxxxx".
	DialTone bool
}

// Parse compiles a dial plan, telling the syntax from the text: one in
// braces is Grandstream's, anything else the Cisco SPA syntax, of which an
// MGCP digit map is a subset. Errors are *Error values wrapping ErrSyntax.
func Parse(s string) (*Map, error) {
	if len(s) > MaxLen {
		return nil, &Error{Pos: MaxLen, Msg: fmt.Sprintf("longer than %d bytes", MaxLen)}
	}
	if strings.HasPrefix(strings.TrimLeft(s, " \t"), "{") {
		return ParseGrandstream(s)
	}
	return ParseCisco(s)
}

// ParseCisco compiles a Cisco SPA (and MGCP) dial plan:
//
//	L:10,S:3,(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxxS0|xxxxxxxxxxxx.)
//
// Alternatives are separated by '|', optionally in parentheses. Elements are
// the keys 0-9, '*' and '#', 'x' for any digit, and sets such as [2-9] or
// [13-5*]; '.' repeats the element before it zero or more times. <a:b>
// replaces the dialed a by b (either may be empty: <9:> strips a 9, <:1>
// prefixes a 1); ',' plays a second dial tone; a trailing '!' bars the
// numbers it matches; S<n>, L<n> set the short and long inter-digit timers
// (seconds) while that alternative matches, and P<n> the pause before an
// alternative that needs no key dials (a warm line: "(P5<:1000>|xxxx)");
// 'T' waits for the timer; "L:n," and "S:n," before the plan set its timers.
func ParseCisco(s string) (*Map, error) {
	if len(s) > MaxLen {
		return nil, &Error{Pos: MaxLen, Msg: fmt.Sprintf("longer than %d bytes", MaxLen)}
	}
	p := parser{src: s, m: Map{src: s, long: -1, short: -1}}
	return p.parse('(', ')')
}

// ParseGrandstream compiles a Grandstream dial plan:
//
//	{ ^1900x. | <=1617>[2-9]xxxxxx | 1[2-9]xx[2-9]xxxxxx | 011[2-9]x. | [3469]11 }
//
// Rules are separated by '|' inside braces. Elements are the keys, 'x' (or
// 'X') for any digit and [sets]; '+' and '.' repeat the element before it
// one or more times ("xx+" is two digits or more); a leading '^' excludes
// what the rule matches; <a=b> replaces a by b (<=1> prefixes, <1=>
// strips); '\' escapes a character (rules holding characters a keypad
// cannot send, "\p\a\r\k+x+", never match); ',' plays a second dial tone.
func ParseGrandstream(s string) (*Map, error) {
	if len(s) > MaxLen {
		return nil, &Error{Pos: MaxLen, Msg: fmt.Sprintf("longer than %d bytes", MaxLen)}
	}
	p := parser{src: s, gs: true, m: Map{src: s, long: -1, short: -1}}
	return p.parse('{', '}')
}

type parser struct {
	src string
	pos int
	gs  bool
	m   Map
}

func (p *parser) errf(pos int, format string, args ...any) error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *parser) parse(open, close byte) (*Map, error) {
	p.skipSpace()
	if !p.gs {
		if err := p.planTimers(); err != nil {
			return nil, err
		}
	}
	if p.pos == len(p.src) {
		return nil, p.errf(p.pos, "empty dial plan")
	}
	wrapped := false
	openAt := p.pos
	if p.src[p.pos] == open {
		wrapped = true
		p.pos++
	} else if p.gs {
		return nil, p.errf(p.pos, "a Grandstream dial plan starts with '{'")
	}
	for {
		if err := p.alternative(close); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos == len(p.src) {
			if wrapped {
				return nil, p.errf(openAt, "%s is never closed", quoteByte(open))
			}
			break
		}
		c := p.src[p.pos]
		if c == '|' {
			p.pos++
			continue
		}
		if c == close {
			if !wrapped {
				return nil, p.errf(p.pos, "%s without %s", quoteByte(close), quoteByte(open))
			}
			p.pos++
			p.skipSpace()
			if p.pos != len(p.src) {
				return nil, p.errf(p.pos, "unexpected %s after %s", quoteByte(p.src[p.pos]), quoteByte(close))
			}
			break
		}
		return nil, p.errf(p.pos, "unexpected %s", quoteByte(c))
	}
	m := p.m
	return &m, nil
}

// planTimers reads Cisco's plan-wide "L:n," and "S:n," prefixes.
func (p *parser) planTimers() error {
	for p.pos+1 < len(p.src) && (p.src[p.pos] == 'L' || p.src[p.pos] == 'S') && p.src[p.pos+1] == ':' {
		kind := p.src[p.pos]
		p.pos += 2
		d, err := p.seconds()
		if err != nil {
			return err
		}
		if kind == 'L' {
			p.m.long = d
		} else {
			p.m.short = d
		}
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
		}
		p.skipSpace()
	}
	return nil
}

// seconds reads a timer value: digits with an optional fraction.
func (p *parser) seconds() (time.Duration, error) {
	start := p.pos
	for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' ||
		p.src[p.pos] == '.' && p.pos+1 < len(p.src) && p.src[p.pos+1] >= '0' && p.src[p.pos+1] <= '9') {
		p.pos++
	}
	if p.pos == start {
		return 0, p.errf(start, "a timer needs a number of seconds")
	}
	f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
	if err != nil || f < 0 || f*float64(time.Second) > float64(MaxTimer) {
		return 0, p.errf(start, "timer %q is not between 0 and %v", p.src[start:p.pos], MaxTimer)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// alternative parses one sequence up to '|', the closing bracket or the end.
func (p *parser) alternative(close byte) error {
	a := alt{short: -1, long: -1, ins: []string{""}}
	altPos := p.pos
	inSub := false // inside the dialed side of <a:b>
	subSep := byte(':')
	if p.gs {
		subSep = '='
	}
	p.skipSpace()
	if p.gs && p.pos < len(p.src) && p.src[p.pos] == '^' {
		a.bar = true
		p.pos++
	}
	for {
		p.skipSpace()
		if p.pos == len(p.src) {
			if inSub {
				return p.errf(altPos, "'<' is never closed")
			}
			break
		}
		c := p.src[p.pos]
		if !inSub && (c == '|' || c == close) {
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
		case p.gs && c == '+' && len(a.elems) == 0:
			a.dead = true // a leading '+': no keypad sends it
			p.pos++
			continue
		case c == '.' || (p.gs && c == '+'):
			n := len(a.elems)
			if n == 0 || (inSub && len(a.elems) > 0 && !a.elems[n-1].drop) {
				return p.errf(at, "%s must follow an element it repeats", quoteByte(c))
			}
			p.pos++
			last := a.elems[n-1]
			if p.gs {
				// One or more: the element, then the same element repeating.
				if last.repeat {
					continue // "x++": already repeats
				}
				last.repeat = true
				if err := p.push(&a, last, at); err != nil {
					return err
				}
				continue
			}
			if last.repeat {
				return p.errf(at, "'.' repeats an element that already repeats")
			}
			a.elems[n-1].repeat = true
			continue
		case c == '\\' && p.gs:
			if p.pos+1 == len(p.src) {
				return p.errf(at, "'\\' escapes nothing")
			}
			e := p.src[p.pos+1]
			p.pos += 2
			if symbol(e) < 0 {
				a.dead = true // no keypad sends it
				continue
			}
			mask = 1 << symbol(e)
		case c == '<':
			if inSub {
				return p.errf(at, "nested '<'")
			}
			inSub = true
			p.pos++
			continue
		case c == subSep && inSub:
			p.pos++
			end := strings.IndexByte(p.src[p.pos:], '>')
			if end < 0 {
				return p.errf(at, "'<' is never closed")
			}
			sent := p.src[p.pos : p.pos+end]
			for i := 0; i < len(sent); i++ {
				if b := sent[i]; b <= ' ' || b >= 0x7f || strings.IndexByte("<>|(){}[]", b) >= 0 {
					return p.errf(p.pos+i, "unexpected %s in a substitution", quoteByte(b))
				}
			}
			a.ins[len(a.elems)] += sent
			p.pos += end + 1
			inSub = false
			continue
		case c == ',':
			a.tone |= 1 << len(a.elems)
			p.pos++
			continue
		case c == '!' && !p.gs:
			a.bar = true
			p.pos++
			continue
		case c == 'T':
			a.wait = true
			p.pos++
			continue
		case (c == 'S' || c == 'L' || c == 'P') && !p.gs:
			p.pos++
			d, err := p.seconds()
			if err != nil {
				return err
			}
			if c == 'L' {
				a.long = d
			} else {
				a.short = d
			}
			continue
		case c == '(':
			return p.errf(at, "nested '(' is not supported")
		case c == ']':
			return p.errf(at, "']' without '['")
		case c == '-':
			return p.errf(at, "'-' is only allowed inside [ ]")
		default:
			return p.errf(at, "unexpected %s", quoteByte(c))
		}
		if err := p.push(&a, element{mask: mask, drop: inSub}, at); err != nil {
			return err
		}
	}
	if len(a.elems) == 0 && a.ins[0] == "" {
		return p.errf(altPos, "empty alternative")
	}
	p.m.alts = append(p.m.alts, a)
	return nil
}

func (p *parser) push(a *alt, e element, at int) error {
	if len(a.elems) >= MaxElements {
		return p.errf(at, "alternative has more than %d elements", MaxElements)
	}
	a.elems = append(a.elems, e)
	a.ins = append(a.ins, "")
	return nil
}

// set parses "[...]" at p.pos: keys, 'x', and digit ranges a-b.
func (p *parser) set() (symMask, error) {
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
func (m *Map) String() string { return m.src }

// Alternatives returns the number of alternatives in the map.
func (m *Map) Alternatives() int { return len(m.alts) }

// Timers returns the plan-wide long and short inter-digit timers its source
// sets ("L:10,S:3,"); negative when it sets none.
func (m *Map) Timers() (long, short time.Duration) { return m.long, m.short }

// Match tells how digits relate to the map. Digits are the keys 0-9, '*' and
// '#'; any other byte (A-D, say) matches nothing. Match does not allocate.
func (m *Map) Match(digits string) MatchResult { return step(m, digits).Match }

// MatchBytes is Match over a byte buffer.
func (m *Map) MatchBytes(digits []byte) MatchResult { return step(m, digits).Match }

// Step tells how digits relate to the map and how long to wait for the
// next key. It does not allocate.
func (m *Map) Step(digits []byte) Step { return step(m, digits) }

// run runs one alternative as a small NFA whose state set is a bitmask of
// element positions (position len(elems) = matched to the end).
func run[S ~string | ~[]byte](a *alt, digits S) uint64 {
	set := closure(a.elems, 1)
	for i := 0; i < len(digits) && set != 0; i++ {
		sym := symbol(digits[i])
		if sym < 0 {
			return 0
		}
		var next uint64
		for j, e := range a.elems {
			if set&(1<<j) == 0 || e.mask&(1<<sym) == 0 {
				continue
			}
			if e.repeat {
				next |= 1 << j
			} else {
				next |= 1 << (j + 1)
			}
		}
		set = closure(a.elems, next)
	}
	return set
}

func step[S ~string | ~[]byte](m *Map, digits S) Step {
	complete, longer, tone := false, false, false
	short, long := time.Duration(-1), time.Duration(-1)
	for i := range m.alts {
		a := &m.alts[i]
		if a.dead {
			continue
		}
		set := run(a, digits)
		if set == 0 {
			continue
		}
		if set&a.tone != 0 {
			tone = true
		}
		end := set&(1<<len(a.elems)) != 0
		// Every element accepts at least one key and every position can
		// reach the end, so any live position before the end means a longer
		// string can still match.
		more := set&(1<<len(a.elems)-1) != 0
		if end {
			complete = true
			if a.wait {
				more = true
			}
			if a.short >= 0 && (short < 0 || a.short < short) {
				short = a.short
			}
		}
		if more {
			longer = true
			if a.long >= 0 && (long < 0 || a.long < long) {
				long = a.long
			}
		}
	}
	if short < 0 {
		short = m.short
	}
	if long < 0 {
		long = m.long
	}
	switch {
	case complete && longer:
		if short == 0 {
			// S0: nothing to wait for.
			return Step{Match: Complete, Timer: 0, DialTone: tone}
		}
		return Step{Match: Ambiguous, Timer: short, DialTone: tone}
	case complete:
		return Step{Match: Complete, Timer: short, DialTone: tone}
	case longer:
		return Step{Match: Partial, Timer: long, DialTone: tone}
	}
	return Step{Match: NoMatch, Timer: -1}
}

// closure adds the positions reachable by skipping repeating elements.
func closure(elems []element, set uint64) uint64 {
	for j, e := range elems {
		if e.repeat && set&(1<<j) != 0 {
			set |= 1 << (j + 1)
		}
	}
	return set
}

// Dial returns the number to send for digits when dialing ends: the first
// alternative (in the plan's order) the digits match completely, with its
// substitutions applied. barred is set when an alternative that bars ('!',
// '^') matches them, whatever the others say. ok is false when no
// alternative matches completely; number is then the digits unchanged.
func (m *Map) Dial(digits string) (number string, barred, ok bool) {
	number = digits
	for i := range m.alts {
		a := &m.alts[i]
		if a.dead || run(a, digits)&(1<<len(a.elems)) == 0 {
			continue
		}
		if a.bar {
			return digits, true, true
		}
		if !ok {
			w := walker{a: a, digits: digits, failed: make([]bool, (len(a.elems)+1)*(len(digits)+1)*2)}
			number, ok = w.walk(0, 0, nil, false)
		}
	}
	return number, false, ok
}

// walker finds how one alternative matches digits, to write the number
// sent. failed remembers the states (element, keys used, looping) that
// lead nowhere, so repeats cannot make the search exponential.
type walker struct {
	a      *alt
	digits string
	failed []bool
}

func (w *walker) walk(j, i int, out []byte, looped bool) (string, bool) {
	key := (j*(len(w.digits)+1) + i) * 2
	if looped {
		key++
	}
	if w.failed[key] {
		return "", false
	}
	if !looped {
		out = append(out[:len(out):len(out)], w.a.ins[j]...)
	}
	if j == len(w.a.elems) {
		if i == len(w.digits) {
			return string(out), true
		}
		w.failed[key] = true
		return "", false
	}
	e := w.a.elems[j]
	if i < len(w.digits) {
		if s := symbol(w.digits[i]); s >= 0 && e.mask&(1<<s) != 0 {
			o := out
			if !e.drop {
				o = append(out[:len(out):len(out)], w.digits[i])
			}
			next, loop := j+1, false
			if e.repeat {
				next, loop = j, true
			}
			if n, ok := w.walk(next, i+1, o, loop); ok {
				return n, true
			}
		}
	}
	if e.repeat {
		if n, ok := w.walk(j+1, i, out, false); ok {
			return n, true
		}
	}
	w.failed[key] = true
	return "", false
}

// compile-time guard: MaxElements positions plus the end fit in 64 bits.
var _ = [64 - MaxElements - 1]struct{}{}

// Extend returns a map with the alternatives of first (Cisco syntax, one
// alternative each) before m's and those of last after them: a port's hot
// line ahead of its plan, its star codes behind it, as Cisco appends
// vertical-service codes to every plan. m may be nil (no plan of its own).
func (m *Map) Extend(first, last []string) (*Map, error) {
	out := &Map{long: -1, short: -1}
	if m != nil {
		out.src, out.long, out.short = m.src, m.long, m.short
	}
	add := func(list []string) error {
		for _, s := range list {
			p := parser{src: s, m: Map{long: -1, short: -1}}
			x, err := p.parse('(', ')')
			if err != nil {
				return err
			}
			out.alts = append(out.alts, x.alts...)
		}
		return nil
	}
	if err := add(first); err != nil {
		return nil, err
	}
	if m != nil {
		out.alts = append(out.alts, m.alts...)
	}
	if err := add(last); err != nil {
		return nil, err
	}
	return out, nil
}
