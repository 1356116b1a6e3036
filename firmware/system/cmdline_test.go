package system

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCmdline(t *testing.T) {
	def := DefaultSettings()
	for _, c := range []struct {
		name    string
		cmdline string
		edit    func(*Settings)
		errs    []string
	}{
		{name: "empty", cmdline: "console=ttyS0 quiet panic=-1"},
		{name: "all", cmdline: "console=ttyS0 loopstart.data=/dev/mmcblk0p3 loopstart.ip=192.168.1.5/24 loopstart.gw=192.168.1.1 " +
			"loopstart.dns=1.1.1.1,9.9.9.9 loopstart.ntp=pool.ntp.org loopstart.syslog=10.0.0.9:1514 loopstart.http=8080 " +
			"loopstart.sip=5070 loopstart.watchdog=none loopstart.wdt_timeout=30 loopstart.testhooks=1 loopstart.debug=1 loopstart.iface=eth1",
			edit: func(s *Settings) {
				s.DataDev = "/dev/mmcblk0p3"
				s.Static = netip.MustParsePrefix("192.168.1.5/24")
				s.Gateway = netip.MustParseAddr("192.168.1.1")
				s.DNS = []netip.Addr{netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("9.9.9.9")}
				s.NTP, s.Syslog, s.HTTP, s.SIP = "pool.ntp.org", "10.0.0.9:1514", 8080, 5070
				s.Watchdog, s.WatchdogTimeout, s.TestHooks, s.Debug, s.Iface = "none", 30*time.Second, true, true, "eth1"
			}},
		{name: "bad values keep defaults", cmdline: "loopstart.ip=10.0.0.1 loopstart.http=0 loopstart.sip=x loopstart.wdt_timeout=1 loopstart.gw=nope loopstart.syslog=:514",
			errs: []string{"loopstart.ip", "loopstart.http", "loopstart.sip", "loopstart.wdt_timeout", "loopstart.gw", "loopstart.syslog"}},
		{name: "https port", cmdline: "loopstart.https=8443", edit: func(s *Settings) { s.HTTPS = 8443 }},
		{name: "https off", cmdline: "loopstart.https=off", edit: func(s *Settings) { s.HTTPS = 0 }},
		{name: "https 0", cmdline: "loopstart.https=0", edit: func(s *Settings) { s.HTTPS = 0 }},
		{name: "https off then on", cmdline: "loopstart.https=off loopstart.https=4443", edit: func(s *Settings) { s.HTTPS = 4443 }},
		{name: "bad https keeps 443", cmdline: "loopstart.https=on loopstart.https=70000 loopstart.https=-1 loopstart.https=",
			errs: []string{"loopstart.https=\"on\"", "loopstart.https=\"70000\"", "loopstart.https=\"-1\"", "loopstart.https=\"\""}},
		{name: "http on 443 clashes", cmdline: "loopstart.http=443",
			errs: []string{"loopstart.http and loopstart.https are both 443; using 80 and 443"}},
		{name: "https on 80 clashes", cmdline: "loopstart.https=80",
			errs: []string{"both 80; using 80 and 443"}},
		{name: "same port without https is fine", cmdline: "loopstart.http=443 loopstart.https=off",
			edit: func(s *Settings) { s.HTTP, s.HTTPS = 443, 0 }},
		{name: "ports swapped", cmdline: "loopstart.http=443 loopstart.https=80",
			edit: func(s *Settings) { s.HTTP, s.HTTPS = 443, 80 }},
		{name: "ipv6 static refused", cmdline: "loopstart.ip=fd00::5/64", errs: []string{"IPv4"}},
		{name: "unknown key", cmdline: "loopstart.bogus=1", errs: []string{"unknown parameter loopstart.bogus"}},
		{name: "model board size", cmdline: "loopstart.fxs=1 loopstart.fxo=0", edit: func(s *Settings) { s.FXS, s.FXO = 1, 0 }},
		{name: "bad model board size", cmdline: "loopstart.fxs=33 loopstart.fxo=-1 loopstart.fxs=x",
			errs: []string{"loopstart.fxs=\"33\"", "loopstart.fxo=\"-1\"", "loopstart.fxs=\"x\""}},
		{name: "selftest", cmdline: "loopstart.selftest=pcm", edit: func(s *Settings) { s.SelfTest = []string{"pcm"} }},
		{name: "unknown selftest", cmdline: "loopstart.selftest=pcm,disk", edit: func(s *Settings) { s.SelfTest = []string{"pcm"} },
			errs: []string{`unknown self-test "disk" (known: pcm)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, errs := ParseCmdline(c.cmdline)
			want := def
			if c.edit != nil {
				c.edit(&want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("settings\n got %+v\nwant %+v", got, want)
			}
			if len(errs) != len(c.errs) {
				t.Fatalf("errors %v, want %d matching %v", errs, len(c.errs), c.errs)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), c.errs[i]) {
					t.Errorf("error %d %q lacks %q", i, e, c.errs[i])
				}
			}
		})
	}
}

func FuzzParseCmdline(f *testing.F) {
	f.Add("console=ttyS0 loopstart.ip=10.0.0.5/24 loopstart.dns=1.1.1.1,x loopstart.http=80")
	f.Add("loopstart.= loopstart loopstart.syslog=[::1]:514 loopstart.wdt_timeout=-1")
	f.Add("loopstart.https=off loopstart.http=443 loopstart.https=443")
	f.Fuzz(func(t *testing.T, s string) {
		set, _ := ParseCmdline(s)
		if set.HTTP < 1 || set.HTTP > 65535 || set.SIP < 1 || set.SIP > 65535 || set.HTTPS < 0 || set.HTTPS > 65535 {
			t.Fatalf("port out of range: %+v", set)
		}
		if set.HTTPS == set.HTTP {
			t.Fatalf("HTTPS on the HTTP port: %+v", set)
		}
		if set.Static.IsValid() && !set.Static.Addr().Is4() {
			t.Fatalf("non-IPv4 static address %v", set.Static)
		}
	})
}
