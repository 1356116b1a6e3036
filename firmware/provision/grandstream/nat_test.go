package grandstream

import (
	"errors"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// TestProxiesAndNAT converts outbound proxy, failover server and NAT
// P-values against the HT802 fixture's configuration.
func TestProxiesAndNAT(t *testing.T) {
	base, _, err := apply(t, &config.Config{}, string(load(t, "ht802.xml")))
	if err != nil {
		t.Fatal(err)
	}
	// Account 1 has keep-alives every 20 s and STUN; account 2 has both off.
	for _, tc := range []struct {
		name, ps string
		acct     string
		want     config.Account // only the four NAT and proxy fields
		ignored  string         // an entry the ignored list must hold
	}{
		{"outbound proxy with the file's transport", `<P48>proxy.example</P48><P130>1</P130>`, "1",
			config.Account{KeepAlive: "20", STUN: "stun.example.net:3478", OutboundProxy: "sip:proxy.example;transport=tcp", BackupRegistrar: "sip:127.0.0.2:5060;transport=udp"}, ""},
		{"outbound proxy without a transport", `<P748>proxy.example:5070</P748>`, "2",
			config.Account{KeepAlive: "0", OutboundProxy: "sip:proxy.example:5070"}, ""},
		{"sips outbound proxy kept", `<P48>sips:proxy.example</P48><P130>2</P130>`, "1",
			config.Account{KeepAlive: "20", STUN: "stun.example.net:3478", OutboundProxy: "sips:proxy.example", BackupRegistrar: "sip:127.0.0.2:5060;transport=udp"}, ""},
		{"outbound proxy cleared", `<P48></P48>`, "1",
			config.Account{KeepAlive: "20", STUN: "stun.example.net:3478", BackupRegistrar: "sip:127.0.0.2:5060;transport=udp"}, ""},
		{"failover server", `<P987>pbx2.example</P987>`, "2",
			config.Account{KeepAlive: "0", BackupRegistrar: "sip:pbx2.example"}, ""},
		{"traversal off", `<P52>0</P52>`, "1",
			config.Account{KeepAlive: "0", OutboundProxy: "sip:127.0.0.1:5070;transport=udp", BackupRegistrar: "sip:127.0.0.2:5060;transport=udp"}, ""},
		{"keep-alive only turns keep-alives back on at the default", `<P730>2</P730>`, "2",
			config.Account{}, ""},
		{"keep-alive only keeps the interval and drops STUN", `<P52>2</P52>`, "1",
			config.Account{KeepAlive: "20", OutboundProxy: "sip:127.0.0.1:5070;transport=udp", BackupRegistrar: "sip:127.0.0.2:5060;transport=udp"}, ""},
		{"UPnP taken as keep-alive", `<P730>3</P730><P84>30</P84>`, "2",
			config.Account{KeepAlive: "30"}, ""},
		{"STUN with server and port", `<P730>1</P730><P76>stun.example.org:19302</P76><P84>15</P84>`, "2",
			config.Account{KeepAlive: "15", STUN: "stun.example.org:19302"}, ""},
		{"interval alone changes accounts sending keep-alives", `<P84>40</P84>`, "1",
			config.Account{KeepAlive: "40", STUN: "stun.example.net:3478", OutboundProxy: "sip:127.0.0.1:5070;transport=udp", BackupRegistrar: "sip:127.0.0.2:5060;transport=udp"}, ""},
		{"interval alone leaves keep-alives off", `<P84>40</P84>`, "2",
			config.Account{KeepAlive: "0"}, ""},
		{"STUN server alone changes accounts using STUN", `<P76>192.0.2.7</P76>`, "1",
			config.Account{KeepAlive: "20", STUN: "192.0.2.7:3478", OutboundProxy: "sip:127.0.0.1:5070;transport=udp", BackupRegistrar: "sip:127.0.0.2:5060;transport=udp"}, ""},
		{"backup outbound proxy ignored", `<P2333>proxy2.example</P2333>`, "2",
			config.Account{KeepAlive: "0"}, "P2333 (line 1): a backup outbound proxy"},
		{"NAT IP ignored", `<P101>192.0.2.9</P101>`, "2",
			config.Account{KeepAlive: "0"}, "P101 (line 1): a fixed public address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after, d, err := apply(t, base, wrap(tc.ps))
			if err != nil {
				t.Fatal(err)
			}
			a := after.Account(tc.acct)
			got := config.Account{KeepAlive: a.KeepAlive, STUN: a.STUN, OutboundProxy: a.OutboundProxy, BackupRegistrar: a.BackupRegistrar}
			if got != tc.want {
				t.Errorf("account %s = %+v, want %+v", tc.acct, got, tc.want)
			}
			if tc.ignored != "" && !strings.Contains(strings.Join(d.IgnoredNames(), "\n")+"\n"+ignoredText(d), tc.ignored) {
				t.Errorf("ignored list lacks %q:\n%s", tc.ignored, ignoredText(d))
			}
		})
	}
}

