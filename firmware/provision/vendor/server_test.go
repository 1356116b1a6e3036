package vendor

import (
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
)

func TestServerURI(t *testing.T) {
	for _, tc := range []struct{ in, transport, want, err string }{
		{"", "", "", ""},
		{"proxy.example", "", "sip:proxy.example", ""},
		{"proxy.example:5070", "", "sip:proxy.example:5070", ""},
		{"proxy.example", "tcp", "sip:proxy.example;transport=tcp", ""},
		{"proxy.example", "tls", "sip:proxy.example;transport=tls", ""},
		{"sip:proxy.example;transport=udp", "tcp", "sip:proxy.example;transport=udp", ""},
		{"sips:proxy.example", "tls", "sips:proxy.example", ""},
		{"  10.0.0.1:5060 ", "", "sip:10.0.0.1:5060", ""},
		{"user@proxy.example", "", "", "not a server address"},
		{"proxy.example:99999", "", "", "not a server address"},
		{"proxy.example;maddr=x", "", "", "not a server address"},
	} {
		got, err := ServerURI(tc.in, tc.transport)
		if tc.err != "" {
			if err == nil || !contains(err.Error(), tc.err) {
				t.Errorf("ServerURI(%q, %q) = %q, %v; want error %q", tc.in, tc.transport, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ServerURI(%q, %q) = %q, %v; want %q", tc.in, tc.transport, got, err, tc.want)
		}
	}
}

func TestSTUNServer(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", "", ""},
		{"stun.example", "stun.example:3478", ""},
		{"stun.example:19302", "stun.example:19302", ""},
		{"192.0.2.1", "192.0.2.1:3478", ""},
		{"[2001:db8::1]:3478", "[2001:db8::1]:3478", ""},
		{"[2001:db8::1]", "[2001:db8::1]:3478", ""},
		{"stun.example:0", "", "port must be"},
		{"stun.example:x", "", "port must be"},
		{"stun_example", "", "bad character"},
		{":3478", "", "empty host"},
		{"a:b:c", "", "want host or host:port"},
	} {
		got, err := STUNServer(tc.in)
		if tc.err != "" {
			if err == nil || !contains(err.Error(), tc.err) {
				t.Errorf("STUNServer(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("STUNServer(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestKeepAliveSeconds(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"20", "20", true}, {" 30 ", "30", true}, {"3600", "3600", true},
		{"0", "", false}, {"3601", "", false}, {"-1", "", false}, {"ten", "", false}, {"", "", false},
	} {
		got, err := KeepAliveSeconds(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("KeepAliveSeconds(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// FuzzServerValues: any vendor server value either is refused or becomes
// a value the configuration accepts.
func FuzzServerValues(f *testing.F) {
	for _, s := range []string{"proxy.example", "p:5070", "sips:p", "[::1]:1", "a b", "stun.example:3478"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := ServerURI(s, "tcp"); err == nil && u != "" {
			if _, err := config.ParseRegistrar(u); err != nil {
				t.Fatalf("ServerURI(%q) = %q, which does not parse: %v", s, u, err)
			}
		}
		if h, err := STUNServer(s); err == nil && h != "" {
			if h2, err := STUNServer(h); err != nil || h2 != h {
				t.Fatalf("STUNServer(%q) = %q, not stable: %q, %v", s, h, h2, err)
			}
		}
	})
}
