package spa

import (
	"errors"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// natFields keeps only the NAT and proxy fields of an account.
func natFields(a *config.Account) config.Account {
	return config.Account{KeepAlive: a.KeepAlive, STUN: a.STUN, OutboundProxy: a.OutboundProxy, BackupRegistrar: a.BackupRegistrar}
}

// TestProxyAndNAT converts the outbound proxy, keep-alive and STUN
// elements against the fixture's configuration: account 1 uses an
// outbound proxy, keep-alives every 15 s and STUN; account 2 uses STUN
// only.
func TestProxyAndNAT(t *testing.T) {
	base := fixture(t)
	const stun = "127.0.0.1:3478"
	for _, tc := range []struct {
		name, data string
		want1      config.Account
		want2      config.Account
		ignored    string
	}{
		{"proxy with the line's transport",
			`<Use_Outbound_Proxy_2_>Yes</Use_Outbound_Proxy_2_><Outbound_Proxy_2_>proxy.example:5070</Outbound_Proxy_2_><SIP_Transport_2_>TCP</SIP_Transport_2_>`,
			config.Account{KeepAlive: "15", STUN: stun, OutboundProxy: "sip:127.0.0.1:5070;transport=udp"},
			config.Account{KeepAlive: "0", STUN: stun, OutboundProxy: "sip:proxy.example:5070;transport=tcp"}, ""},
		{"proxy URI kept as given", `<Outbound_Proxy_1_>sip:proxy.example;transport=tls</Outbound_Proxy_1_>`,
			config.Account{KeepAlive: "15", STUN: stun, OutboundProxy: "sip:proxy.example;transport=tls"},
			config.Account{KeepAlive: "0", STUN: stun}, ""},
		{"use no clears", `<Use_Outbound_Proxy_1_>No</Use_Outbound_Proxy_1_><Outbound_Proxy_1_>proxy.example</Outbound_Proxy_1_>`,
			config.Account{KeepAlive: "15", STUN: stun},
			config.Account{KeepAlive: "0", STUN: stun}, "Outbound_Proxy_1_ (line 1): Use_Outbound_Proxy_1_ is No"},
		{"proxy alone on a line not using one", `<Outbound_Proxy_2_>proxy.example</Outbound_Proxy_2_>`,
			config.Account{KeepAlive: "15", STUN: stun, OutboundProxy: "sip:127.0.0.1:5070;transport=udp"},
			config.Account{KeepAlive: "0", STUN: stun}, "Outbound_Proxy_2_ (line 1): applies only with Use_Outbound_Proxy_n_ Yes"},
		{"in-dialog use ignored", `<Use_OB_Proxy_In_Dialog_1_>No</Use_OB_Proxy_In_Dialog_1_>`,
			config.Account{KeepAlive: "15", STUN: stun, OutboundProxy: "sip:127.0.0.1:5070;transport=udp"},
			config.Account{KeepAlive: "0", STUN: stun}, "Use_OB_Proxy_In_Dialog_1_ (line 1): requests in a dialog"},
		{"keep-alive on at the default", `<NAT_Keep_Alive_Enable_2_>Yes</NAT_Keep_Alive_Enable_2_>`,
			config.Account{KeepAlive: "15", STUN: stun, OutboundProxy: "sip:127.0.0.1:5070;transport=udp"},
			config.Account{STUN: stun}, ""},
		{"keep-alive off", `<NAT_Keep_Alive_Enable_1_>No</NAT_Keep_Alive_Enable_1_>`,
			config.Account{KeepAlive: "0", STUN: stun, OutboundProxy: "sip:127.0.0.1:5070;transport=udp"},
			config.Account{KeepAlive: "0", STUN: stun}, ""},
		{"global interval reaches lines sending keep-alives", `<NAT_Keep_Alive_Intvl>30</NAT_Keep_Alive_Intvl>`,
			config.Account{KeepAlive: "30", STUN: stun, OutboundProxy: "sip:127.0.0.1:5070;transport=udp"},
			config.Account{KeepAlive: "0", STUN: stun}, ""},
		{"line interval wins", `<NAT_Keep_Alive_Intvl>30</NAT_Keep_Alive_Intvl><NAT_Keep_Alive_Intvl_2_>45</NAT_Keep_Alive_Intvl_2_><NAT_Keep_Alive_Enable_2_>Yes</NAT_Keep_Alive_Enable_2_>`,
			config.Account{KeepAlive: "30", STUN: stun, OutboundProxy: "sip:127.0.0.1:5070;transport=udp"},
			config.Account{KeepAlive: "45", STUN: stun}, ""},
		{"STUN off", `<STUN_Enable>No</STUN_Enable>`,
			config.Account{KeepAlive: "15", OutboundProxy: "sip:127.0.0.1:5070;transport=udp"},
			config.Account{KeepAlive: "0"}, ""},
		{"STUN server alone, default port", `<STUN_Server>stun.example.net</STUN_Server>`,
			config.Account{KeepAlive: "15", STUN: "stun.example.net:3478", OutboundProxy: "sip:127.0.0.1:5070;transport=udp"},
			config.Account{KeepAlive: "0", STUN: "stun.example.net:3478"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, d, err := apply(base, wrap(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := natFields(c.Account("1")); got != tc.want1 {
				t.Errorf("account 1 = %+v, want %+v", got, tc.want1)
			}
			if got := natFields(c.Account("2")); got != tc.want2 {
				t.Errorf("account 2 = %+v, want %+v", got, tc.want2)
			}
			if tc.ignored != "" {
				var s []string
				for _, ig := range d.Ignored {
					s = append(s, ig.String())
				}
				if !strings.Contains(strings.Join(s, "\n"), tc.ignored) {
					t.Errorf("ignored list lacks %q:\n%s", tc.ignored, strings.Join(s, "\n"))
				}
			}
		})
	}
}

// TestProxyAndNATRefused: a bad value is refused with the element and
// the native path, and the configuration in force is kept.
func TestProxyAndNATRefused(t *testing.T) {
	base := fixture(t)
	before, _ := base.Marshal()
	for _, tc := range []struct{ name, data, param, path, msg string }{
		{"bad proxy", `<Outbound_Proxy_1_>me@proxy.example</Outbound_Proxy_1_>`, "Outbound_Proxy_1_", "loopstart/account[id=1]/outbound-proxy", "give only"},
		{"empty proxy in use", `<Outbound_Proxy_1_></Outbound_Proxy_1_>`, "Outbound_Proxy_1_", "loopstart/account[id=1]/outbound-proxy", "empty"},
		{"use yes without a proxy", `<Use_Outbound_Proxy_2_>Yes</Use_Outbound_Proxy_2_>`, "Use_Outbound_Proxy_2_", "loopstart/account[id=2]/outbound-proxy", "needs Outbound_Proxy_2_"},
		{"use maybe", `<Use_Outbound_Proxy_1_>maybe</Use_Outbound_Proxy_1_>`, "Use_Outbound_Proxy_1_", "loopstart/account[id=1]/outbound-proxy", "want Yes or No"},
		{"keep-alive enable", `<NAT_Keep_Alive_Enable_1_>sometimes</NAT_Keep_Alive_Enable_1_>`, "NAT_Keep_Alive_Enable_1_", "loopstart/account[id=1]/keep-alive", "want Yes or No"},
		{"interval", `<NAT_Keep_Alive_Intvl>9999</NAT_Keep_Alive_Intvl>`, "NAT_Keep_Alive_Intvl", "loopstart/account[id=1]/keep-alive", "want 1..3600"},
		{"line interval", `<NAT_Keep_Alive_Intvl_2_>x</NAT_Keep_Alive_Intvl_2_>`, "NAT_Keep_Alive_Intvl_2_", "loopstart/account[id=2]/keep-alive", "want 1..3600"},
		{"STUN server", `<STUN_Server>stun.example:0</STUN_Server>`, "STUN_Server", "loopstart/account[id=1]/stun", "port must be"},
		{"STUN enable", `<STUN_Enable>perhaps</STUN_Enable>`, "STUN_Enable", "loopstart/account[id=1]/stun", "want Yes or No"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := apply(base, wrap(tc.data))
			var ve *vendor.Error
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *vendor.Error", err)
			}
			p := ve.Problems[0]
			if p.Param != tc.param || p.Path != tc.path || !strings.Contains(p.Msg, tc.msg) {
				t.Errorf("problem %q, want %s %s %q", p, tc.param, tc.path, tc.msg)
			}
			after, _ := base.Marshal()
			if string(before) != string(after) {
				t.Errorf("current config changed")
			}
		})
	}
}

// TestSTUNEnableNeedsServer: STUN on with no server anywhere is refused.
func TestSTUNEnableNeedsServer(t *testing.T) {
	_, _, err := apply(&config.Config{}, wrap(`<Proxy_1_>pbx.example</Proxy_1_><User_ID_1_>1</User_ID_1_><Password_1_>p</Password_1_><STUN_Enable>Yes</STUN_Enable>`))
	if err == nil || !strings.Contains(err.Error(), "STUN_Enable (loopstart/account[id=1]/stun): Yes needs STUN_Server") {
		t.Errorf("err = %v", err)
	}
}
