package webui

import (
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
)

type fakeProvisioner struct{ st ProvisioningStatus }

func (f *fakeProvisioner) ProvisioningStatus() ProvisioningStatus { return f.st }
func (f *fakeProvisioner) Resync() error                          { return nil }

// TestProvisioningPageShowsAttempt: the MAC the files are named after,
// the files tried with their outcome, the format and the ignored vendor
// parameters are on the provisioning page.
func TestProvisioningPageShowsAttempt(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	s.opts.Provisioning = &fakeProvisioner{st: ProvisioningStatus{State: "idle", MAC: "000b82abcdef", Format: "grandstream",
		Tried:   []string{"https://p/loopstart-000b82abcdef.xml: not found", "https://p/cfg000b82abcdef.xml: applied"},
		Ignored: []string{"line 4: P9999: unknown P-value"}, LastError: "<boom>"}}
	_, cookie := login(t, s, "")
	w := send(t, s, req{method: "GET", path: "/provisioning", cookie: cookie})
	body := w.Body.String()
	for _, want := range []string{
		`<td id="prov-mac">000b82abcdef</td>`,
		`<li>https://p/loopstart-000b82abcdef.xml: not found</li><li>https://p/cfg000b82abcdef.xml: applied</li>`,
		`<td id="prov-format">grandstream</td>`,
		`<li>line 4: P9999: unknown P-value</li>`,
		`&lt;boom&gt;`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

// TestProvisioningFormKeepsPolicy: clearing the server URL on the
// provisioning page keeps <allow-dhcp>, <allow-insecure> and the
// profile key.
func TestProvisioningFormKeepsPolicy(t *testing.T) {
	s, _, fc := newAuthServer(t, false)
	lr, cookie := login(t, s, "")
	for _, tc := range []struct {
		name string
		prov *config.Provisioning
		want *config.Provisioning
	}{
		{"nothing left", &config.Provisioning{URL: "https://p/", Interval: 600}, nil},
		{"policy stays", &config.Provisioning{URL: "https://p/", Interval: 600, AllowInsecure: "true", ProfileKey: "k"},
			&config.Provisioning{Interval: config.DefaultProvisioningInterval, AllowInsecure: "true", ProfileKey: "k"}}, // the default interval is filled in
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc.cur.Provisioning = tc.prov
			w := send(t, s, req{method: "POST", path: "/provisioning", body: "url=&csrf_token=" + lr.CSRFToken,
				ctype: "application/x-www-form-urlencoded", cookie: cookie})
			if w.Code != 303 || strings.Contains(w.Header().Get("Location"), "err=") {
				t.Fatalf("%d %s", w.Code, w.Header().Get("Location"))
			}
			got := fc.cur.Provisioning
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Errorf("provisioning %+v, want %+v", got, tc.want)
			}
		})
	}
}
