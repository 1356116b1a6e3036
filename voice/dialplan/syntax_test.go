package dialplan

import (
	"errors"
	"testing"
	"time"
)

// Plans from the vendors' documentation.
const (
	// Cisco SPA default (SPA921 admin guide).
	spaDefault = "(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxxS0|xxxxxxxxxxxx.)"
	// SPA9000 guide examples: substitution, second dial tone, barring.
	spaExamples = "( <8:1650>xxxxxxx | <:1>[2-9]xxxxxxxxx | 9,1xxxxxxxxxx | 1900xxxxxxx! | 1xxxxxxxxxx )"
	// Cisco hotline and warm line.
	spaHotline  = "( S0 <:12125551234> )"
	spaWarmLine = "( P5 <:1000> | xxxx )"
	// Grandstream HT802 manual example.
	gsExample = "{^1900x. | <=1617>[2-9]xxxxxx | 1[2-9]xx[2-9]xxxxxx | 011[2-9]x. | [3469]11}"
	// FusionPBX's Grandstream template.
	gsFusion = `{x+|*x+|*++|\p\a\r\k\+*x+|\p\a\r\k\+x+|\f\l\o\w\+*x+}`
	// GRP261x default and substitutions.
	gsDefault = "{ x+ | +x+ | *x+ | *xx*x+ }"
	gsSubst   = "{ <2=011>x+ | <1=>[2-9]xx+ | 9,xx }"
)

func TestPlans(t *testing.T) {
	const def = time.Duration(-1) // the line's own timer
	tests := []struct {
		plan   string
		digits string
		match  MatchResult
		timer  time.Duration // Step.Timer
		tone   bool          // second dial tone
		number string        // Dial's number when dialing ends here
		barred bool
	}{
		{spaDefault, "", Partial, def, false, "", false},
		{spaDefault, "*7", Partial, def, false, "*7", false},
		{spaDefault, "*72", Complete, def, false, "*72", false},
		{spaDefault, "911", Ambiguous, def, false, "911", false},
		{spaDefault, "0", Ambiguous, def, false, "0", false},
		{spaDefault, "00", Ambiguous, def, false, "00", false},
		{spaDefault, "5551234", Ambiguous, def, false, "5551234", false},
		{spaDefault, "1212555", Partial, def, false, "1212555", false},
		// 1+10 digits is also a prefix of the long-number rule; S0 dials now.
		{spaDefault, "12125551234", Complete, 0, false, "12125551234", false},
		{spaDefault, "011442079", Partial, def, false, "011442079", false},
		{spaDefault, "01144207946", Ambiguous, def, false, "01144207946", false},
		{spaDefault, "*7*", NoMatch, def, false, "*7*", false},

		{spaExamples, "85551234", Ambiguous, def, false, "16505551234", false},
		{spaExamples, "2125551234", Complete, def, false, "12125551234", false},
		{spaExamples, "9", Partial, def, true, "9", false},
		{spaExamples, "91", Partial, def, false, "91", false},
		{spaExamples, "912125551234", Complete, def, false, "912125551234", false},
		{spaExamples, "19005551234", Complete, def, false, "19005551234", true},
		{spaExamples, "18005551234", Complete, def, false, "18005551234", false},

		{spaHotline, "", Complete, 0, false, "12125551234", false},
		{spaWarmLine, "", Ambiguous, 5 * time.Second, false, "1000", false},
		{spaWarmLine, "12", Partial, def, false, "12", false},
		{spaWarmLine, "1234", Complete, def, false, "1234", false},
		{"L:10,S:3,(1xx|1xxx)", "1", Partial, 10 * time.Second, false, "1", false},
		{"L:10,S:3,(1xx|1xxx)", "123", Ambiguous, 3 * time.Second, false, "123", false},
		{"(1xxL20|1xxxS1)", "12", Partial, 20 * time.Second, false, "12", false},
		{"(xxxT)", "123", Ambiguous, def, false, "123", false},
		{"(<9:>xx.<:@gw0>)", "9555", Ambiguous, def, false, "555@gw0", false},

		{gsExample, "19005551234", Ambiguous, def, false, "19005551234", true},
		{gsExample, "5551234", Complete, def, false, "16175551234", false},
		{gsExample, "16175551234", Complete, def, false, "16175551234", false},
		{gsExample, "011", Partial, def, false, "011", false},
		{gsExample, "0114420", Ambiguous, def, false, "0114420", false},
		{gsExample, "411", Ambiguous, def, false, "411", false},
		{gsExample, "2", Partial, def, false, "2", false},

		{gsFusion, "", Partial, def, false, "", false},
		{gsFusion, "1", Ambiguous, def, false, "1", false},
		{gsFusion, "*", Ambiguous, def, false, "*", false},
		{gsFusion, "**", Ambiguous, def, false, "**", false},
		{gsFusion, "*72", Ambiguous, def, false, "*72", false},
		{gsDefault, "*12*3", Ambiguous, def, false, "*12*3", false},
		{gsDefault, "#", NoMatch, def, false, "#", false},

		{gsSubst, "2345", Ambiguous, def, false, "011345", false},
		{gsSubst, "1617", Ambiguous, def, false, "617", false},
		{gsSubst, "9", Partial, def, true, "9", false},
		{gsSubst, "912", Complete, def, false, "912", false},
	}
	for _, tt := range tests {
		t.Run(tt.plan+"/"+tt.digits, func(t *testing.T) {
			m, err := Parse(tt.plan)
			if err != nil {
				t.Fatal(err)
			}
			st := m.Step([]byte(tt.digits))
			if st.Match != tt.match || st.Timer != tt.timer || st.DialTone != tt.tone {
				t.Errorf("Step(%q) = %+v, want {%v %v %v}", tt.digits, st, tt.match, tt.timer, tt.tone)
			}
			number, barred, ok := m.Dial(tt.digits)
			if number != tt.number || barred != tt.barred {
				t.Errorf("Dial(%q) = %q barred %v, want %q barred %v", tt.digits, number, barred, tt.number, tt.barred)
			}
			if full := tt.match == Complete || tt.match == Ambiguous; ok != full {
				t.Errorf("Dial(%q) ok = %v, want %v", tt.digits, ok, full)
			}
		})
	}
}

