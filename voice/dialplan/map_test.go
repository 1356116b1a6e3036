package dialplan

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		src  string
		want string // compiled form
	}{
		{"1", "1"},
		{"x", "x"},
		{"X", "x"},
		{"(x.)", "x."},
		{"( 0 | 911 )", "0|911"},
		{"[2-9]xxxxxx", "[23456789]xxxxxx"},
		{"[135]", "[135]"},
		{"[13-5*#]", "[1345*#]"},
		{"[x*]", "[0123456789*]"},
		{"[5]", "5"},
		{"*xx|#x.", "*xx|#x."},
		{"01.", "01."},
		{"(0|00|[1-7]xxx|8xxxxxxx|#xxxxxxx|*xx|91xxxxxxxxxx|9011x.)", "0|00|[1234567]xxx|8xxxxxxx|#xxxxxxx|*xx|91xxxxxxxxxx|9011x."},
		{"\t1 2\t3 ", "123"},
		{strings.Repeat("x", MaxElements), strings.Repeat("x", MaxElements)},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			m, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.src, err)
			}
			if got := m.describe(); got != tt.want {
				t.Errorf("compiled %q, want %q", got, tt.want)
			}
			if m.String() != tt.src {
				t.Errorf("String() = %q, want the source", m.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src     string
		pos     int
		msgPart string
	}{
		{"", 0, "empty dial plan"},
		{"   ", 3, "empty dial plan"},
		{"()", 1, "empty alternative"},
		{"(1|)", 3, "empty alternative"},
		{"1||2", 2, "empty alternative"},
		{"|1", 0, "empty alternative"},
		{"(123", 0, "never closed"},
		{"123)", 3, "without '('"},
		{"(1)2", 3, "after ')'"},
		{"((1))", 1, "nested"},
		{".1", 0, "must follow"},
		{"1..", 2, "already repeats"},
		{"1|.", 2, "must follow"},
		{"[", 0, "never closed"},
		{"[12", 0, "never closed"},
		{"[]", 0, "empty set"},
		{"[5-1]", 1, "backwards"},
		{"[1-]", 3, "not a digit"},
		{"[1-", 0, "never closed"},
		{"[-1]", 1, "between two digits"},
		{"[a]", 1, "unexpected 'a' in set"},
		{"12]", 2, "without '['"},
		{"1-2", 1, "inside [ ]"},
		{"<9:xx", 2, "never closed"},
		{"<9xx", 0, "never closed"},
		{"<<9:>", 1, "nested"},
		{"<9:1|2>", 4, "in a substitution"},
		{"xxS", 3, "needs a number"},
		{"xS100", 2, "not between"},
		{"L:x,(1)", 2, "needs a number"},
		{"{1", 0, "never closed"},
		{"{1}2", 3, "after '}'"},
		{"{.1}", 1, "must follow"},
		{"{x\\", 2, "escapes nothing"},
		{"{1!}", 2, "unexpected '!'"},
		{"{x)", 2, "unexpected ')'"},
		{"12a", 2, "unexpected 'a'"},
		{"1\x002", 1, "byte 0x00"},
		{strings.Repeat("x", MaxElements+1), MaxElements, "more than"},
		{strings.Repeat("1|", MaxLen), MaxLen, "longer than"},
	}
	for _, tt := range tests {
		name := tt.src
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			m, err := Parse(tt.src)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.src, m.describe())
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not wrap ErrSyntax", err)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *Error", err)
			}
			if de.Pos != tt.pos {
				t.Errorf("error %q at position %d, want %d", err, de.Pos, tt.pos)
			}
			if !strings.Contains(err.Error(), tt.msgPart) {
				t.Errorf("error %q does not say %q", err, tt.msgPart)
			}
		})
	}
}

