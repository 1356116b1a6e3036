package app

import (
	"net"
	"reflect"
	"testing"
)

func TestCertNames(t *testing.T) {
	ipnet := func(s string) net.Addr { return &net.IPNet{IP: net.ParseIP(s), Mask: net.CIDRMask(24, 32)} }
	for _, c := range []struct {
		name, listen, hostname string
		addrs                  []net.Addr
		want                   []string
	}{
		{"unspecified listen, duplicates", "0.0.0.0", "ata", []net.Addr{ipnet("127.0.0.1"), ipnet("10.0.2.15"), ipnet("::1")},
			[]string{"localhost", "127.0.0.1", "::1", "10.0.2.15", "ata", "ata.local"}},
		{"ipv6 unspecified", "::", "", nil, []string{"localhost", "127.0.0.1", "::1"}},
		{"a named listen address", "ata.example", "ata.lan", nil,
			[]string{"localhost", "127.0.0.1", "::1", "ata.example", "ata.lan", "ata.local"}},
		{"a specific address", "192.168.1.20", "", []net.Addr{ipnet("192.168.1.20")},
			[]string{"localhost", "127.0.0.1", "::1", "192.168.1.20"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := certNames(c.listen, c.addrs, c.hostname); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
