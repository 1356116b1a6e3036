package spa

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

func fixture(t *testing.T) *config.Config {
	t.Helper()
	b, err := os.ReadFile("testdata/spa112.xml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Convert(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ig := range d.Ignored {
		if strings.Contains(ig.Reason, "unknown") {
			t.Errorf("fixture element not in the map: %s", ig)
		}
	}
	c, err := d.Merge(&config.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wrap(s string) string { return "<flat-profile>" + s + "</flat-profile>" }

func apply(cur *config.Config, data string) (*config.Config, *vendor.Doc, error) {
	d, err := Convert([]byte(data), Options{Current: cur})
	if err != nil {
		return nil, d, err
	}
	c, err := d.Merge(cur)
	return c, d, err
}

func TestFixture(t *testing.T) {
	c := fixture(t)
	want1 := config.Account{ID: "1", Registrar: "sip:127.0.0.1:5060", User: "3001", Password: "pw3001", DisplayName: "Reception",
		Expires: 3600, Transport: "udp", SRTP: "off", Codecs: "pcmu,pcma",
		KeepAlive: "15", STUN: "127.0.0.1:3478", OutboundProxy: "sip:127.0.0.1:5070;transport=udp"}
	if *c.Account("1") != want1 {
		t.Errorf("account 1 = %+v, want %+v", *c.Account("1"), want1)
	}
	a2 := c.Account("2")
	if a2.AuthUser != "auth3002" || a2.Expires != 1800 || a2.MWISubscribe != "true" || a2.Mailbox != "sip:*97@127.0.0.1" ||
		a2.KeepAlive != "0" || a2.STUN != "127.0.0.1:3478" || a2.OutboundProxy != "" {
		t.Errorf("account 2 = %+v", *a2)
	}
	p1, p2 := c.Ports[0], c.Ports[1]
	if p1.DTMF != "rfc4733" || p1.FlashRelay != "" || p1.CallWaiting != "true" || !strings.HasPrefix(p1.DialPlan, "(*xx|") {
		t.Errorf("port 1 = %+v", p1)
	}
	if p2.DTMF != "info" || p2.FlashRelay != "info-hookflash" || p2.CallWaiting != "false" || p2.DialPlan != "(xxxx|9xx.)" {
		t.Errorf("port 2 = %+v", p2)
	}
	if c.Provisioning == nil || c.Provisioning.URL != "http://provuser:provpass@127.0.0.1:8088/prov/spa$MAC.xml" || c.Provisioning.Interval != 3600 {
		t.Errorf("provisioning = %+v", c.Provisioning)
	}
}

func TestEmptyVersusSelfClosing(t *testing.T) {
	cur := fixture(t)
	// <X/> leaves the value, <X></X> empties it.
	c, _, err := apply(cur, wrap(`<Display_Name_1_/><Display_Name_2_></Display_Name_2_><Dial_Plan_1_/>`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Account("1").DisplayName != "Reception" || c.Account("2").DisplayName != "" || c.Ports[0].DialPlan != cur.Ports[0].DialPlan {
		t.Errorf("got %+v / %+v", c.Account("1"), c.Account("2"))
	}
	// Last occurrence wins.
	c, _, err = apply(cur, wrap(`<User_ID_1_>4001</User_ID_1_><User_ID_1_>4002</User_ID_1_>`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Account("1").User != "4002" || c.Account("2").User != "3002" {
		t.Errorf("users %q %q", c.Account("1").User, c.Account("2").User)
	}
}

func TestRefused(t *testing.T) {
	cur := fixture(t)
	before, _ := cur.Marshal()
	for _, tc := range []struct{ name, xml, param, path string }{
		{"transport", `<SIP_Transport_1_>SCTP</SIP_Transport_1_>`, "SIP_Transport_1_", "loopstart/account[id=1]/transport"},
		{"expires", `<Register_Expires_2_>5</Register_Expires_2_>`, "Register_Expires_2_", "loopstart/account[id=2]/expires"},
		{"dtmf", `<DTMF_Tx_Method_1_>Smoke</DTMF_Tx_Method_1_>`, "DTMF_Tx_Method_1_", "loopstart/port[n=1]/dtmf"},
		{"dial plan", `<Dial_Plan_1_>(xx[</Dial_Plan_1_>`, "Dial_Plan_1_", "loopstart/port[n=1]/dial-plan"},
		{"profile rule key", `<Profile_Rule>[--key abc]http://h/p.xml</Profile_Rule>`, "Profile_Rule", "loopstart/provisioning/url"},
		{"interval", `<Resync_Periodic>10</Resync_Periodic>`, "Resync_Periodic", "loopstart/provisioning/interval"},
		{"password", `<Password_1_></Password_1_>`, "Password_1_", "loopstart/account[id=1]/password"},
		{"call waiting", `<Call_Waiting_Serv_1_>Maybe</Call_Waiting_Serv_1_>`, "Call_Waiting_Serv_1_", "loopstart/port[n=1]/call-waiting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := apply(cur, wrap(tc.xml))
			var ve *vendor.Error
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *vendor.Error", err)
			}
			p := ve.Problems[0]
			if p.Param != tc.param || p.Path != tc.path || p.Line == 0 {
				t.Errorf("problem %q, want %s at %s", p, tc.param, tc.path)
			}
			after, _ := cur.Marshal()
			if string(before) != string(after) {
				t.Error("current config changed")
			}
		})
	}
}

func TestProfileRule(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", "", ""},
		{"http://h/p/$MA.xml", "http://h/p/$MAC.xml", ""},
		{"[--uid u --pwd p@ss]https://h/?mac=$MA&m=$PSN", "https://u:p%40ss@h/?mac=$MAC&m=$MODEL", ""},
		{"h/spa$MA.cfg", "tftp://h/spa$MAC.cfg", ""},
		{"(cond)?http://a/x.xml | http://b/y.xml", "http://b/y.xml", ""},
		{"http://a/x.xml|http://b/y.xml", "http://a/x.xml", ""},
		{"(a)?http://a/x.xml", "", "every alternative"},
		{"[--key k]http://a/", "", "--key"},
		{"[--uid]http://a/", "", "needs a value"},
		{"ftp://a/x", "", "scheme ftp"},
		{"http://a/$SN", "", "macros"},
		{"[--uid u http://a/", "", "without ]"},
	} {
		got, err := ProfileRule(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ProfileRule(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ProfileRule(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestLines(t *testing.T) {
	cur := fixture(t)
	// A line that is off keeps its values; a line not on the board is listed.
	c, d, err := apply(cur, wrap(`<Line_Enable_2_>No</Line_Enable_2_><User_ID_2_>9</User_ID_2_><User_ID_5_>5</User_ID_5_>`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Account("2").User != "3002" {
		t.Errorf("line 2 changed: %+v", c.Account("2"))
	}
	got := strings.Join(d.IgnoredNames(), "\n")
	for _, want := range []string{"User_ID_2_ (line 1): line 2 is off", "User_ID_5_ (line 1): line 5 is not on this gateway"} {
		if !strings.Contains(got, want) {
			t.Errorf("ignored lacks %q:\n%s", want, got)
		}
	}
	// Codec preferences: only-preferred restricts the list.
	c, _, err = apply(cur, wrap(`<Preferred_Codec_1_>G711a</Preferred_Codec_1_><Use_Pref_Codec_Only_1_>Yes</Use_Pref_Codec_Only_1_>`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Account("1").Codecs != "pcma" {
		t.Errorf("codecs %q", c.Account("1").Codecs)
	}
}

func FuzzConvert(f *testing.F) {
	b, err := os.ReadFile("testdata/spa112.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(wrap(`<Profile_Rule>(x)?a|[--uid a --pwd b]h/$MA</Profile_Rule><Use_Auth_ID_1_>Yes</Use_Auth_ID_1_>`)))
	f.Add([]byte(wrap(`<Proxy_1_>x</Proxy_1_><Use_Outbound_Proxy_1_>Yes</Use_Outbound_Proxy_1_><Outbound_Proxy_1_>p</Outbound_Proxy_1_>` +
		`<NAT_Keep_Alive_Enable_1_>Yes</NAT_Keep_Alive_Enable_1_><NAT_Keep_Alive_Intvl>20</NAT_Keep_Alive_Intvl><STUN_Enable>Yes</STUN_Enable><STUN_Server>s</STUN_Server>`)))
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
		if next, err := d.Merge(cur); err == nil {
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

func FuzzProfileRule(f *testing.F) {
	f.Add("[--uid u --pwd p]http://h/?mac=$MA")
	f.Add("(c)?a|b")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ProfileRule(s)
		if err == nil && u != "" && !strings.Contains(u, "://") {
			t.Fatalf("%q gave %q", s, u)
		}
	})
}
