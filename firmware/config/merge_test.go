package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const baseXML = `<loopstart>
  <account id="1"><registrar>sip:127.0.0.1:5060</registrar><user>1001</user><password>secret1</password></account>
  <account id="2"><registrar>sip:127.0.0.1:5060</registrar><user>1002</user><password>secret2</password></account>
  <port n="1" account="1"/>
  <port n="2" account="2"/>
</loopstart>`

func baseConfig(t testing.TB) *Config {
	c, err := Parse(strings.NewReader(baseXML))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMerge(t *testing.T) {
	good := []struct {
		name, file string
		check      func(*Config) bool
	}{
		{"one field", `<loopstart><account id="2"><user>2002</user></account></loopstart>`, func(c *Config) bool {
			return c.Account("2").User == "2002" && c.Account("2").Password == "secret2" && c.Account("1").User == "1001"
		}},
		{"new port setting and provisioning", `<?xml version="1.0"?><loopstart><port n="1"><country>de</country></port><provisioning><url>https://p.example/</url></provisioning></loopstart>`,
			func(c *Config) bool {
				return c.Ports[0].Country == "de" && c.Ports[0].Account == "1" && c.Provisioning.URL == "https://p.example/"
			}},
		{"remove", `<loopstart><port n="2" remove="true"/><account id="2" remove="true"/></loopstart>`, func(c *Config) bool {
			return len(c.Ports) == 1 && len(c.Accounts) == 1
		}},
		{"escaped text", `<loopstart><account id="1"><password>a&lt;b&amp;c</password></account></loopstart>`, func(c *Config) bool {
			return c.Account("1").Password == "a<b&c"
		}},
	}
	for _, c := range good {
		got, err := Merge(baseConfig(t), []byte(c.file))
		if err != nil || !c.check(got) {
			t.Errorf("%s: %v %+v", c.name, err, got)
		}
	}
	bad := []struct{ name, file, want string }{
		{"bad xml", `<loopstart><account id="1"></loopstart>`, "malformed XML"},
		{"truncated", baseXML[:90], "malformed XML"},
		{"empty", ``, "empty file"},
		{"invalid value", `<loopstart><account id="1"><expires>5</expires></account></loopstart>`, "loopstart/account[id=1]/expires"},
		{"unknown element", `<loopstart><acount/></loopstart>`, "acount"},
		{"wrong root", `<gs_provision/>`, "not <loopstart>"},
		{"two roots", `<loopstart/><loopstart/>`, "more than one root"},
	}
	for _, c := range bad {
		cur := baseConfig(t)
		before, _ := cur.Marshal()
		_, err := Merge(cur, []byte(c.file))
		after, _ := cur.Marshal()
		if err == nil || !strings.Contains(err.Error(), c.want) || !bytes.Equal(before, after) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestMergeSemantics merges files one after the other onto baseXML.
func TestMergeSemantics(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		check func(*Config) bool
	}{
		{"sparse file keeps the rest", []string{`<loopstart><port n="2"><dial-plan>1xx</dial-plan></port></loopstart>`},
			func(c *Config) bool {
				return c.Ports[1].DialPlan == "1xx" && c.Ports[1].Account == "2" && c.Ports[0].DialPlan == "" &&
					c.Account("1").Registrar == "sip:127.0.0.1:5060" && len(c.Accounts) == 2
			}},
		{"attribute replaced", []string{`<loopstart><account id="3"><user>1003</user></account><port n="2" account="3"/></loopstart>`},
			func(c *Config) bool {
				return c.Ports[1].Account == "3" && len(c.Accounts) == 3 && c.Accounts[2].Transport == "udp"
			}},
		{"port matched by number", []string{`<loopstart><port n=" 01 "><country>fr</country></port></loopstart>`},
			func(c *Config) bool { return len(c.Ports) == 2 && c.Ports[0].Country == "fr" }},
		{"new port appended", []string{`<loopstart><account id="3"><user>1003</user></account><port n="3" account="3"><extension>103</extension></port></loopstart>`},
			func(c *Config) bool {
				return len(c.Ports) == 3 && c.Ports[2].Extension == "103" && c.Ports[2].Country == "us"
			}},
		{"field removed goes back to its default", []string{
			`<loopstart><account id="1"><expires>600</expires><display-name>Desk</display-name></account></loopstart>`,
			`<loopstart><account id="1"><expires remove="true"/><display-name remove="yes"/></account></loopstart>`},
			func(c *Config) bool { a := c.Account("1"); return a.Expires == DefaultExpires && a.DisplayName == "" }},
		{"single element merged then removed", []string{
			`<loopstart><provisioning><url>http://p/</url><interval>600</interval></provisioning></loopstart>`,
			`<loopstart><provisioning><url>http://q/</url></provisioning></loopstart>`},
			func(c *Config) bool { return c.Provisioning.URL == "http://q/" && c.Provisioning.Interval == 600 }},
		{"single element removed", []string{
			`<loopstart><sip><user-agent>x</user-agent></sip><firmware><url>http://f/i.img</url></firmware></loopstart>`,
			`<loopstart><sip remove="1"/></loopstart>`},
			func(c *Config) bool { return c.SIP == nil && c.Firmware != nil }},
		{"removing what is not there", []string{`<loopstart><port n="7" remove="true"/><firmware remove="true"/></loopstart>`},
			func(c *Config) bool { return len(c.Ports) == 2 && c.Firmware == nil }},
		{"remove=false keeps", []string{`<loopstart><port n="2" remove="false"><country>uk</country></port></loopstart>`},
			func(c *Config) bool { return len(c.Ports) == 2 && c.Ports[1].Country == "uk" }},
		{"the same account twice", []string{`<loopstart><account id="1"><user>a</user></account><account id="1"><password>b</password></account></loopstart>`},
			func(c *Config) bool {
				a := c.Account("1")
				return len(c.Accounts) == 2 && a.User == "a" && a.Password == "b"
			}},
		{"a whole file of itself changes nothing", []string{baseXML},
			func(c *Config) bool { return reflect.DeepEqual(stripped(c), stripped(baseConfig(t))) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig(t)
			for _, f := range tt.files {
				next, err := Merge(c, []byte(f))
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				c = next
			}
			if !tt.check(c) {
				t.Errorf("merged: %+v", c)
			}
		})
	}
}

// TestMergeProblems checks the problems of partial files: the lines are
// the file's.
func TestMergeProblems(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"out of range", "<loopstart>\n<account id=\"1\">\n<expires>5</expires></account></loopstart>",
			[]string{"line 3: loopstart/account[id=1]/expires: 5 is out of range 60..86400 seconds"}},
		{"account without id is added", "<loopstart>\n<account><user>7</user></account></loopstart>",
			[]string{"line 2: loopstart/account[3]: id attribute missing"}},
		{"port without number", "<loopstart>\n<port account=\"1\"/></loopstart>",
			[]string{"line 2: loopstart/port[3]: n attribute missing (the port number, 1..32)",
				`line 2: loopstart/port[3]: account "1" is already used by port[n=1]`}},
		{"field twice", "<loopstart><account id=\"1\">\n<user>1</user>\n<user>2</user></account></loopstart>",
			[]string{"line 3: loopstart/account[id=1]/user: appears more than once"}},
		{"single element twice", "<loopstart>\n<sip/>\n<sip/></loopstart>",
			[]string{"line 3: loopstart/sip: <sip> appears more than once"}},
		{"unknown field", "<loopstart>\n<port n=\"1\"><codec>x</codec></port></loopstart>",
			[]string{"line 2: loopstart/port[n=1]/codec: unknown element (expected country, dial-plan, local-features, flash-relay, dtmf, star-codes, hotline, hotline-delay, extension, caller-id, pstn-to, answer-rings, answer-rule, silence-timeout, dial-tone, pstn-strip, pstn-prefix, echo-canceller, echo-tail, fax, flash, call-waiting, three-way, conference-transfer, tx-gain, rx-gain, hunt-timeout)"}},
		{"remove on the root is ignored, others are not", `<loopstart remove="true" x="1"/>`,
			[]string{"line 1: loopstart/@x: unknown attribute x"}},
		{"problem about an element removed later", "<loopstart>\n<account id=\"2\"><bogus/></account>\n<account id=\"1\">\n<user>9 9</user></account>\n<account id=\"2\" remove=\"true\"/>\n<port n=\"2\" remove=\"true\"/></loopstart>",
			[]string{"line 2: loopstart/account/bogus: unknown element (expected registrar, user, auth-user, password, display-name, expires, transport, ca-file, srtp, codecs, mwi-subscribe, mailbox, keep-alive, stun, outbound-proxy, backup-registrar)",
				`line 4: loopstart/account[id=1]/user: "9 9" has a character not allowed in a SIP user: ' '`}},
		{"dangling port, no line", `<loopstart><account id="2" remove="true"/></loopstart>`,
			[]string{`loopstart/port[n=2]: account "2" is not defined`}},
		{"too large", "<loopstart>" + strings.Repeat(" ", MaxFileSize) + "</loopstart>",
			[]string{"file is larger than 1048576 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(baseConfig(t), []byte(tt.file))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, p := range verr.Problems {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func FuzzMerge(f *testing.F) {
	f.Add([]byte(`<loopstart><account id="2"><user>2002</user></account></loopstart>`))
	f.Add([]byte(baseXML))
	f.Add([]byte(`<loopstart><port n="2" remove="true"/><account id="2" remove="true"/><sip remove="1"/></loopstart>`))
	f.Add([]byte(`<loopstart><account id="1"><expires remove="true"/></account><provisioning><url>http://p/</url></provisioning></loopstart>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cur := baseConfig(t)
		before, _ := cur.Marshal()
		c, err := Merge(cur, b)
		if after, _ := cur.Marshal(); !bytes.Equal(before, after) {
			t.Fatal("Merge changed the current config")
		}
		if err != nil {
			var verr *ValidationError
			if !errors.As(err, &verr) || len(verr.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("merged config invalid: %v", err)
		}
		// A config merged with its own whole file stays as it is.
		whole, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Merge(c, whole)
		if err != nil || !reflect.DeepEqual(stripped(again), stripped(c)) {
			t.Fatalf("merging the whole file changed the config: %v\n%+v\n%+v", err, again, c)
		}
	})
}
