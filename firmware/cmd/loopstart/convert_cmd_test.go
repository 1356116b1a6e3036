package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
)

func TestConfigConvert(t *testing.T) {
	ht802, err := os.ReadFile("../../provision/grandstream/testdata/ht802.xml")
	if err != nil {
		t.Fatal(err)
	}
	gs := writeFile(t, "cfg000b82aabbcc.xml", string(ht802))
	spaFile := writeFile(t, "spa.xml", `<flat-profile><User_ID_1_>3001</User_ID_1_><Dial_Plan_1_>(1xx)</Dial_Plan_1_><Admin_Passwd>x</Admin_Passwd></flat-profile>`)
	badSpa := writeFile(t, "bad.xml", `<flat-profile><SIP_Transport_1_>SCTP</SIP_Transport_1_></flat-profile>`)
	binary := writeFile(t, "cfg000b82aabbcc", "\x00\x01\x02")
	native := writeFile(t, "native.xml", minimalConfig)
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		out, errs  string
		parseWhole bool
	}{
		{"grandstream partial", []string{gs}, 0, `<account id="1">`, "", false},
		{"grandstream lists ignored", []string{gs}, 0, "P2 (line 8): the web password", "", false},
		{"grandstream mac ok", []string{"-mac", "00:0b:82:aa:bb:cc", gs}, 0, "<user>1001</user>", "", false},
		{"grandstream other mac", []string{"-mac", "000b82000001", gs}, 1, "", "not this gateway's", false},
		{"spa onto native", []string{"-onto", native, spaFile}, 0, "<dial-plan>(1xx)</dial-plan>", "", true},
		{"bad value", []string{badSpa}, 1, "", "SIP_Transport_1_ (loopstart/account[id=1]/transport)", false},
		{"binary", []string{binary}, 1, "", "Grandstream binary", false},
		{"native", []string{native}, 1, "", "already native", false},
		{"usage", []string{}, 2, "", "want exactly one FILE", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			code := dispatch(append([]string{"config", "convert"}, tc.args...), &out, &errs)
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errs.String(), tc.errs) {
				t.Fatalf("code %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
			}
			if tc.parseWhole {
				c, err := config.Parse(strings.NewReader(out.String()))
				if err != nil || c.Account("1").User != "3001" || c.Account("2").User != "1002" {
					t.Errorf("whole config: %v", err)
				}
			}
			if code == 0 && !tc.parseWhole {
				// The partial document is what Merge takes.
				if _, err := config.Merge(&config.Config{}, out.Bytes()); err != nil && !strings.Contains(err.Error(), "missing") {
					t.Errorf("output does not merge: %v", err)
				}
			}
		})
	}
}
