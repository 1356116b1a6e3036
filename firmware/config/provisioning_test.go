package config

import (
	"strings"
	"testing"
)

// TestProvisioningPolicy: <allow-dhcp>, <allow-insecure> and
// <profile-key> parse, are checked, and let <url> be left out.
func TestProvisioningPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, body     string
		err            string
		dhcp, insecure bool
		key            string
	}{
		{"defaults", `<provisioning><url>https://p/</url></provisioning>`, "", true, false, ""},
		{"dhcp only settings", `<provisioning><allow-insecure>true</allow-insecure></provisioning>`, "", true, true, ""},
		{"dhcp off", `<provisioning><url>https://p/</url><allow-dhcp>false</allow-dhcp></provisioning>`, "", false, false, ""},
		{"key alone", `<provisioning><profile-key>k 1</profile-key></provisioning>`, "", true, false, "k 1"},
		{"bad allow-dhcp", "<provisioning>\n<allow-dhcp>yes</allow-dhcp></provisioning>", `loopstart/provisioning/allow-dhcp: "yes": want true or false`, false, false, ""},
		{"bad allow-insecure", "<provisioning><url>https://p/</url>\n<allow-insecure>1</allow-insecure></provisioning>", `loopstart/provisioning/allow-insecure: "1": want true or false`, false, false, ""},
		{"empty element still needs a url", `<provisioning></provisioning>`, "loopstart/provisioning/url: missing", false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader("<loopstart>" + tc.body + "</loopstart>"))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := c.Provisioning
			if p.DHCPAllowed() != tc.dhcp || p.InsecureAllowed() != tc.insecure || p.ProfileKey != tc.key {
				t.Errorf("got %+v", p)
			}
		})
	}
	var none *Provisioning
	if !none.DHCPAllowed() || !none.InsecureAllowed() {
		t.Error("no <provisioning>: dhcp and plain servers allowed (zero-touch)")
	}
}
