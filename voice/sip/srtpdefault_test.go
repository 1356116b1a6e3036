package sip

import "testing"

// TestAccountSRTPDefault checks the account policy's default by transport.
func TestAccountSRTPDefault(t *testing.T) {
	cases := []struct {
		mode, tp, want string
		bad            bool
	}{
		{"", "udp", SRTPOff, false},
		{"", "tcp", SRTPOff, false},
		{"", "tls", SRTPOptional, false},
		{"  ", "tls", SRTPOptional, false},
		{"off", "tls", SRTPOff, false},
		{"Mandatory", "tls", SRTPMandatory, false},
		{"optional", "udp", SRTPOptional, false},
		{"yes", "tls", "", true},
	}
	for _, tc := range cases {
		got, err := accountSRTP(tc.mode, tc.tp)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("accountSRTP(%q, %q) = %q, %v; want %q (error %v)", tc.mode, tc.tp, got, err, tc.want, tc.bad)
		}
	}
}
