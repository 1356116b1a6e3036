package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestHuntChecks: a hunt list in <pstn-to> is checked target by target,
// each bad one named; <hunt-timeout> is a whole number of seconds.
func TestHuntChecks(t *testing.T) {
	const acct = `<account id="3"><registrar>sip:pbx.example</registrar><user>1004</user><password>p</password></account>` + "\n"
	bad := func(target string) string {
		return `line 3: loopstart/port[n=3]/pstn-to: "` + target + `": want an extension, a number or a sip: URI`
	}
	tests := []struct {
		name string
		port string
		want []string
	}{
		{"list", `<port n="3" account="3"><pstn-to>101,102,sip:ops@pbx.example</pstn-to><hunt-timeout>15</hunt-timeout></port>`, nil},
		{"list with spaces after commas", `<port n="3" account="3"><pstn-to>101, 102</pstn-to></port>`, nil},
		{"empty target", `<port n="3" account="3"><pstn-to>101,,102</pstn-to></port>`, []string{bad("")}},
		{"trailing comma", `<port n="3" account="3"><pstn-to>101,</pstn-to></port>`, []string{bad("")}},
		{"two bad targets: the first named", `<port n="3" account="3"><pstn-to>101,ops@pbx,sip:</pstn-to></port>`, []string{bad("ops@pbx")}},
		{"hunt-timeout too short", `<port n="3" account="3"><pstn-to>101,102</pstn-to><hunt-timeout>4</hunt-timeout></port>`,
			[]string{`line 3: loopstart/port[n=3]/hunt-timeout: "4" is not a whole number in 5..300`}},
		{"hunt-timeout with a unit", `<port n="3" account="3"><pstn-to>101,102</pstn-to><hunt-timeout>20s</hunt-timeout></port>`,
			[]string{`line 3: loopstart/port[n=3]/hunt-timeout: "20s" is not a whole number in 5..300`}},
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