func ignoredText(d *vendor.Doc) string {
	var s []string
	for _, ig := range d.Ignored {
		s = append(s, ig.String())
	}
	return strings.Join(s, "\n")
}

// TestGlobalNATUnused: P76 and P84 applying to no account are listed.
func TestGlobalNATUnused(t *testing.T) {
	d, err := Convert([]byte(wrap(`<P76>stun.example</P76><P84>20</P84><P52>0</P52><P730>0</P730>`)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := ignoredText(d)
	for _, want := range []string{"P76 (line 1): no account the file sets uses STUN", "P84 (line 1): no account the file sets sends keep-alives"} {
		if !strings.Contains(got, want) {
			t.Errorf("ignored list lacks %q:\n%s", want, got)
		}
	}
}

// TestProxiesAndNATRefused: a bad value is refused with the P-value and
// the native path, and the configuration in force is kept.
func TestProxiesAndNATRefused(t *testing.T) {
	base, _, err := apply(t, &config.Config{}, string(load(t, "ht802.xml")))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := base.Marshal()
	for _, tc := range []struct {
		name, ps, param, path, msg string
	}{
		{"outbound proxy with a user", `<P48>me@proxy.example</P48>`, "P48", "loopstart/account[id=1]/outbound-proxy", "give only"},
		{"failover port", `<P987>pbx2.example:70000</P987>`, "P987", "loopstart/account[id=2]/backup-registrar", "not a server address"},
		{"traversal value", `<P52>9</P52>`, "P52", "loopstart/account[id=1]/keep-alive", "is not 0 (no)"},
		{"interval", `<P84>0</P84>`, "P84", "loopstart/account[id=1]/keep-alive", "want 1..3600"},
		{"interval not a number", `<P730>2</P730><P84>ten</P84>`, "P84", "loopstart/account[id=1]/keep-alive", "want 1..3600"},
		{"STUN server", `<P52>1</P52><P76>stun_x.example</P76>`, "P76", "loopstart/account[id=1]/stun", "bad character"},
		{"outbound proxy without a registrar", `<P47></P47><P99>0</P99><P967></P967><P48>proxy.example</P48>`, "P48", "loopstart/account[id=1]/outbound-proxy", "needs a registrar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := apply(t, base, wrap(tc.ps))
			var ve *vendor.Error
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *vendor.Error", err)
			}
			p := ve.Problems[0]
			if p.Param != tc.param || p.Path != tc.path || !strings.Contains(p.Msg, tc.msg) {
				t.Errorf("problem %q, want param %s path %s message %q", p, tc.param, tc.path, tc.msg)
			}
			after, _ := base.Marshal()
			if string(before) != string(after) {
				t.Errorf("current config changed")
			}
		})
	}
}

// TestHT81xProfileProxies: an HT81x profile's outbound proxy, failover
// server and traversal reach every port taking that profile.
func TestHT81xProfileProxies(t *testing.T) {
	c, _, err := apply(t, &config.Config{}, wrap(`<P47>pbx.example</P47><P48>proxy.example</P48><P967>pbx2.example</P967><P52>2</P52><P84>30</P84>`+
		`<P4060>2001</P4060><P4120>pw1</P4120><P4061>2002</P4061><P4121>pw2</P4121>`))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1", "2"} {
		a := c.Account(id)
		if a == nil || a.OutboundProxy != "sip:proxy.example" || a.BackupRegistrar != "sip:pbx2.example" || a.KeepAlive != "30" || a.STUN != "" {
			t.Errorf("account %s = %+v", id, a)
		}
	}
}
