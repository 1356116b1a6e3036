package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestJSONRoundTrip(t *testing.T) {
	configs := map[string]*Config{"default2": Default(2), "empty": {}}
	for _, f := range []string{"testdata/minimal.xml", "testdata/full.xml"} {
		c, err := ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		configs[f] = c
	}
	for name, c := range configs {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(c.JSONMap())
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseJSON(b)
			if err != nil {
				t.Fatalf("JSON form does not parse: %v\n%s", err, b)
			}
			want := c.Clone()
			want.ApplyDefaults()
			if !reflect.DeepEqual(stripped(back), stripped(want)) {
				t.Errorf("round trip changed the config:\n%+v\nwant\n%+v", stripped(back), stripped(want))
			}
		})
	}
}

func TestJSONMap(t *testing.T) {
	c, err := ParseFile("testdata/full.xml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c.JSONMap())
	for _, want := range []string{`"account":[{`, `"id":"office"`, `"expires":600`, `"registrar":"sips:pbx.example.com:5061"`,
		`"port":[{`, `"n":8`, `"sip":{"user-agent":"Loopstart test"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON form has no %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "firmware") || strings.Contains(string(b), "XMLName") {
		t.Errorf("JSON form has an absent or internal field:\n%s", b)
	}
	if b, _ := json.Marshal((&Config{}).JSONMap()); string(b) != `{"account":[],"port":[]}` {
		t.Errorf("empty config = %s", b)
	}
}

func TestParseJSON(t *testing.T) {
	c, err := ParseJSON([]byte(`{"account":[{"id":1,"user":" 1001 ","expires":"600","registrar":null}],
		"port":[{"n":"1","account":"1","country":"de"}],"sip":null,"provisioning":{"url":"http://p/","interval":600}}`))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Accounts[0]; a.ID != "1" || a.User != "1001" || a.Expires != 600 || a.Transport != "udp" {
		t.Errorf("account = %+v", a)
	}
	if c.Ports[0].N != 1 || c.SIP != nil || c.Provisioning.Interval != 600 {
		t.Errorf("config = %+v", c)
	}
	tests := []struct {
		name, in string
		want     []string
	}{
		{"bad JSON", `{"account":`, []string{"bad JSON: unexpected EOF"}},
		{"two values", `{} {}`, []string{"bad JSON: more than one value"}},
		{"not an object", `[]`, []string{"loopstart: want an object"}},
		{"null", `null`, []string{"loopstart: want an object"}},
		{"unknown", `{"acount":[]}`, []string{"loopstart/acount: unknown setting (known: account, firmware, port, provisioning, sip)"}},
		{"list not an array", `{"account":{}}`, []string{"loopstart/account: want an array"}},
		{"single not an object", `{"sip":[]}`, []string{"loopstart/sip: want an object"}},
		{"element not an object", `{"account":[1]}`, []string{"loopstart/account[1]: want an object",
			"loopstart/account[1]: id attribute missing", "loopstart/account[1]/user: missing"}},
		{"wrong type", `{"account":[{"id":1,"user":["x"]}]}`, []string{"loopstart/account[id=1]/user: want a string"}},
		{"not a whole number", `{"account":[{"id":"1","user":"1","expires":1.5}]}`, []string{"loopstart/account[id=1]/expires: want a whole number"}},
		{"number as a bad string", `{"account":[{"id":"1","user":"1","expires":"soon"}]}`, []string{"loopstart/account[id=1]/expires: want a whole number"}},
		{"bool for a number", `{"port":[{"n":true}]}`, []string{"loopstart/port[1]/n: want a whole number", "loopstart/port[1]: account attribute missing"}},
		{"unknown field", `{"account":[{"id":"1","user":"1","secret":"x"}]}`,
			[]string{"loopstart/account[id=1]/secret: unknown setting (known: auth-user, backup-registrar, ca-file, codecs, display-name, expires, id, keep-alive, mailbox, mwi-subscribe, outbound-proxy, password, registrar, srtp, stun, transport, user)"}},
		{"validation", `{"account":[{"id":"1","user":"1","expires":5}],"port":[{"n":1,"account":"2"}]}`,
			[]string{"loopstart/account[id=1]/expires: 5 is out of range 60..86400 seconds", `loopstart/port[n=1]: account "2" is not defined`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tt.in))
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

func FuzzParseJSON(f *testing.F) {
	for _, name := range []string{"testdata/minimal.xml", "testdata/full.xml"} {
		c, err := ParseFile(name)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := json.Marshal(c.JSONMap())
		f.Add(string(b))
	}
	f.Add(`{"account":[{"id":1,"user":["x"]}],"port":[{"n":"1"}],"sip":null}`)
	f.Add(`{"provisioning":{"url":"http://p/","interval":"600"}}`)
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseJSON([]byte(in))
		if err != nil {
			var verr *ValidationError
			if !errors.As(err, &verr) || len(verr.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config invalid: %v", err)
		}
		// Whatever parses survives a JSON and an XML round trip unchanged.
		b, err := json.Marshal(c.JSONMap())
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseJSON(b)
		if err != nil || !reflect.DeepEqual(stripped(back), stripped(c)) {
			t.Fatalf("JSON round trip: %v\n%+v\n%+v", err, back, c)
		}
		x, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err = Parse(strings.NewReader(string(x)))
		if err != nil || !reflect.DeepEqual(stripped(back), stripped(c)) {
			t.Fatalf("XML round trip: %v\n%s", err, x)
		}
	})
}

func TestClone(t *testing.T) {
	c, err := ParseFile("testdata/full.xml")
	if err != nil {
		t.Fatal(err)
	}
	c.Firmware = &Firmware{URL: "http://f/i.img"}
	cp := c.Clone()
	if cp.src != nil || !reflect.DeepEqual(stripped(cp), stripped(c)) {
		t.Fatalf("clone differs: %+v", cp)
	}
	before, _ := c.Marshal()
	cp.Accounts[0].User = "x"
	cp.Accounts = append(cp.Accounts[:1], cp.Accounts[2:]...)
	cp.Ports[0].Country = "uk"
	cp.SIP.UserAgent = "y"
	cp.Provisioning.Interval = 60
	cp.Firmware.URL = "z"
	if after, _ := c.Marshal(); string(after) != string(before) {
		t.Errorf("changing the clone changed the original:\n%s", after)
	}
	if cp := (&Config{}).Clone(); cp.Accounts != nil || cp.SIP != nil {
		t.Errorf("clone of an empty config = %+v", cp)
	}
}

func TestApplyForm(t *testing.T) {
	a := Account{ID: "1", User: "1001", Password: "old", Expires: 600}
	err := ApplyForm(&a, map[string][]string{"id": {"7"}, "user": {" 2002 "}, "password": {""}, "expires": {""},
		"csrf_token": {"t"}, "display-name": {"Desk", "ignored"}}, "loopstart/account[id=1]")
	if err != nil || a != (Account{ID: "7", User: "2002", Password: "old", DisplayName: "Desk"}) {
		t.Errorf("account = %+v, %v", a, err)
	}
	p := Port{N: 1, Account: "1", Country: "us"}
	err = ApplyForm(&p, map[string][]string{"n": {"x"}, "country": {"de"}}, "loopstart/port[n=1]")
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].String() != `loopstart/port[n=1]/n: "x" is not a number` {
		t.Errorf("err = %v", err)
	}
	if p.Country != "de" || p.N != 1 {
		t.Errorf("port = %+v", p)
	}
	pr := Provisioning{}
	if err := ApplyForm(&pr, map[string][]string{"url": {"http://p/"}, "interval": {"600"}}, "loopstart/provisioning"); err != nil || pr.Interval != 600 {
		t.Errorf("provisioning = %+v, %v", pr, err)
	}
	c := Default(1)
	c.Provisioning = &pr
	if err := c.Normalize(); err != nil {
		t.Errorf("Normalize: %v", err)
	}
	c.Provisioning.Interval = 5
	if err := c.Normalize(); err == nil {
		t.Error("Normalize accepted interval 5")
	}
}

func TestSchemaCoversTheStructs(t *testing.T) {
	// Every exported field of the element types is in the schema.
	for _, es := range schema().elems {
		n := 0
		for i := range es.typ.NumField() {
			if es.typ.Field(i).IsExported() {
				n++
			}
		}
		if n != len(es.fields) {
			t.Errorf("%s: %d fields, %d in the schema", es.name, n, len(es.fields))
		}
	}
	if got := schema().elemNames(); got != "account, port, sip, provisioning or firmware" {
		t.Errorf("elemNames = %q", got)
	}
}