func TestDigitMapMatch(t *testing.T) {
	const (
		spa  = "(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxx|xxxxxxxxxxxx.)"
		nanp = "(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxx)"
	)
	tests := []struct {
		m      string
		digits string
		want   MatchResult
	}{
		{"1", "", Partial},
		{"1", "1", Complete},
		{"1", "2", NoMatch},
		{"1", "11", NoMatch},
		{"x.", "", Ambiguous},
		{"x.", "5", Ambiguous},
		{"x.", "123456", Ambiguous},
		{"x.", "12*", NoMatch},
		{"01.", "0", Ambiguous},
		{"01.", "011", Ambiguous},
		{"01.", "0110", NoMatch},
		{"xx.", "1", Ambiguous},
		{"1x.2", "1", Partial},
		{"1x.2", "12", Ambiguous}, // x.=empty then 2 complete; or x=2 and more
		{"1x.2", "1345", Partial},
		{"1x.2", "13452", Ambiguous},
		{"1x.2", "1*", NoMatch},
		{"[2-4]x", "5", NoMatch},
		{"[2-4]x", "3", Partial},
		{"[2-4]x", "39", Complete},
		{"[13]|[24]x", "2", Partial},
		{"[13]|[24]x", "3", Complete},
		{"*xx#", "*72", Partial},
		{"*xx#", "*72#", Complete},
		{"#", "#", Complete},
		{"1", "A", NoMatch},
		{spa, "0", Ambiguous},
		{spa, "00", Ambiguous}, // the 12+ digit rule keeps everything open
		{spa, "911", Ambiguous},
		{nanp, "00", Complete},
		{nanp, "911", Ambiguous}, // also the start of a 7-digit number
		{nanp, "9111", Partial},
		{nanp, "*7", Partial},
		{nanp, "*1*", NoMatch},
		{nanp, "5551234", Complete},
		{nanp, "16505551234", Complete},
		{nanp, "1650555123", Partial},
		{nanp, "1650155123", NoMatch},
		{spa, "91", Partial},
		{spa, "*7", Partial},
		{spa, "*72", Complete},
		{spa, "*721", NoMatch},
		{spa, "555123", Partial},
		{spa, "5551234", Ambiguous},
		{spa, "55512345", Partial},         // may become a 12+ digit number
		{spa, "16505551234", Ambiguous},    // 1xxx[2-9]xxxxxx complete, 12+ rule open
		{spa, "1650555123", Partial},       // 10 digits so far
		{spa, "165055512345", Ambiguous},   // complete for xxxxxxxxxxxx. (12) and longer
		{spa, "1650155123", Partial},       // [2-9] fails at the 5th key, 12-digit rule lives
		{spa, "01234567890123", Ambiguous}, // international style
		{spa, "#", NoMatch},
		{"(0|00)", "0", Ambiguous},
		{"(0|00)", "00", Complete},
		{"(0|00)", "000", NoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.m+"/"+tt.digits, func(t *testing.T) {
			m, err := Parse(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(tt.digits); got != tt.want {
				t.Errorf("Match(%q) = %v, want %v", tt.digits, got, tt.want)
			}
			if got := m.MatchBytes([]byte(tt.digits)); got != tt.want {
				t.Errorf("matchBytes(%q) = %v, want %v", tt.digits, got, tt.want)
			}
		})
	}
}

func TestDigitMapMatchNoAlloc(t *testing.T) {
	m, err := Parse("(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxx|xxxxxxxxxxxx.)")
	if err != nil {
		t.Fatal(err)
	}
	digits := []byte("16505551234")
	allocs := testing.AllocsPerRun(1000, func() {
		_ = m.Match("16505551234")
		_ = m.MatchBytes(digits)
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per run", allocs)
	}
}

// refMatch is a slow reference matcher by backtracking over the pattern,
// used to cross-check the NFA in the fuzz test.
func refMatch(m *Map, digits string) MatchResult {
	complete, longer := false, false
	short := time.Duration(-1)
	for _, a := range m.alts {
		if a.dead {
			continue
		}
		c, l := refAlt(a.elems, digits)
		if c && a.wait {
			l = true
		}
		if c && a.short >= 0 && (short < 0 || a.short < short) {
			short = a.short
		}
		complete = complete || c
		longer = longer || l
	}
	if short < 0 {
		short = m.short
	}
	switch {
	case complete && longer && short != 0:
		return Ambiguous
	case complete:
		return Complete
	case longer:
		return Partial
	}
	return NoMatch
}

// refAlt reports whether digits match alt fully, and whether digits plus at
// least one more key can be a prefix of a full match.
func refAlt(alt []element, digits string) (complete, longer bool) {
	if len(digits) == 0 {
		// complete if every remaining element repeats; longer if any
		// element remains.
		complete = true
		for _, e := range alt {
			if !e.repeat {
				complete = false
			}
		}
		return complete, len(alt) > 0
	}
	if len(alt) == 0 {
		return false, false
	}
	e := alt[0]
	if e.repeat {
		c1, l1 := refAlt(alt[1:], digits) // zero times
		c, l := c1, l1
		if s := symbol(digits[0]); s >= 0 && e.mask&(1<<s) != 0 {
			c2, l2 := refAlt(alt, digits[1:]) // once more
			c, l = c || c2, l || l2
		}
		return c, l
	}
	if s := symbol(digits[0]); s >= 0 && e.mask&(1<<s) != 0 {
		return refAlt(alt[1:], digits[1:])
	}
	return false, false
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxx|xxxxxxxxxxxx.)",
		"x.", "01.", "[1-5]x|[135]#", "(", "[", "1..", "<9:>x", "([2-9]x.)",
	} {
		f.Add(s, "16505551234")
		f.Add(s, "*72#")
	}
	f.Fuzz(func(t *testing.T, src, digits string) {
		m, err := Parse(src)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v is not a positioned syntax error", err)
			}
			if de.Pos < 0 || de.Pos > len(src) {
				t.Fatalf("error position %d outside [0, %d]", de.Pos, len(src))
			}
			return
		}
		if m.Alternatives() == 0 {
			t.Fatal("parsed map has no alternatives")
		}
		// Compiling the compiled form again gives the same form.
		again, err := Parse(m.describe())
		if err != nil {
			t.Fatalf("compiled form %q does not parse: %v", m.describe(), err)
		}
		if again.describe() != m.describe() {
			t.Fatalf("round trip %q -> %q", m.describe(), again.describe())
		}
		if len(digits) > 40 {
			digits = digits[:40]
		}
		if got, want := m.Match(digits), refMatch(m, digits); got != want {
			t.Fatalf("map %q: Match(%q) = %v, reference says %v", m.describe(), digits, got, want)
		}
		// A prefix of something that matches is never NoMatch.
		if m.Match(digits) != NoMatch {
			for i := range len(digits) {
				if m.Match(digits[:i]) == NoMatch {
					t.Fatalf("map %q: %q matches but its prefix %q does not", m.describe(), digits, digits[:i])
				}
			}
		}
	})
}
