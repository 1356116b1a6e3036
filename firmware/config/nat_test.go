package config

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestNATElements(t *testing.T) {
	reg := `<registrar>sip:pbx.example</registrar><password>pw</password>`
	tests := []struct {
		name, account, sip string
		keepAlive          int
		want               []string // problems; nil = valid
	}{
		{"defaults", reg, "", DefaultKeepAlive, nil},
		{"all set", reg + `<keep-alive>15</keep-alive><stun>stun.example:3478</stun><outbound-proxy>sip:proxy.example:5070;transport=tcp</outbound-proxy><backup-registrar>sip:pbx2.example</backup-registrar>`,
			`<dns>192.0.2.53:5353</dns>`, 15, nil},
		{"keep-alive off", reg + `<keep-alive>0</keep-alive>`, `<dns>2001:db8::53</dns>`, 0, nil},
		{"keep-alive not a number", reg + `<keep-alive>often</keep-alive>`, "", 0,
			[]string{`line 2: loopstart/account[id=1]/keep-alive: "often": want seconds, 0 for off`}},
		{"keep-alive too long", reg + `<keep-alive>7200</keep-alive>`, "", 0,
			[]string{`line 2: loopstart/account[id=1]/keep-alive: 7200 is out of range 0..3600 seconds`}},
		{"stun without port", reg + `<stun>stun.example</stun>`, "", 0,
			[]string{`line 2: loopstart/account[id=1]/stun: "stun.example": want host:port`}},
		{"stun bad host", reg + `<stun>st un:3478</stun>`, "", 0,
			[]string{`line 2: loopstart/account[id=1]/stun: "st un:3478": bad character ' ' in host`}},
		{"proxy without registrar", `<outbound-proxy>sip:proxy.example</outbound-proxy>`, "", 0,
			[]string{`line 2: loopstart/account[id=1]/outbound-proxy: needs a registrar`}},
		{"backup not sip", reg + `<backup-registrar>http://pbx2</backup-registrar>`, "", 0,
			[]string{`line 2: loopstart/account[id=1]/backup-registrar: "http://pbx2" must start with "sip:" or "sips:"`}},
		{"dns by name", reg, `<dns>dns.example</dns>`, 0,
			[]string{`line 2: loopstart/sip/dns: "dns.example": want an IP address, optionally with :port`}},
		{"dns bad port", reg, `<dns>192.0.2.53:0</dns>`, 0,
			[]string{`line 2: loopstart/sip/dns: "192.0.2.53:0": port must be 1..65535`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `<account id="1"><user>1001</user>` + tt.account + `</account>`
			if tt.sip != "" {
				body += `<sip>` + tt.sip + `</sip>`
			}
			c, err := Parse(strings.NewReader(doc(body)))
			if tt.want != nil {
				if got := problemStrings(err); !slices.Equal(got, tt.want) {
					t.Fatalf("problems %q, want %q", got, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := c.Accounts[0]
			if a.KeepAliveSeconds() != tt.keepAlive {
				t.Errorf("keep-alive %d, want %d", a.KeepAliveSeconds(), tt.keepAlive)
			}
			b, _ := c.Marshal()
			if c2, err := Parse(strings.NewReader(string(b))); err != nil || c2.Accounts[0] != c.Accounts[0] {
				t.Errorf("round trip: %+v, %v\n%s", c2, err, b)
			}
			j, err := json.Marshal(c.JSONMap())
			if err != nil {
				t.Fatal(err)
			}
			if c3, err := ParseJSON(j); err != nil || c3.Accounts[0] != c.Accounts[0] || (c.SIP != nil && (c3.SIP == nil || c3.SIP.DNS != c.SIP.DNS)) {
				t.Errorf("json round trip: %v\n%s", err, j)
			}
		})
	}
}
