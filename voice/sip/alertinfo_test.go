package sip

import "testing"

func TestRingPattern(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"empty", "", 0},
		{"bellcore url", "<http://127.0.0.1/Bellcore-dr2>", 2},
		{"bellcore bare uri", "<Bellcore-dr3>", 3},
		{"bellcore unbracketed", "Bellcore-dr4", 4},
		{"bellcore upper case", "<HTTP://PBX/BELLCORE-DR5>", 5},
		{"bellcore in info", "<http://www.notused.com>;info=Bellcore-dr2", 2},
		{"quoted info", `<http://x>;info="alert-internal"`, 2},
		{"asterisk info internal", "<http://www.notused.com>;info=alert-internal", 2},
		{"info external", "<http://www.notused.com>;info=alert-external;x-line-id=0", 1},
		{"info priority", "<sip:x>;INFO=Alert-Priority", 3},
		{"rfc 7462 internal", "<urn:alert:source:internal>", 2},
		{"rfc 7462 normal", "<urn:alert:service:normal>", 1},
		{"rfc 7462 priority", "<urn:alert:priority:high>", 3},
		{"first known element wins", "<http://pbx/custom.wav>, <urn:alert:priority:high>, <Bellcore-dr2>", 3},
		{"comma inside brackets", "<http://pbx/a,b/Bellcore-dr2>", 2},
		{"unknown pattern number", "<http://127.0.0.1/Bellcore-dr6>", 0},
		{"two-digit number", "<http://127.0.0.1/Bellcore-dr12>", 0},
		{"file name after pattern", "<http://pbx/Bellcore-dr3.wav>", 3},
		{"ring file", "<http://pbx/ring.wav>", 0},
		{"unterminated bracket", "<http://127.0.0.1/Bellcore-dr2", 0},
		{"call-waiting urn", "<urn:alert:service:call-waiting>", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RingPattern(tc.header); got != tc.want {
				t.Errorf("RingPattern(%q) = %d, want %d", tc.header, got, tc.want)
			}
		})
	}
}

// FuzzRingPattern: any header value gives a pattern in 0..5 without
// panicking.
func FuzzRingPattern(f *testing.F) {
	for _, s := range []string{"<http://127.0.0.1/Bellcore-dr2>", "<urn:alert:source:internal>",
		`<http://x>;info="alert-internal", <Bellcore-dr5>`, "<", "\"<,>\"", ";info=", "Bellcore-dr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := RingPattern(s); n < 0 || n > 5 {
			t.Fatalf("RingPattern(%q) = %d", s, n)
		}
	})
}
