package config

import (
	"strings"
	"testing"
)

// TestSRTPDefaultByTransport checks that an account without <srtp> gets
// optional SRTP on tls and none on udp or tcp, and that a set value stays.
func TestSRTPDefaultByTransport(t *testing.T) {
	cases := []struct {
		name, account, want string
	}{
		{"udp", `<registrar>sip:127.0.0.1:5060</registrar>`, "off"},
		{"tcp", `<registrar>sip:127.0.0.1:5060</registrar><transport>tcp</transport>`, "off"},
		{"tls element", `<registrar>sip:127.0.0.1:5061</registrar><transport>tls</transport>`, "optional"},
		{"sips registrar", `<registrar>sips:127.0.0.1:5061</registrar>`, "optional"},
		{"transport param", `<registrar>sip:127.0.0.1:5061;transport=tls</registrar>`, "optional"},
		{"tls set off", `<registrar>sips:127.0.0.1:5061</registrar><srtp>off</srtp>`, "off"},
		{"tls set mandatory", `<registrar>sips:127.0.0.1:5061</registrar><srtp>mandatory</srtp>`, "mandatory"},
		{"udp set optional", `<registrar>sip:127.0.0.1:5060</registrar><srtp>optional</srtp>`, "optional"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := `<loopstart><account id="1">` + tc.account +
				`<user>1001</user><password>x</password></account><port n="1" account="1"/></loopstart>`
			c, err := Parse(strings.NewReader(doc))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := c.Accounts[0].SRTP; got != tc.want {
				t.Errorf("srtp = %q, want %q", got, tc.want)
			}
		})
	}
}
