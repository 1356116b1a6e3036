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
		{name: "ipv6 static refused", cmdline: "loopstart.ip=fd00::5/64", errs: []string{"IPv4"}},
		{name: "unknown key", cmdline: "loopstart.bogus=1", errs: []string{"unknown parameter loopstart.bogus"}},
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
	f.Fuzz(func(t *testing.T, s string) {
		set, _ := ParseCmdline(s)
		if set.HTTP < 1 || set.HTTP > 65535 || set.SIP < 1 || set.SIP > 65535 {
			t.Fatalf("port out of range: %+v", set)
		}
		if set.Static.IsValid() && !set.Static.Addr().Is4() {
			t.Fatalf("non-IPv4 static address %v", set.Static)
		}
	})
}
