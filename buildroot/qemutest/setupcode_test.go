package qemutest

import "testing"

// TestParseSetupCode reads the setup code out of console output the way
// the boot test does, without booting anything.
func TestParseSetupCode(t *testing.T) {
	for _, c := range []struct {
		name, console, want string
	}{
		{"none", "loopstart boot: gateway starting\n", ""},
		{"text handler line", `time=2026-01-02T03:04:05Z level=INFO msg="first setup: setup code" setup_code=7K3QD-M9XAT` + "\n", "7K3QD-M9XAT"},
		{"quoted value, CRLF console", "\r\nlevel=INFO msg=\"first setup: setup code\" setup_code=\"0A1B2-C3D4E\"\r\n", "0A1B2-C3D4E"},
		{"the last of several starts", "msg=\"first setup: setup code\" setup_code=AAAAA-BBBBB\nrestart\n" +
			"msg=\"first setup: setup code\" setup_code=CCCCC-DDDDD\n", "CCCCC-DDDDD"},
		{"another message", `msg="first setup" setup_code=AAAAA-BBBBB`, ""},
		{"too short", `msg="first setup: setup code" setup_code=AAAA-BBBBB`, ""},
		{"no dash", `msg="first setup: setup code" setup_code=AAAAABBBBB`, ""},
		{"too long", `msg="first setup: setup code" setup_code=AAAAA-BBBBBB`, ""},
	} {
		if got := parseSetupCode(c.console); got != c.want {
			t.Errorf("%s: parseSetupCode = %q, want %q", c.name, got, c.want)
		}
	}
}
