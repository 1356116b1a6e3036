package config

import (
	"strings"
	"testing"
)

func TestElementEditing(t *testing.T) {
	names, rep := Elements()
	if len(names) != len(schema().elems) || names[0] != "account" || !rep[0] || rep[2] {
		t.Fatalf("Elements() = %v %v", names, rep)
	}
	for _, tc := range []struct {
		name    string
		elem    string
		idx     int
		form    map[string][]string
		wantErr string
		check   func(*Config) bool
	}{
		{"edit account", "account", 1, map[string][]string{"display-name": {" Kitchen "}}, "",
			func(c *Config) bool { return c.Accounts[1].DisplayName == "Kitchen" }},
		{"add account", "account", 2, map[string][]string{"id": {"9"}, "user": {"109"}}, "",
			func(c *Config) bool { return len(c.Accounts) == 3 && c.Accounts[2].User == "109" }},
		{"create sip", "sip", 0, map[string][]string{"direct-calls": {"true"}}, "",
			func(c *Config) bool { return c.SIP.DirectCallsOn() }},
		{"secret kept", "account", 0, map[string][]string{"password": {""}}, "",
			func(c *Config) bool { return c.Accounts[0].Password == "pw" }},
		{"bad number", "port", 0, map[string][]string{"echo-tail": {"long"}}, `loopstart/port[n=1]/echo-tail: "long" is not a number`, nil},
		{"unknown element", "nothing", 0, nil, "no element <nothing>", nil},
		{"index too far", "port", 5, nil, "no <port> number 6", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default(2)
			c.Accounts[0].Password = "pw"
			err := c.ApplyElementForm(tc.elem, tc.idx, tc.form)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("not applied: %+v", c)
			}
			if err := c.Normalize(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestElementLookup(t *testing.T) {
	c := Default(2)
	if i := c.Index("port", "2"); i != 1 {
		t.Errorf("Index(port, 2) = %d", i)
	}
	if i := c.Index("account", "7"); i != -1 {
		t.Errorf("Index(account, 7) = %d", i)
	}
	if i := c.Index("sip", ""); i != -1 || c.Count("sip") != 0 {
		t.Errorf("sip: index %d count %d", i, c.Count("sip"))
	}
	if p := c.ElementPath("account", 1); p != "loopstart/account[id=2]" {
		t.Errorf("ElementPath = %q", p)
	}
	if v := c.ElementValues("port", 0); v["n"] != "1" || v["extension"] != "101" || v["hotline-delay"] != "" {
		t.Errorf("ElementValues = %v", v)
	}
	if err := c.RemoveElement("account", 0); err != nil || len(c.Accounts) != 1 || c.Accounts[0].ID != "2" {
		t.Errorf("RemoveElement: %v %+v", err, c.Accounts)
	}
	if err := c.RemoveElement("sip", 0); err == nil {
		t.Error("RemoveElement of an absent sip: no error")
	}
}

func TestSecretsBackup(t *testing.T) {
	c := Default(2)
	c.Accounts[0].Password, c.Accounts[1].Password = "one", "two"
	bare := c.WithoutSecrets()
	if bare.Accounts[0].Password != "" || bare.Accounts[1].Password != "" || c.Accounts[0].Password != "one" {
		t.Fatalf("WithoutSecrets: %+v / %+v", bare.Accounts, c.Accounts)
	}
	b, err := bare.Marshal()
	if err != nil || strings.Contains(string(b), "one") || strings.Contains(string(b), "password") {
		t.Fatalf("marshalled backup holds a secret: %v\n%s", err, b)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		want0 string
		want1 string
	}{
		{"same accounts", func(*Config) {}, "one", "two"},
		{"new password kept", func(r *Config) { r.Accounts[1].Password = "new" }, "one", "new"},
		{"unknown account stays empty", func(r *Config) { r.Accounts[1].ID = "9" }, "one", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bare.Clone()
			tc.edit(r)
			r.KeepSecrets(c)
			if r.Accounts[0].Password != tc.want0 || r.Accounts[1].Password != tc.want1 {
				t.Errorf("passwords %q %q, want %q %q", r.Accounts[0].Password, r.Accounts[1].Password, tc.want0, tc.want1)
			}
		})
	}
}

// FuzzParseRestore: an uploaded backup never panics, and what it accepts
// is valid and marshals back to a document that parses to the same.
func FuzzParseRestore(f *testing.F) {
	cur := Default(2)
	cur.Accounts[0].Registrar, cur.Accounts[0].Password = "sip:127.0.0.1", "pw"
	b, _ := cur.WithoutSecrets().Marshal()
	f.Add(string(b))
	f.Add(`<loopstart><account id="1"><user>1</user></account></loopstart>`)
	f.Add(`<loopstart><sip><direct-calls>maybe</direct-calls></sip></loopstart>`)
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := ParseRestore(strings.NewReader(doc), cur)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(strings.NewReader(string(out))); err != nil {
			t.Fatalf("marshalled restore does not parse: %v\n%s", err, out)
		}
	})
}
