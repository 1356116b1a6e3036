package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestFXOChecks: each bad FXO trunk setting of a port is named by its path
// and line; good ones pass.
func TestFXOChecks(t *testing.T) {
	const acct = `<account id="3"><registrar>sip:pbx.example</registrar><user>1004</user><password>p</password></account>` + "\n"
	tests := []struct {
		name string
		port string
		want []string // every Problem.String(); nil: the file is valid
	}{
		{"trunk to an extension", `<port n="3" account="3"><pstn-to>101</pstn-to><pstn-strip>1</pstn-strip></port>`, nil},
		{"trunk to a uri, every setting", `<port n="3" account="3"><pstn-to>sip:ops@pbx.example</pstn-to><answer-rings>3</answer-rings>` +
			`<answer-rule>immediate</answer-rule><silence-timeout>30</silence-timeout><dial-tone>blind</dial-tone><pstn-prefix>9#</pstn-prefix></port>`, nil},
		{"two-stage", `<port n="3" account="3"/>`, nil},
		{"answer-rings zero", `<port n="3" account="3"><answer-rings>0</answer-rings></port>`, []string{"line 3: loopstart/port[n=3]/answer-rings: \"0\" is not a whole number in 1..20"}},
		{"answer-rings too many", `<port n="3" account="3"><answer-rings>21</answer-rings></port>`, []string{"line 3: loopstart/port[n=3]/answer-rings: \"21\" is not a whole number in 1..20"}},
		{"answer-rule unknown", `<port n="3" account="3"><answer-rule>voice</answer-rule></port>`, []string{"line 3: loopstart/port[n=3]/answer-rule: \"voice\" is not one of polarity, immediate"}},
		{"silence-timeout not a number", `<port n="3" account="3"><silence-timeout>10s</silence-timeout></port>`, []string{"line 3: loopstart/port[n=3]/silence-timeout: \"10s\" is not a whole number in 1..3600"}},
		{"silence-timeout too long", `<port n="3" account="3"><silence-timeout>3601</silence-timeout></port>`, []string{"line 3: loopstart/port[n=3]/silence-timeout: \"3601\" is not a whole number in 1..3600"}},
		{"dial-tone unknown", `<port n="3" account="3"><dial-tone>wait</dial-tone></port>`, []string{"line 3: loopstart/port[n=3]/dial-tone: \"wait\" is not one of detect, blind"}},
		{"pstn-strip negative", `<port n="3" account="3"><pstn-strip>-1</pstn-strip></port>`, []string{"line 3: loopstart/port[n=3]/pstn-strip: \"-1\" is not a whole number in 0..20"}},
		{"pstn-prefix letters", `<port n="3" account="3"><pstn-prefix>9x</pstn-prefix></port>`, []string{"line 3: loopstart/port[n=3]/pstn-prefix: \"9x\": want digits, * and # only"}},
		{"pstn-to with a space", `<port n="3" account="3"><pstn-to>10 1</pstn-to></port>`, []string{"line 3: loopstart/port[n=3]/pstn-to: \"10 1\": want an extension, a number or a sip: URI"}},
		{"pstn-to address without sip:", `<port n="3" account="3"><pstn-to>ops@pbx.example</pstn-to></port>`, []string{"line 3: loopstart/port[n=3]/pstn-to: \"ops@pbx.example\": want an extension, a number or a sip: URI"}},
		{"pstn-to bare sip:", `<port n="3" account="3"><pstn-to>sip:</pstn-to></port>`, []string{"line 3: loopstart/port[n=3]/pstn-to: \"sip:\": want an extension, a number or a sip: URI"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(doc(acct + tt.port)))
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
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}
