package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestGainChecks: a bad gain is named by its path and line; good ones
// parse to their dB figures.
func TestGainChecks(t *testing.T) {
	tests := []struct {
		name   string
		port   string
		want   []string // every Problem.String(); nil: valid
		tx, rx float64
	}{
		{"none", `<port n="1" account="1"/>`, nil, 0, 0},
		{"both", `<port n="1" account="1"><tx-gain>-3.5</tx-gain><rx-gain>6</rx-gain></port>`, nil, -3.5, 6},
		{"limits", `<port n="3" account="1"><tx-gain>12</tx-gain><rx-gain>-12.0</rx-gain></port>`, nil, 12, -12},
		{"plus sign", `<port n="1" account="1"><tx-gain>+2.5</tx-gain></port>`, nil, 2.5, 0},
		{"too loud", `<port n="1" account="1"><tx-gain>12.5</tx-gain></port>`,
			[]string{`line 3: loopstart/port[n=1]/tx-gain: "12.5" is not a gain in dB from -12 to 12 in steps of 0.5`}, 0, 0},
		{"too quiet", `<port n="3" account="1"><rx-gain>-20</rx-gain></port>`,
			[]string{`line 3: loopstart/port[n=3]/rx-gain: "-20" is not a gain in dB from -12 to 12 in steps of 0.5`}, 0, 0},
		{"odd step", `<port n="1" account="1"><rx-gain>1.25</rx-gain></port>`,
			[]string{`line 3: loopstart/port[n=1]/rx-gain: "1.25" is not a gain in dB from -12 to 12 in steps of 0.5`}, 0, 0},
		{"unit", `<port n="1" account="1"><tx-gain>3dB</tx-gain><rx-gain>NaN</rx-gain></port>`,
			[]string{`line 3: loopstart/port[n=1]/tx-gain: "3dB" is not a gain in dB from -12 to 12 in steps of 0.5`,
				`line 3: loopstart/port[n=1]/rx-gain: "NaN" is not a gain in dB from -12 to 12 in steps of 0.5`}, 0, 0},
	}
	const acct = `<account id="1"><registrar>sip:pbx.example</registrar><user>1001</user><password>p</password></account>` + "\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(doc(acct + tt.port)))
			var got []string
			if err != nil {
				var verr *ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
				}
				for _, p := range verr.Problems {
					got = append(got, p.String())
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if err != nil {
				return
			}
			if tx, rx := cfg.Ports[0].Gains(); tx != tt.tx || rx != tt.rx {
				t.Errorf("gains %v, %v; want %v, %v", tx, rx, tt.tx, tt.rx)
			}
		})
	}
}

func FuzzParseGain(f *testing.F) {
	for _, s := range []string{"", "0", "-12", "12.5", "1e1", "0x1p3", "Inf", "-0.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, ok := parseGain(s)
		if ok && (g < MinGain || g > MaxGain || g*2 != float64(int(g*2))) {
			t.Fatalf("parseGain(%q) = %v, accepted", s, g)
		}
		if !ok && g != 0 {
			t.Fatalf("parseGain(%q) = %v on failure", s, g)
		}
	})
}
