package config

import (
	"strings"
	"testing"
)

// TestRequireSignature: <provisioning><require-signature> parses, is
// checked (the message names the path), defaults to false and lets
// <url> be left out.
func TestRequireSignature(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		err        string
		want       bool
	}{
		{"default", `<provisioning><url>https://p/</url></provisioning>`, "", false},
		{"true", `<provisioning><url>https://p/</url><require-signature>true</require-signature></provisioning>`, "", true},
		{"false", `<provisioning><url>https://p/</url><require-signature>false</require-signature></provisioning>`, "", false},
		{"alone", `<provisioning><require-signature>true</require-signature></provisioning>`, "", true},
		{"bad", "<provisioning><url>https://p/</url>\n<require-signature>yes</require-signature></provisioning>",
			`loopstart/provisioning/require-signature: "yes": want true or false`, false},
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
			if got := c.Provisioning.SignatureRequired(); got != tc.want {
				t.Errorf("SignatureRequired %v, want %v", got, tc.want)
			}
			out, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != strings.Contains(string(out), "<require-signature>true</require-signature>") {
				t.Errorf("marshalled: %s", out)
			}
		})
	}
	var none *Provisioning
	if none.SignatureRequired() {
		t.Error("no <provisioning>: signatures not required")
	}
}
