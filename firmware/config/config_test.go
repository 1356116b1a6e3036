package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// contractMinimal is contract 4's minimal file, exactly as written there.
const contractMinimal = `<loopstart>
  <account id="1"><registrar>sip:127.0.0.1:5060</registrar><user>1001</user><password>secret1</password></account>
  <account id="2"><registrar>sip:127.0.0.1:5060</registrar><user>1002</user><password>secret2</password></account>
  <port n="1" account="1"/>
  <port n="2" account="2"/>
</loopstart>
`

func TestContractMinimal(t *testing.T) {
	c, err := Parse(strings.NewReader(contractMinimal))
	if err != nil {
		t.Fatalf("contract 4 minimal file rejected:\n%v", err)
	}
	want := []Account{
		{ID: "1", Registrar: "sip:127.0.0.1:5060", User: "1001", Password: "secret1",
			Expires: DefaultExpires, Transport: "udp", SRTP: "off", Codecs: "pcmu,pcma"},
		{ID: "2", Registrar: "sip:127.0.0.1:5060", User: "1002", Password: "secret2",
			Expires: DefaultExpires, Transport: "udp", SRTP: "off", Codecs: "pcmu,pcma"},
	}
	if !reflect.DeepEqual(c.Accounts, want) {
		t.Errorf("accounts = %+v\nwant %+v", c.Accounts, want)
	}
	wantPorts := []Port{{N: 1, Account: "1", Country: "us"}, {N: 2, Account: "2", Country: "us"}}
	if !reflect.DeepEqual(c.Ports, wantPorts) {
		t.Errorf("ports = %+v, want %+v", c.Ports, wantPorts)
	}
	// Port 1 registers as 1001, port 2 as 1002.
	for _, p := range c.Ports {
		if got, want := c.Account(p.Account).User, "100"+p.Account; got != want {
			t.Errorf("port %d user = %q, want %q", p.N, got, want)
		}
	}
	if c.SIP != nil || c.Provisioning != nil {
		t.Errorf("sip/provisioning appeared from nowhere: %+v %+v", c.SIP, c.Provisioning)
	}
}

func TestByteOrderMark(t *testing.T) {
	if _, err := Parse(strings.NewReader("\ufeff" + contractMinimal)); err != nil {
		t.Errorf("file with a BOM rejected: %v", err)
	}
}

func TestFullFile(t *testing.T) {
	c, err := ParseFile("testdata/full.xml")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Accounts[0]
	if a.Password != "s3cret & more" || a.Transport != "tls" || a.Expires != 600 || a.AuthUser != "u1001" {
		t.Errorf("office account = %+v", a)
	}
	if got := a.CodecList(); !reflect.DeepEqual(got, []string{"g722", "pcma"}) {
		t.Errorf("codecs = %q", got)
	}
	if c.Accounts[1].Transport != "tcp" {
		t.Errorf("transport from ;transport=tcp = %q", c.Accounts[1].Transport)
	}
	if c.Accounts[2].Registrar != "" || c.Accounts[2].Transport != "udp" {
		t.Errorf("direct account = %+v", c.Accounts[2])
	}
	if c.Ports[0].DialPlan != "(1xx|[2-9]x.|0x.|*xx|#)" || c.Ports[1].Country != "jp" || c.Ports[2].N != 8 {
		t.Errorf("ports = %+v", c.Ports)
	}
	if c.SIP == nil || c.SIP.UserAgent != "Loopstart test" {
		t.Errorf("sip = %+v", c.SIP)
	}
	if c.Provisioning == nil || c.Provisioning.Interval != 3600 || !strings.HasPrefix(c.Provisioning.URL, "https://") {
		t.Errorf("provisioning = %+v", c.Provisioning)
	}
}

