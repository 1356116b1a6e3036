package grandstream

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

func load(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apply converts data against cur and merges it.
func apply(t *testing.T, cur *config.Config, data string) (*config.Config, *vendor.Doc, error) {
	t.Helper()
	d, err := Convert([]byte(data), Options{Current: cur})
	if err != nil {
		return nil, d, err
	}
	c, err := d.Merge(cur)
	return c, d, err
}

func wrap(ps string) string {
	return `<?xml version="1.0"?><gs_provision version="1"><config version="1">` + ps + `</config></gs_provision>`
}

func TestFixtures(t *testing.T) {
	for _, tc := range []struct {
		file  string
		check func(t *testing.T, c *config.Config)
	}{
		{"ht802.xml", func(t *testing.T, c *config.Config) {
			a1, a2 := c.Account("1"), c.Account("2")
			if a1 == nil || a2 == nil {
				t.Fatalf("accounts: %+v", c.Accounts)
			}
			want1 := config.Account{ID: "1", Registrar: "sip:127.0.0.1:5060", User: "1001", AuthUser: "1001", Password: "secret1",
				DisplayName: "Front Desk", Expires: 3600, Transport: "udp", SRTP: "off", Codecs: "pcmu,pcma,g722", MWISubscribe: "true",
				KeepAlive: "20", STUN: "stun.example.net:3478", OutboundProxy: "sip:127.0.0.1:5070;transport=udp",
				BackupRegistrar: "sip:127.0.0.2:5060;transport=udp"}
			if *a1 != want1 {
				t.Errorf("account 1 = %+v, want %+v", *a1, want1)
			}
			if a2.User != "1002" || a2.SRTP != "optional" || a2.Codecs != "pcma,pcmu" || a2.MWISubscribe != "false" ||
				a2.KeepAlive != "0" || a2.STUN != "" || a2.OutboundProxy != "" || a2.BackupRegistrar != "" {
				t.Errorf("account 2 = %+v", *a2)
			}
			p1, p2 := c.Ports[0], c.Ports[1]
			if p1.DialPlan != "{x+|*x+|*++}" || p1.LocalFeatures != "false" || p1.FlashRelay != "info-hookflash" ||
				p1.DTMF != "rfc4733" || p1.Flash != "300ms-1100ms" || p1.CallWaiting != "true" || p1.ConferenceTransfer != "true" {
				t.Errorf("port 1 = %+v", p1)
			}
			if p2.DTMF != "info" || p2.FlashRelay != "rfc4733" || p2.CallWaiting != "false" || p2.Flash != "100ms-800ms" || p2.LocalFeatures != "true" {
				t.Errorf("port 2 = %+v", p2)
			}
			if c.Provisioning == nil || c.Provisioning.URL != "http://provuser:provpass@127.0.0.1:8088/prov/" || c.Provisioning.Interval != 86400 {
				t.Errorf("provisioning = %+v", c.Provisioning)
			}
		}},
		{"ht814.xml", func(t *testing.T, c *config.Config) {
			if len(c.Accounts) != 3 || len(c.Ports) != 3 {
				t.Fatalf("want 3 accounts and ports (port 4 is off), got %+v %+v", c.Accounts, c.Ports)
			}
			for i, u := range []string{"2001", "2002", "2003"} {
				a := c.Accounts[i]
				if a.User != u || a.Password != "pw"+u || a.Registrar != "sip:127.0.0.1:5060" || a.Expires != 1800 || a.Codecs != "pcma,pcmu" {
					t.Errorf("account %d = %+v", i+1, a)
				}
				if c.Ports[i].DialPlan != "{[1-9]xxx|*x+}" {
					t.Errorf("port %d dial plan %q", i+1, c.Ports[i].DialPlan)
				}
			}
			if c.Ports[1].Hotline != "2001" || c.Ports[0].Hotline != "" {
				t.Errorf("hotlines %q %q", c.Ports[0].Hotline, c.Ports[1].Hotline)
			}
			if c.Provisioning == nil || c.Provisioning.URL != "https://prov.example.net/app/provision/" || c.Provisioning.Interval != 86400 {
				t.Errorf("provisioning = %+v", c.Provisioning)
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d, err := Convert(load(t, tc.file), Options{MAC: "000b82aabbcc"})
			if err != nil {
				t.Fatal(err)
			}
			c, err := d.Merge(&config.Config{})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
			// Every P-value of the fixture is known.
			for _, ig := range d.Ignored {
				if strings.Contains(ig.Reason, "unknown") {
					t.Errorf("fixture P-value not in the map: %s", ig)
				}
			}
		})
	}
}

func TestSparseKeepsValues(t *testing.T) {
	d, err := Convert(load(t, "ht802.xml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	full, err := d.Merge(&config.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ps string
		check    func(t *testing.T, before, after *config.Config)
	}{
		{"codecs only", `<P57>8</P57><P58>0</P58>`, func(t *testing.T, b, a *config.Config) {
			if a.Accounts[0].Codecs != "pcma,pcmu" {
				t.Errorf("codecs %q", a.Accounts[0].Codecs)
			}
			x, y := *b.Account("1"), *a.Account("1")
			x.Codecs, y.Codecs = "", ""
			if x != y || !slices.Equal(b.Ports, a.Ports) {
				t.Errorf("other values changed")
			}
		}},
		{"port 2 password", `<P734>newpass</P734>`, func(t *testing.T, b, a *config.Config) {
			if a.Account("2").Password != "newpass" || a.Account("2").User != "1002" || *a.Account("1") != *b.Account("1") {
				t.Errorf("got %+v", a.Accounts)
			}
		}},
		{"flash min only", `<P251>200</P251>`, func(t *testing.T, b, a *config.Config) {
			if a.Ports[0].Flash != "200ms-1100ms" {
				t.Errorf("flash %q", a.Ports[0].Flash)
			}
		}},
		{"credentials only", `<P1360>other</P1360>`, func(t *testing.T, b, a *config.Config) {
			if a.Provisioning.URL != "http://other:provpass@127.0.0.1:8088/prov/" {
				t.Errorf("url %q", a.Provisioning.URL)
			}
		}},
		{"account off", `<P401>0</P401><P735></P735><P747></P747>`, func(t *testing.T, b, a *config.Config) {
			if *a.Account("2") != *b.Account("2") {
				t.Errorf("port 2 changed: %+v", a.Account("2"))
			}
		}},
		{"unknown only", `<P99999>1</P99999>`, func(t *testing.T, b, a *config.Config) {
			x, _ := b.Marshal()
			y, _ := a.Marshal()
			if string(x) != string(y) {
				t.Errorf("changed")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after, _, err := apply(t, full, wrap(tc.ps))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, full, after)
		})
	}
}

func TestRefused(t *testing.T) {
	base, _, err := apply(t, &config.Config{}, string(load(t, "ht802.xml")))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := base.Marshal()
	for _, tc := range []struct {
		name, ps, param, path string
	}{
		{"transport", `<P130>7</P130>`, "P130", "loopstart/account[id=1]/transport"},
		{"srtp", `<P443>x</P443>`, "P443", "loopstart/account[id=2]/srtp"},
		{"expires out of range", `<P32>2000</P32>`, "P32", "loopstart/account[id=1]/expires"},
		{"dial plan", `<P4200>{[9</P4200>`, "P4200", "loopstart/port[n=1]/dial-plan"},
		{"codecs", `<P57>18</P57><P58>4</P58>`, "P57", "loopstart/account[id=1]/codecs"},
		{"dtmf", `<P850>7</P850>`, "P850", "loopstart/port[n=1]/dtmf"},
		{"ftp", `<P212>3</P212>`, "P212", "loopstart/provisioning/url"},
		{"password empty", `<P34></P34>`, "P34", "loopstart/account[id=1]/password"},
		{"mwi", `<P99>2</P99>`, "P99", "loopstart/account[id=1]/mwi-subscribe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := apply(t, base, wrap(tc.ps))
			var ve *vendor.Error
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *vendor.Error", err)
			}
			if ve.Problems[0].Param != tc.param || ve.Problems[0].Path != tc.path {
				t.Errorf("problem %q, want param %s path %s", ve.Problems[0], tc.param, tc.path)
			}
			if ve.Problems[0].Line == 0 {
				t.Errorf("problem without a line: %q", ve.Problems[0])
			}
			after, _ := base.Marshal()
			if string(before) != string(after) {
				t.Errorf("current config changed")
			}
		})
	}
}

func TestDocument(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"not xml", "cfg binary \x00\x01", "not well-formed"},
		{"wrong root", "<loopstart/>", "is not <gs_provision>"},
		{"other mac", `<gs_provision><mac>000b82000001</mac><config/></gs_provision>`, "not this gateway's"},
		{"empty", "", "empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Convert([]byte(tc.data), Options{MAC: "000b82aabbcc"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestIgnoredListed(t *testing.T) {
	d, err := Convert([]byte(wrap(`<P35>1001</P35><P99999>1</P99999><P101>192.0.2.9</P101><foo>1</foo>`)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(d.IgnoredNames(), "\n")
	for _, want := range []string{"P99999 (line 1): unknown P-value", "P101 (line 1): a fixed public address", "foo (line 1): not a P-value"} {
		if !strings.Contains(got, want) {
			t.Errorf("ignored list lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "P35") {
		t.Errorf("P35 is used, not ignored:\n%s", got)
	}
}

func TestPortsNotOnBoard(t *testing.T) {
	cur := config.Default(1)
	d, err := Convert(load(t, "ht802.xml"), Options{Current: cur})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Merge(cur)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Ports) != 1 || len(c.Accounts) != 1 || c.Accounts[0].User != "1001" {
		t.Errorf("got %+v %+v", c.Accounts, c.Ports)
	}
	if !slices.ContainsFunc(d.Ignored, func(ig vendor.Ignored) bool {
		return ig.Param == "P735" && strings.Contains(ig.Reason, "not on this gateway")
	}) {
		t.Errorf("P735 not listed as ignored: %v", d.IgnoredNames())
	}
}

func TestMapConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Map() {
		if seen[m.Param] {
			t.Errorf("%s twice in the map", m.Param)
		}
		seen[m.Param] = true
		if m.Target == "" {
			t.Errorf("%s has no target", m.Param)
		}
	}
}

func FuzzConvert(f *testing.F) {
	for _, n := range []string{"ht802.xml", "ht814.xml"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(wrap(`<P130>2</P130><P47>sips:x</P47><P4150>1</P4150>`)))
	f.Add([]byte(wrap(`<P47>x</P47><P48>p:5070</P48><P967>y</P967><P52>1</P52><P76>s</P76><P84>20</P84><P730>2</P730>`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		cur := config.Default(2)
		before, _ := cur.Marshal()
		d, err := Convert(data, Options{Current: cur})
		if d == nil {
			if err == nil {
				t.Fatal("no doc and no error")
			}
			return
		}
		next, err := d.Merge(cur)
		if err == nil {
			if verr := next.Validate(); verr != nil {
				t.Fatalf("merged config does not validate: %v", verr)
			}
		}
		after, _ := cur.Marshal()
		if string(before) != string(after) {
			t.Fatal("current config changed")
		}
	})
}