func TestParseGrandstreamNeedsBraces(t *testing.T) {
	_, err := ParseGrandstream("x+")
	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("err = %v, want a syntax error", err)
	}
}

func TestStepNoAlloc(t *testing.T) {
	m, err := Parse(spaExamples)
	if err != nil {
		t.Fatal(err)
	}
	digits := []byte("912125551234")
	if n := testing.AllocsPerRun(100, func() { m.Step(digits) }); n != 0 {
		t.Fatalf("Step allocates %v times", n)
	}
}

// FuzzDial checks that Dial agrees with Step: a number comes out exactly
// when the digits match completely, and it does not panic.
func FuzzDial(f *testing.F) {
	for _, s := range []string{spaDefault, spaExamples, spaHotline, spaWarmLine, gsExample, gsFusion, gsDefault, gsSubst} {
		f.Add(s, "16505551234")
		f.Add(s, "*72#")
	}
	f.Fuzz(func(t *testing.T, src, digits string) {
		m, err := Parse(src)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) || de.Pos < 0 || de.Pos > len(src) {
				t.Fatalf("error %v is not a positioned syntax error", err)
			}
			return
		}
		if len(digits) > 40 {
			digits = digits[:40]
		}
		st := m.Step([]byte(digits))
		_, _, ok := m.Dial(digits)
		if full := st.Match == Complete || st.Match == Ambiguous; ok != full {
			t.Fatalf("plan %q digits %q: Step %v but Dial ok = %v", src, digits, st.Match, ok)
		}
	})
}

func TestExtend(t *testing.T) {
	m, err := Parse("(1xx)")
	if err != nil {
		t.Fatal(err)
	}
	x, err := m.Extend([]string{"P3<:1000>"}, []string{"*78", "*72xx."})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		digits string
		match  MatchResult
		number string
	}{{"", Ambiguous, "1000"}, {"123", Complete, "123"}, {"*78", Complete, "*78"}, {"*72", Partial, "*72"}, {"*72100", Ambiguous, "*72100"}} {
		if st := x.Step([]byte(tt.digits)); st.Match != tt.match {
			t.Errorf("Step(%q) = %v, want %v", tt.digits, st.Match, tt.match)
		}
		if n, _, _ := x.Dial(tt.digits); n != tt.number {
			t.Errorf("Dial(%q) = %q, want %q", tt.digits, n, tt.number)
		}
	}
	if _, err := (*Map)(nil).Extend(nil, []string{"*7("}); err == nil {
		t.Error("bad alternative accepted")
	}
}