func TestTLSRegistrarForms(t *testing.T) {
	for _, reg := range []string{"sips:127.0.0.1:5061", "sip:127.0.0.1:5061;transport=tls"} {
		t.Run(reg, func(t *testing.T) {
			doc := `<loopstart><account id="1"><registrar>` + reg + `</registrar><user>1001</user><password>p</password>` +
				`<ca-file>/tmp/ca.pem</ca-file></account><port n="1" account="1"/></loopstart>`
			c, err := Parse(strings.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			if c.Accounts[0].Transport != "tls" {
				t.Errorf("transport = %q, want tls", c.Accounts[0].Transport)
			}
		})
	}
}

// doc wraps body in <loopstart> on line 1, so body starts on line 2.
func doc(body string) string {
	return "<loopstart>\n" + body + "\n</loopstart>\n"
}

const okAccount = `<account id="1"><registrar>sip:127.0.0.1:5060</registrar><user>1001</user><password>p</password></account>`

func TestBrokenFiles(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // every Problem.String(), in order
	}{
		{"empty", "", []string{"no <loopstart> element: the file is empty"}},
		{"wrong root", "<config/>", []string{"line 1: the root element is <config>, want <loopstart>"}},
		{"malformed", doc("<account id=\"1\"><user>1</user></port>"),
			[]string{"line 2: malformed XML: element <account> closed by </port>"}},
		{"unclosed", "<loopstart>\n<account id=\"1\">", []string{"line 2: malformed XML: unexpected EOF"}},
		{"doctype", "<!DOCTYPE loopstart>\n<loopstart/>", []string{"line 1: <!DOCTYPE> declarations are not allowed"}},
		{"two roots", "<loopstart/>\n<loopstart/>", []string{"line 2: second root element <loopstart> after </loopstart>"}},
		{"text outside", "<loopstart/>\nhello", []string{"line 1: text outside the <loopstart> element"}},
		{"root attribute", `<loopstart version="2"></loopstart>`, []string{"line 1: loopstart/@version: unknown attribute version"}},
		{"root text", doc("hello"), []string{`line 1: loopstart: unexpected text "hello"`}},
		{"unknown top element", doc("<acount id=\"1\"/>"),
			[]string{"line 2: loopstart/acount: unknown element (expected account, port, sip, provisioning or firmware)"}},
		{"firmware bad scheme", doc(`<firmware><url>ftp://pbx/fw.img</url></firmware>`),
			[]string{`line 2: loopstart/firmware/url: "ftp://pbx/fw.img": scheme must be tftp, http or https`}},
		{"firmware no url", doc(`<firmware></firmware>`), []string{"line 2: loopstart/firmware/url: missing"}},
		{"firmware twice", doc("<firmware><url>http://a/x</url></firmware>\n<firmware><url>http://b/x</url></firmware>"),
			[]string{"line 3: loopstart/firmware: <firmware> appears more than once"}},
		{"firmware unknown child", doc(`<firmware><url>http://a/x</url><md5>x</md5></firmware>`),
			[]string{"line 2: loopstart/firmware/md5: unknown element (expected url, allow-downgrade)"}},
		{"sip direct-calls not a boolean", doc("<sip>\n<direct-calls>yes</direct-calls></sip>"),
			[]string{`line 3: loopstart/sip/direct-calls: "yes": want true or false`}},
		{"sip ignore-strangers not a boolean", doc("<sip>\n<ignore-strangers>1</ignore-strangers></sip>"),
			[]string{`line 3: loopstart/sip/ignore-strangers: "1": want true or false`}},
		{"firmware allow-downgrade not a boolean", doc("<firmware><url>http://a/x</url>\n<allow-downgrade>yes</allow-downgrade></firmware>"),
			[]string{`line 3: loopstart/firmware/allow-downgrade: "yes": want true or false`}},
		{"unknown account attribute", doc(`<account id="1" pass="x"><user>1</user></account>`),
			[]string{"line 2: loopstart/account[id=1]: unknown attribute pass"}},
		{"unknown account element", doc(`<account id="1"><user>1</user><secret>x</secret></account>`),
			[]string{"line 2: loopstart/account[id=1]/secret: unknown element (expected registrar, user, auth-user, password, display-name, expires, transport, ca-file, srtp, codecs, mwi-subscribe, mailbox, keep-alive, stun, outbound-proxy, backup-registrar)"}},
		{"text in account", doc(`<account id="1">1001<user>1</user></account>`),
			[]string{`line 2: loopstart/account[id=1]: unexpected text "1001" (values go in child elements)`}},
		{"attribute on a field", doc(`<account id="1"><user type="x">1</user></account>`),
			[]string{"line 2: loopstart/account[id=1]/user: unknown attribute type"}},
		{"element in a field", doc(`<account id="1"><user><n>1</n></user></account>`),
			[]string{"line 2: loopstart/account[id=1]/user: must hold text, not the element <n>"}},
		{"field twice", doc("<account id=\"1\">\n<user>1</user>\n<user>2</user></account>"),
			[]string{"line 4: loopstart/account[id=1]/user: appears more than once"}},
		{"expires not a number", doc("<account id=\"2\"><user>1</user>\n<expires>abc</expires></account>"),
			[]string{`line 3: loopstart/account[id=2]/expires: "abc" is not a number`}},
		{"expires too small", doc(`<account id="1"><user>1</user><expires>30</expires></account>`),
			[]string{"line 2: loopstart/account[id=1]/expires: 30 is out of range 60..86400 seconds"}},
		{"expires negative", doc(`<account id="1"><user>1</user><expires>-1</expires></account>`),
			[]string{"line 2: loopstart/account[id=1]/expires: -1 is out of range 60..86400 seconds"}},
		{"transport by index", doc(okAccount + "\n<account id=\"\"><user>2</user>\n<transport>xyz</transport></account>"),
			[]string{"line 3: loopstart/account[2]: id attribute missing",
				`line 4: loopstart/account[2]/transport: "xyz" is not one of udp, tcp, tls`}},
		{"password missing", doc(`<account id="1"><registrar>sip:pbx</registrar><user>1</user></account>`),
			[]string{"line 2: loopstart/account[id=1]/password: missing (an account with a registrar needs one)"}},
		{"user missing", doc(`<account id="1"></account>`),
			[]string{"line 2: loopstart/account[id=1]/user: missing"}},
		{"user with space", doc(`<account id="1"><user>10 01</user></account>`),
			[]string{`line 2: loopstart/account[id=1]/user: "10 01" has a character not allowed in a SIP user: ' '`}},
		{"id missing", doc(`<account><user>1</user></account>`),
			[]string{"line 2: loopstart/account[1]: id attribute missing"}},
		{"id bad", doc(`<account id="a b"><user>1</user></account>`),
			[]string{`line 2: loopstart/account[1]: id "a b" may only hold letters, digits and . _ : -`}},
		{"duplicate id", doc(okAccount + "\n" + `<account id="1"><user>2</user></account>`),
			[]string{`line 3: loopstart/account[2]: duplicate id "1" (account[1] has it too)`}},
		{"registrar scheme", doc(`<account id="1"><registrar>http://pbx</registrar><user>1</user><password>p</password></account>`),
			[]string{`line 2: loopstart/account[id=1]/registrar: "http://pbx" must start with "sip:" or "sips:"`}},
		{"registrar with user", doc(`<account id="1"><registrar>sip:1001@pbx</registrar><user>1</user><password>p</password></account>`),
			[]string{`line 2: loopstart/account[id=1]/registrar: "sip:1001@pbx": give only the registrar's host, the user goes in <user>`}},
		{"registrar port", doc(`<account id="1"><registrar>sip:pbx:99999</registrar><user>1</user><password>p</password></account>`),
			[]string{`line 2: loopstart/account[id=1]/registrar: "sip:pbx:99999": port "99999" must be 1..65535`}},
		{"registrar param", doc(`<account id="1"><registrar>sip:pbx;lr</registrar><user>1</user><password>p</password></account>`),
			[]string{`line 2: loopstart/account[id=1]/registrar: "sip:pbx;lr": unsupported parameter "lr" (only ;transport= is allowed)`}},
		{"transport conflict", doc(`<account id="1"><registrar>sip:pbx;transport=tcp</registrar><user>1</user><password>p</password><transport>udp</transport></account>`),
			[]string{`line 2: loopstart/account[id=1]/transport: "udp" conflicts with the registrar's ;transport=tcp`}},
		{"sips needs tls", doc(`<account id="1"><registrar>sips:pbx</registrar><user>1</user><password>p</password><transport>tcp</transport></account>`),
			[]string{`line 2: loopstart/account[id=1]/transport: "tcp" conflicts with the sips: registrar, which needs tls`}},
		{"ca-file without tls", doc(`<account id="1"><user>1</user><ca-file>/ca.pem</ca-file></account>`),
			[]string{"line 2: loopstart/account[id=1]/ca-file: only applies to transport tls"}},
		{"srtp", doc(`<account id="1"><user>1</user><srtp>yes</srtp></account>`),
			[]string{`line 2: loopstart/account[id=1]/srtp: "yes" is not one of off, optional, mandatory`}},
		{"codecs unknown", doc(`<account id="1"><user>1</user><codecs>pcmu,opus</codecs></account>`),
			[]string{`line 2: loopstart/account[id=1]/codecs: "opus" is not one of pcmu, pcma, g722`}},
		{"codecs twice", doc(`<account id="1"><user>1</user><codecs>pcmu,pcmu</codecs></account>`),
			[]string{`line 2: loopstart/account[id=1]/codecs: "pcmu" is listed twice`}},
		{"codecs empty entry", doc(`<account id="1"><user>1</user><codecs>pcmu,,pcma</codecs></account>`),
			[]string{`line 2: loopstart/account[id=1]/codecs: "pcmu,,pcma" has an empty entry`}},
		{"port account undefined", doc(okAccount + "\n" + `<port n="3" account="9"/>`),
			[]string{`line 3: loopstart/port[n=3]: account "9" is not defined`}},
		{"port account missing", doc(okAccount + "\n" + `<port n="1"/>`),
			[]string{"line 3: loopstart/port[n=1]: account attribute missing"}},
		{"port n missing", doc(okAccount + "\n" + `<port account="1"/>`),
			[]string{"line 3: loopstart/port[1]: n attribute missing (the port number, 1..32)"}},
		{"port n not a number", doc(okAccount + "\n" + `<port n="one" account="1"/>`),
			[]string{`line 3: loopstart/port[1]: n="one" is not a number`}},
		{"port n out of range", doc(okAccount + "\n" + `<port n="33" account="1"/>`),
			[]string{"line 3: loopstart/port[1]: n 33 is out of range 1..32"}},
		{"port n twice", doc(okAccount + "\n" + `<account id="2"><user>2</user></account>` + "\n" +
			`<port n="1" account="1"/>` + "\n" + `<port n="1" account="2"/>`),
			[]string{"line 5: loopstart/port[2]: duplicate port n=1 (port[1] has it too)"}},
		{"account shared", doc(okAccount + "\n" + `<port n="1" account="1"/>` + "\n" + `<port n="2" account="1"/>`),
			[]string{`line 4: loopstart/port[n=2]: account "1" is already used by port[n=1]`}},
		{"port unknown element", doc(okAccount + "\n" + `<port n="1" account="1"><codec>pcmu</codec></port>`),
			[]string{"line 3: loopstart/port[n=1]/codec: unknown element (expected country, dial-plan, local-features, flash-relay, dtmf, star-codes, hotline, hotline-delay, extension, caller-id, pstn-to, answer-rings, answer-rule, silence-timeout, dial-tone, pstn-strip, pstn-prefix, echo-canceller, echo-tail, fax, flash, call-waiting, three-way, conference-transfer, tx-gain, rx-gain, hunt-timeout)"}},
		{"country", doc(okAccount + "\n" + `<port n="1" account="1"><country>US</country></port>`),
			[]string{`line 3: loopstart/port[n=1]/country: "US" is not one of at, au, be, br, ca, ch, cn, de, es, fr, in, it, jp, mx, nl, nz, pl, ru, se, uk, us`}},
		{"echo canceller", doc(okAccount + "\n" + `<port n="1" account="1"><echo-canceller>yes</echo-canceller></port>`),
			[]string{`line 3: loopstart/port[n=1]/echo-canceller: "yes" is not one of on, off`}},
		{"echo tail", doc(okAccount + "\n" + `<port n="1" account="1"><echo-tail>256</echo-tail></port>`),
			[]string{`line 3: loopstart/port[n=1]/echo-tail: 256 ms is out of range 16..128`}},
		{"fax", doc(okAccount + "\n" + `<port n="1" account="1"><fax>t38</fax></port>`),
			[]string{`line 3: loopstart/port[n=1]/fax: "t38" is not one of auto, on, off`}},
		{"dial plan", doc(okAccount + "\n" + `<port n="1" account="1"><dial-plan>(1xx|[9-2]x.)</dial-plan></port>`),
			[]string{`line 3: loopstart/port[n=1]/dial-plan: "(1xx|[9-2]x.)": column 7: range 9-2 runs backwards`}},
		{"extension", doc(okAccount + "\n" + `<port n="1" account="1"><extension>10a</extension></port>`),
			[]string{`line 3: loopstart/port[n=1]/extension: "10a" may only hold digits, * and #`}},
		{"extension twice", doc(okAccount + "\n" + `<account id="2"><user>2</user></account>` + "\n" +
			`<port n="1" account="1"><extension>10</extension></port>` + "\n" + `<port n="2" account="2"><extension>10</extension></port>`),
			[]string{`line 5: loopstart/port[n=2]/extension: "10" is already the extension of port[n=1]`}},
		{"provisioning url missing", doc("<provisioning></provisioning>"),
			[]string{"line 2: loopstart/provisioning/url: missing"}},
		{"provisioning scheme", doc("<provisioning>\n<url>ftp://x/cfg.xml</url></provisioning>"),
			[]string{`line 3: loopstart/provisioning/url: "ftp://x/cfg.xml": scheme must be tftp, http or https`}},
		{"provisioning interval", doc("<provisioning><url>tftp://10.0.0.1/c.xml</url>\n<interval>59</interval></provisioning>"),
			[]string{"line 3: loopstart/provisioning/interval: 59 is out of range 60..2592000 seconds"}},
		{"provisioning twice", doc("<provisioning><url>http://x/</url></provisioning>\n<provisioning/>"),
			[]string{"line 3: loopstart/provisioning: <provisioning> appears more than once"}},
		{"sip unknown", doc("<sip><listen>0.0.0.0:5060</listen></sip>"),
			[]string{"line 2: loopstart/sip/listen: unknown element (expected user-agent, direct-calls, ignore-strangers, dns)"}},
		{"nested too deep", doc(strings.Repeat("<a>", 20) + strings.Repeat("</a>", 20)),
			[]string{"line 2: elements nested too deeply"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
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

// TestAllProblemsReported checks that one file with many mistakes reports
// every one of them, in line order.
func TestAllProblemsReported(t *testing.T) {
	_, err := ParseFile("testdata/broken.xml")
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		"line 2: loopstart/@foo: unknown attribute foo",
		"line 3: loopstart/account[id=1]/password: missing (an account with a registrar needs one)",
		`line 6: loopstart/account[id=1]/transport: "xyz" is not one of udp, tcp, tls`,
		`line 9: loopstart/account[2]/expires: "abc" is not a number`,
		"line 9: loopstart/account[2]/bogus: unknown element (expected registrar, user, auth-user, password, display-name, expires, transport, ca-file, srtp, codecs, mwi-subscribe, mailbox, keep-alive, stun, outbound-proxy, backup-registrar)",
		`line 9: loopstart/account[2]/transport: "udp" conflicts with the sips: registrar, which needs tls`,
		"line 9: loopstart/account[2]/ca-file: only applies to transport tls",
		`line 9: loopstart/account[2]/codecs: "opus" is not one of pcmu, pcma, g722`,
		`line 10: loopstart/account[3]: duplicate id "2" (account[2] has it too)`,
		`line 10: loopstart/account[3]/user: "a b" has a character not allowed in a SIP user: ' '`,
		`line 11: loopstart/port[n=1]/country: "xx" is not one of at, au, be, br, ca, ch, cn, de, es, fr, in, it, jp, mx, nl, nz, pl, ru, se, uk, us`,
		`line 11: loopstart/port[n=1]/dial-plan: "(1xx|": column 6: empty alternative`,
		`line 12: loopstart/port[n=3]: account "9" is not defined`,
		`line 13: loopstart/port[3]: n="abc" is not a number`,
		`line 13: loopstart/port[3]: account "1" is already used by port[n=1]`,
		`line 14: loopstart/provisioning/url: "ftp://x": scheme must be tftp, http or https`,
		"line 14: loopstart/provisioning/interval: 5 is out of range 60..2592000 seconds",
		"line 15: loopstart/sip: <sip> appears more than once",
	}
	var got []string
	for _, p := range verr.Problems {
		got = append(got, p.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if !strings.Contains(err.Error(), "\nline 15: loopstart/sip:") {
		t.Errorf("Error() does not list one problem per line:\n%s", err)
	}
}

func TestValidateBuiltConfig(t *testing.T) {
	c := Default(2)
	if err := c.Validate(); err != nil {
		t.Fatalf("Default(2) invalid: %v", err)
	}
	c.Ports[1].Account = "7"
	c.Accounts[0].Transport = "sctp"
	err := c.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v", err)
	}
	want := []Problem{
		{Path: "loopstart/account[id=1]/transport", Msg: `"sctp" is not one of udp, tcp, tls`},
		{Path: "loopstart/port[n=2]", Msg: `account "7" is not defined`},
	}
	if !reflect.DeepEqual(verr.Problems, want) {
		t.Errorf("problems = %+v, want %+v", verr.Problems, want)
	}
	// Without defaults, empty optional fields are valid.
	bare := &Config{Accounts: []Account{{ID: "a", User: "1"}}, Ports: []Port{{N: 1, Account: "a"}}}
	if err := bare.Validate(); err != nil {
		t.Errorf("bare config: %v", err)
	}
}

func TestDefault(t *testing.T) {
	c := Default(3)
	for i, p := range c.Ports {
		n := i + 1
		a := c.Account(p.Account)
		if p.N != n || a == nil || a.ID != string(rune('0'+n)) {
			t.Fatalf("port %d = %+v, account %+v", n, p, a)
		}
		ext := "10" + string(rune('0'+n))
		if a.User != ext || p.Extension != ext || a.Registrar != "" || p.DialPlan != DefaultDialPlan {
			t.Errorf("port %d: user %q extension %q registrar %q plan %q", n, a.User, p.Extension, a.Registrar, p.DialPlan)
		}
		if a.Transport != "udp" || a.Codecs != DefaultCodecs || p.Country != "us" {
			t.Errorf("port %d: defaults not applied: %+v %+v", n, a, p)
		}
	}
	if err := Default(MaxPorts).Validate(); err != nil {
		t.Errorf("Default(%d): %v", MaxPorts, err)
	}
	if err := Default(MaxPorts + 1).Validate(); err == nil {
		t.Errorf("Default(%d) validated", MaxPorts+1)
	}
}

// stripped strips what Parse remembers about the source.
func stripped(c *Config) Config {
	out := *c
	out.src = nil
	out.XMLName.Space = ""
	out.XMLName.Local = "loopstart"
	return out
}

func TestRoundTrip(t *testing.T) {
	configs := map[string]*Config{"default2": Default(2), "default8": Default(8)}
	for _, f := range []string{"testdata/minimal.xml", "testdata/full.xml"} {
		c, err := ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		configs[f] = c
	}
	for name, c := range configs {
		t.Run(name, func(t *testing.T) {
			b, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(strings.NewReader(string(b)))
			if err != nil {
				t.Fatalf("marshalled config does not parse: %v\n%s", err, b)
			}
			if !reflect.DeepEqual(stripped(back), stripped(c)) {
				t.Errorf("round trip changed the config:\n%+v\nwant\n%+v", stripped(back), stripped(c))
			}
			b2, err := back.Marshal()
			if err != nil || string(b2) != string(b) {
				t.Errorf("Marshal is not canonical:\n%s\nthen\n%s", b, b2)
			}
		})
	}
}

func TestParseRegistrar(t *testing.T) {
	tests := []struct {
		in      string
		want    Registrar
		hp      string
		wantErr bool
	}{
		{in: "sip:127.0.0.1:5060", want: Registrar{"sip", "127.0.0.1", 5060, ""}, hp: "127.0.0.1:5060"},
		{in: "sip:pbx.example.com", want: Registrar{"sip", "pbx.example.com", 0, ""}, hp: "pbx.example.com:5060"},
		{in: "sips:127.0.0.1:5061", want: Registrar{"sips", "127.0.0.1", 5061, "tls"}, hp: "127.0.0.1:5061"},
		{in: "sips:pbx", want: Registrar{"sips", "pbx", 0, "tls"}, hp: "pbx:5061"},
		{in: "sip:127.0.0.1:5061;transport=tls", want: Registrar{"sip", "127.0.0.1", 5061, "tls"}, hp: "127.0.0.1:5061"},
		{in: "sip:[::1]:5070;transport=TCP", want: Registrar{"sip", "::1", 5070, "tcp"}, hp: "[::1]:5070"},
		{in: "sip:[::1]", want: Registrar{"sip", "::1", 0, ""}, hp: "[::1]:5060"},
		{in: "", wantErr: true},
		{in: "sip:", wantErr: true},
		{in: "sip:host:", wantErr: true},
		{in: "sip:host:0", wantErr: true},
		{in: "sip:host:+5060", wantErr: true},
		{in: "sip:-bad-.com", wantErr: true},
		{in: "sip:a b", wantErr: true},
		{in: "sip:[127.0.0.1]", wantErr: true},
		{in: "sip:[::1", wantErr: true},
		{in: "sip:[::1]x", wantErr: true},
		{in: "sip:host;transport=sctp", wantErr: true},
		{in: "sips:host;transport=udp", wantErr: true},
		{in: "SIP:host", wantErr: true},
		{in: "tel:+1555", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRegistrar(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %+v, %v; want %+v", got, err, tt.want)
			}
			if hp := got.HostPort(); hp != tt.hp {
				t.Errorf("HostPort = %q, want %q", hp, tt.hp)
			}
		})
	}
}

func TestCheckDialPlan(t *testing.T) {
	good := []string{"(1xx|[2-9]x.|0x.)", "1xx", "[0-9*#]x", "*xx|#", "(911)", "[135]xxx", "xX", "1 2", "x.T",
		"(<9:>xx.|1900x.!|1xxxxxxxxxxS0)", "( P5 <:1000> | xxxx )", "{x+|<=1617>[2-9]xxxxxx|^1900x.}"}
	bad := []string{"", "()", "(1xx", "1xx)", "1xx||2", ".1", "1x..", "[2-", "[]", "[a]", "[9-2]", "1-2", "1\fx",
		strings.Repeat("x", 64), strings.Repeat("x|", 513) + "x", "{x+", "(<9:x)"}
	for _, s := range good {
		if err := CheckDialPlan(s); err != nil {
			t.Errorf("CheckDialPlan(%q) = %v", s, err)
		}
	}
	for _, s := range bad {
		if err := CheckDialPlan(s); err == nil {
			t.Errorf("CheckDialPlan(%q) accepted", s)
		}
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.xml")
	c, err := ParseFile("testdata/full.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	back, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stripped(back), stripped(c)) {
		t.Errorf("saved config differs")
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v; want 0600", st.Mode(), err)
	}
	// Overwrite with another valid config.
	if err := Save(path, Default(2)); err != nil {
		t.Fatal(err)
	}
	assertOnlyFile(t, dir)
}

func TestSaveFailureKeepsOldFile(t *testing.T) {
	bad := Default(2)
	bad.Ports[0].Account = "nope"
	fail := errors.New("disk on fire")
	tests := []struct {
		name string
		c    *Config
		ops  fileOps
		want error
	}{
		{"invalid config", bad, fileOps{sync: (*os.File).Sync, rename: os.Rename}, nil},
		{"sync fails", Default(4), fileOps{sync: func(*os.File) error { return fail }, rename: os.Rename}, fail},
		{"rename fails", Default(4), fileOps{sync: (*os.File).Sync, rename: func(string, string) error { return fail }}, fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.xml")
			if err := os.WriteFile(path, []byte(contractMinimal), 0o600); err != nil {
				t.Fatal(err)
			}
			err := save(path, tt.c, tt.ops)
			if err == nil {
				t.Fatal("save succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			got, _ := os.ReadFile(path)
			if string(got) != contractMinimal {
				t.Errorf("old file changed to:\n%s", got)
			}
			assertOnlyFile(t, dir)
		})
	}
	if err := Save(filepath.Join(t.TempDir(), "missing", "config.xml"), Default(1)); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

func assertOnlyFile(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "config.xml" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q, want only config.xml", names)
	}
}

func TestParseTooLarge(t *testing.T) {
	big := "<loopstart>" + strings.Repeat("<!-- padding -->", MaxFileSize/16) + "</loopstart>"
	if _, err := Parse(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(contractMinimal)
	for _, name := range []string{"testdata/minimal.xml", "testdata/full.xml", "testdata/broken.xml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(doc(`<port n="1" account="1"><dial-plan>[1-</dial-plan></port>`))
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse(strings.NewReader(in))
		if err != nil {
			var verr *ValidationError
			if errors.As(err, &verr) && len(verr.Problems) == 0 {
				t.Fatal("ValidationError without problems")
			}
			return
		}
		// Whatever parses must survive a round trip unchanged.
		b, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("marshalled config does not parse: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(stripped(back), stripped(c)) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", stripped(back), stripped(c))
		}
	})
}

func TestFirmwareElement(t *testing.T) {
	in := doc(okAccount + "\n<firmware><url> https://pbx.example/fw/loopstart-$MODEL.img </url></firmware>")
	c, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if c.Firmware == nil || c.Firmware.URL != "https://pbx.example/fw/loopstart-$MODEL.img" {
		t.Fatalf("firmware = %+v", c.Firmware)
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(strings.NewReader(string(b)))
	if err != nil || c2.Firmware == nil || c2.Firmware.URL != c.Firmware.URL {
		t.Fatalf("round trip: %+v, %v\n%s", c2, err, b)
	}
	if c2.Firmware.DowngradeAllowed() || strings.Contains(string(b), "allow-downgrade") {
		t.Errorf("downgrades allowed by default:\n%s", b)
	}
	for _, v := range []struct {
		xml  string
		want bool
	}{{"true", true}, {" true ", true}, {"false", false}} {
		c, err := Parse(strings.NewReader(doc(okAccount + "\n<firmware><url>https://pbx.example/fw.img</url><allow-downgrade>" + v.xml + "</allow-downgrade></firmware>")))
		if err != nil {
			t.Fatal(err)
		}
		if c.Firmware.DowngradeAllowed() != v.want {
			t.Errorf("<allow-downgrade>%s</allow-downgrade>: allowed = %v", v.xml, !v.want)
		}
		b, _ := c.Marshal()
		if c2, err := Parse(strings.NewReader(string(b))); err != nil || c2.Firmware.AllowDowngrade != c.Firmware.AllowDowngrade {
			t.Errorf("round trip: %+v, %v\n%s", c2.Firmware, err, b)
		}
	}
	if (*Firmware)(nil).DowngradeAllowed() {
		t.Error("no <firmware> allows downgrades")
	}
}

func TestSIPSwitches(t *testing.T) {
	c, err := Parse(strings.NewReader(doc(okAccount + "\n<sip><user-agent>x</user-agent></sip>")))
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.DirectCallsOn() || c.SIP.IgnoreStrangersOn() || (*SIP)(nil).DirectCallsOn() || (*SIP)(nil).IgnoreStrangersOn() {
		t.Errorf("switches on by default: %+v", c.SIP)
	}
	for _, v := range []struct {
		xml  string
		want bool
	}{{"true", true}, {"false", false}} {
		c, err := Parse(strings.NewReader(doc(okAccount + "\n<sip><direct-calls>" + v.xml + "</direct-calls><ignore-strangers>" + v.xml + "</ignore-strangers></sip>")))
		if err != nil {
			t.Fatal(err)
		}
		if c.SIP.DirectCallsOn() != v.want || c.SIP.IgnoreStrangersOn() != v.want {
			t.Errorf("%s: %+v", v.xml, c.SIP)
		}
		b, _ := c.Marshal()
		if c2, err := Parse(strings.NewReader(string(b))); err != nil || *c2.SIP != *c.SIP {
			t.Errorf("round trip: %+v, %v\n%s", c2.SIP, err, b)
		}
	}
}

func TestMWISubscribe(t *testing.T) {
	const reg = `<registrar>sip:127.0.0.1:5060</registrar><password>p</password>`
	tests := []struct {
		name, account string
		on            bool
		mailbox       string
		want          []string // problems; nil = valid
	}{
		{"off by default", reg, false, "", nil},
		{"on, address of record", reg + `<mwi-subscribe>true</mwi-subscribe>`, true, "", nil},
		{"on, mailbox", reg + `<mwi-subscribe>true</mwi-subscribe><mailbox>sip:*97@pbx.example:5060</mailbox>`, true, "sip:*97@pbx.example:5060", nil},
		{"sips mailbox without user", reg + `<mailbox>sips:vm.example</mailbox>`, false, "sips:vm.example", nil},
		{"off", reg + `<mwi-subscribe>false</mwi-subscribe>`, false, "", nil},
		{"not a boolean", reg + `<mwi-subscribe>yes</mwi-subscribe>`, false, "",
			[]string{`line 2: loopstart/account[id=1]/mwi-subscribe: "yes": want true or false`}},
		{"without a registrar", `<mwi-subscribe>true</mwi-subscribe>`, true, "",
			[]string{`line 2: loopstart/account[id=1]/mwi-subscribe: needs a registrar to subscribe at`}},
		{"tel mailbox", reg + `<mailbox>tel:+15551234</mailbox>`, false, "",
			[]string{`line 2: loopstart/account[id=1]/mailbox: "tel:+15551234" must start with "sip:" or "sips:"`}},
		{"mailbox without host", reg + `<mailbox>sip:vm@</mailbox>`, false, "",
			[]string{`line 2: loopstart/account[id=1]/mailbox: "sip:" has no host`}},
		{"mailbox bad user", reg + `<mailbox>sip:v m@pbx</mailbox>`, false, "",
			[]string{`line 2: loopstart/account[id=1]/mailbox: "v m" has a character not allowed in a SIP user: ' '`}},
		{"mailbox bad parameter", reg + `<mailbox>sip:vm@pbx;lr</mailbox>`, false, "",
			[]string{`line 2: loopstart/account[id=1]/mailbox: "sip:pbx;lr": unsupported parameter "lr" (only ;transport= is allowed)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(doc(`<account id="1"><user>1001</user>` + tt.account + `</account>`)))
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
			if a.MWISubscribeOn() != tt.on || a.Mailbox != tt.mailbox {
				t.Errorf("on %v mailbox %q, want %v %q", a.MWISubscribeOn(), a.Mailbox, tt.on, tt.mailbox)
			}
			b, _ := c.Marshal()
			if c2, err := Parse(strings.NewReader(string(b))); err != nil || c2.Accounts[0] != c.Accounts[0] {
				t.Errorf("round trip: %+v, %v\n%s", c2, err, b)
			}
			j, err := json.Marshal(c.JSONMap())
			if err != nil {
				t.Fatal(err)
			}
			if c3, err := ParseJSON(j); err != nil || c3.Accounts[0].MWISubscribeOn() != tt.on || c3.Accounts[0].Mailbox != tt.mailbox {
				t.Errorf("json round trip: %v\n%s", err, j)
			}
		})
	}
	// A form sets both; one without them keeps them.
	var a Account
	if err := ApplyForm(&a, map[string][]string{"mwi-subscribe": {"true"}, "mailbox": {" sip:vm@pbx "}}, "loopstart/account[id=1]"); err != nil {
		t.Fatal(err)
	}
	if err := ApplyForm(&a, map[string][]string{"user": {"1001"}}, "loopstart/account[id=1]"); err != nil {
		t.Fatal(err)
	}
	if !a.MWISubscribeOn() || a.Mailbox != "sip:vm@pbx" {
		t.Errorf("form: %+v", a)
	}
}

// problemStrings lists a *ValidationError's problems as text.
func problemStrings(err error) []string {
	var verr *ValidationError
	if !errors.As(err, &verr) {
		return []string{"not a validation error: " + fmt.Sprint(err)}
	}
	var out []string
	for _, p := range verr.Problems {
		out = append(out, p.String())
	}
	return out
}
