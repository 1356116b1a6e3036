package provision

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

func TestIsGrandstreamBinary(t *testing.T) {
	for name, want := range map[string]bool{"cfg000b82abcdef": true, "/p/cfg000B82ABCDEF": true, "cfg000b82abcdef.xml": false,
		"cfg.xml": false, "cfg000b82abcde": false, "cfg000b82abcdeg": false, "spa000b82abcdef": false} {
		if got := IsGrandstreamBinary(name); got != want {
			t.Errorf("%s: %v", name, got)
		}
	}
}

const gsFile = `<?xml version="1.0"?>
<gs_provision version="1"><mac>000b82abcdef</mac><config version="1">
<P35>2001</P35>
<P34>pw2001</P34>
<P57>8</P57>
<P76>stun.example</P76>
</config></gs_provision>
`

const spaFile = `<flat-profile>
<User_ID_2_>3002</User_ID_2_>
<Dial_Plan_2_>(xxxx)</Dial_Plan_2_>
<Admin_Passwd>x</Admin_Passwd>
</flat-profile>
`

// TestSyncVendorFormats: the first file of FileNames found wins whatever
// its format; a Grandstream binary name is refused and the next tried;
// values not sent stay; ignored parameters are listed in the status.
func TestSyncVendorFormats(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		files  map[string]string
		server string
		format string
		check  func(t *testing.T, st *store)
		tried  []string
	}{
		{"grandstream by mac", map[string]string{"/p/cfg000b82abcdef.xml": gsFile, "/p/spa000b82abcdef.cfg": spaFile}, "/p/", "grandstream",
			func(t *testing.T, st *store) {
				a := st.Current().Account("1")
				if a.User != "2001" || a.Password != "pw2001" || a.Codecs != "pcma" || a.Registrar != "sip:127.0.0.1:5060" {
					t.Errorf("account 1 = %+v", a)
				}
				if st.Current().Account("2").User != "1002" {
					t.Error("account 2 changed")
				}
			}, []string{"loopstart-000b82abcdef.xml: not found", "cfg000b82abcdef.xml: applied"}},
		{"spa by mac", map[string]string{"/p/spa000b82abcdef.cfg": spaFile, "/p/cfg.xml": gsFile}, "/p/", "spa",
			func(t *testing.T, st *store) {
				if st.Current().Account("2").User != "3002" || st.Current().Ports[1].DialPlan != "(xxxx)" || st.Current().Account("1").User != "1001" {
					t.Errorf("got %+v %+v", st.Current().Accounts, st.Current().Ports)
				}
			}, []string{"loopstart-000b82abcdef.xml: not found", "cfg000b82abcdef.xml: not found", "spa000b82abcdef.cfg: applied"}},
		{"generic grandstream", map[string]string{"/p/cfg.xml": gsFile}, "/p/", "grandstream", nil,
			[]string{"spa000b82abcdef.xml: not found", "loopstart.xml: not found", "cfg.xml: applied"}},
		{"binary refused", map[string]string{"/p/cfg000b82abcdef": "\x00\x01binary", "/p/cfg000b82abcdef.xml": gsFile}, "/p/cfg$MAC", "grandstream", nil,
			[]string{"cfg000b82abcdef: refused: Grandstream binary format", "cfg000b82abcdef.xml: applied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fileServer(t, tc.files, "", "")
			st := &store{cur: baseConfig(t)}
			p := newProv(t, st, srv.URL+tc.server, roots(srv))
			if err := p.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			s := p.Status()
			if s.Format != tc.format || s.MAC != "000b82abcdef" {
				t.Errorf("status %+v", s)
			}
			tried := strings.Join(s.Tried, "\n")
			for _, w := range tc.tried {
				if !strings.Contains(tried, w) {
					t.Errorf("tried lacks %q:\n%s", w, tried)
				}
			}
			if len(s.Ignored) == 0 {
				t.Error("no ignored parameter listed")
			}
			if tc.check != nil {
				tc.check(t, st)
			}
		})
	}
}

// TestSyncVendorRefused: a wrong value keeps the old config and is
// reported by the vendor's name and our path.
func TestSyncVendorRefused(t *testing.T) {
	for _, tc := range []struct{ name, file, body, want string }{
		{"grandstream", "/p/cfg000b82abcdef.xml", strings.Replace(gsFile, "<P57>8</P57>", "<P130>5</P130>", 1), "P130 (loopstart/account[id=1]/transport)"},
		{"spa", "/p/spa000b82abcdef.xml", strings.Replace(spaFile, "(xxxx)", "(xx[", 1), "Dial_Plan_2_ (loopstart/port[n=2]/dial-plan)"},
		{"other mac", "/p/cfg.xml", strings.Replace(gsFile, "000b82abcdef", "000b82000000", 1), "not this gateway's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fileServer(t, map[string]string{tc.file: tc.body}, "", "")
			st := &store{cur: baseConfig(t)}
			p := newProv(t, st, srv.URL+"/p/", roots(srv))
			before, _ := st.Current().Marshal()
			err := p.Sync(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(p.Status().LastError, tc.want) {
				t.Fatalf("err %v", err)
			}
			var ve *vendor.Error
			if tc.name != "other mac" && !errors.As(err, &ve) {
				t.Errorf("not a *vendor.Error: %T", err)
			}
			after, _ := st.Current().Marshal()
			if st.n != 0 || !bytes.Equal(before, after) {
				t.Error("the old config did not stay")
			}
		})
	}
}

// TestConvertFixtures runs the vendor packages' fixtures through Convert.
func TestConvertFixtures(t *testing.T) {
	for _, f := range []string{"grandstream/testdata/ht802.xml", "grandstream/testdata/ht814.xml", "spa/testdata/spa112.xml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, format, ignored, err := Convert(baseConfig(t), data, "000b82aabbcc")
		if err != nil || !slices.Contains([]string{"grandstream", "spa"}, format) || len(ignored) == 0 {
			t.Errorf("%s: %v %s %d", f, err, format, len(ignored))
			continue
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
