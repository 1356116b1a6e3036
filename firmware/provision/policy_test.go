package provision

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
)

// TestDHCPServerPolicy: DHCP-supplied servers are used only where
// <allow-dhcp> allows, plain ones only with <allow-insecure>; a URL in
// the configuration is used whatever its scheme.
func TestDHCPServerPolicy(t *testing.T) {
	srv := fileServer(t, map[string]string{"/p/loopstart.xml": `<loopstart><account id="1"><user>3001</user></account></loopstart>`}, "", "")
	secure, _ := url.Parse(srv.URL + "/p/")
	plain, _ := url.Parse("tftp://127.0.0.1:1/p/")
	for _, tc := range []struct {
		name    string
		prov    *config.Provisioning
		dhcp    []*url.URL
		want    []string // servers used
		wantErr error
	}{
		{"https from dhcp by default", &config.Provisioning{}, []*url.URL{secure}, []string{secure.String()}, nil},
		{"tftp from dhcp refused by default", &config.Provisioning{}, []*url.URL{plain}, nil, ErrInsecureDHCP},
		{"plain ones dropped, https kept", &config.Provisioning{}, []*url.URL{plain, secure}, []string{secure.String()}, nil},
		{"out of the box, tftp from dhcp is zero-touch", nil, []*url.URL{plain}, []string{plain.String()}, nil},
		{"tftp from dhcp allowed", &config.Provisioning{AllowInsecure: "true"}, []*url.URL{plain}, []string{plain.String()}, nil},
		{"dhcp switched off", &config.Provisioning{AllowDHCP: "false"}, []*url.URL{secure}, nil, ErrDHCPRefused},
		{"dhcp switched off, insecure on", &config.Provisioning{AllowDHCP: "false", AllowInsecure: "true"}, []*url.URL{plain}, nil, ErrDHCPRefused},
		{"explicit tftp url is the opt-in", &config.Provisioning{URL: "tftp://10.0.0.1/c.xml", AllowDHCP: "false"}, []*url.URL{secure}, []string{"tftp://10.0.0.1/c.xml"}, nil},
		{"no dhcp, no url", nil, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig(t)
			c.Provisioning = tc.prov
			st := &store{cur: c}
			p := New(Options{Identity: testID, Current: st.Current, Apply: st.Apply,
				Fetcher: &Fetcher{Roots: roots(srv), Timeout: 3 * time.Second}, Logger: slog.New(slog.DiscardHandler)})
			p.SetDHCPServers(tc.dhcp)
			got, _, err := p.servers()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			var gs []string
			for _, u := range got {
				gs = append(gs, u.String())
			}
			if strings.Join(gs, " ") != strings.Join(tc.want, " ") {
				t.Errorf("servers %v, want %v", gs, tc.want)
			}
			if tc.wantErr != nil {
				// The sync fails with the reason, nothing is fetched, the old
				// configuration stays and the status says why.
				if err := p.Sync(context.Background()); !errors.Is(err, tc.wantErr) || st.n != 0 {
					t.Errorf("sync: %v, applied %d", err, st.n)
				}
				if s := p.Status(); !strings.Contains(s.LastError, "allow-") || s.State != "refused" || len(s.Servers) != len(tc.dhcp) {
					t.Errorf("status %+v", s)
				}
			}
		})
	}
}

// TestProfileKeyFromConfig: <profile-key> decrypts profiles before the
// key file does, and a profile may set the key the next one is
// decrypted with.
func TestProfileKeyFromConfig(t *testing.T) {
	next := `<loopstart><account id="1"><user>4001</user></account><provisioning><url>URL</url><profile-key>second-key</profile-key></provisioning></loopstart>`
	files := map[string]string{}
	srv := fileServer(t, files, "", "")
	next = strings.Replace(next, "URL", srv.URL+"/p/", 1)
	files["/p/loopstart-000b82abcdef.xml"] = string(opensslEnc(t, next, "first-key"))
	for _, tc := range []struct {
		name, cfgKey, fileKey, want string
	}{
		{"config key", "first-key", "", ""},
		{"config key wins over the file", "first-key", "wrong", ""},
		{"file key when config has none", "", "first-key", ""},
		{"wrong config key", "wrong", "first-key", "wrong profile key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &store{cur: baseConfig(t)}
			p := newProv(t, st, srv.URL+"/p/", roots(srv))
			st.cur.Provisioning.ProfileKey = tc.cfgKey
			p.opts.ProfileKey = func() string { return tc.fileKey }
			err := p.Sync(context.Background())
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || st.n != 0 {
					t.Errorf("err %v, applied %d", err, st.n)
				}
				return
			}
			if err != nil || st.Current().Account("1").User != "4001" || st.Current().Provisioning.ProfileKey != "second-key" {
				t.Fatalf("err %v, config %+v", err, st.Current().Provisioning)
			}
			// The key came with the profile: the next one is encrypted with it.
			files["/p/loopstart-000b82abcdef.xml"] = string(opensslEnc(t, strings.Replace(next, "4001", "4002", 1), "second-key"))
			defer func() { files["/p/loopstart-000b82abcdef.xml"] = string(opensslEnc(t, next, "first-key")) }()
			if err := p.Sync(context.Background()); err != nil || st.Current().Account("1").User != "4002" {
				t.Errorf("second sync: %v", err)
			}
		})
	}
}

// TestProfileKeyKeptOutOfBackups: the key is a secret like the account
// passwords.
func TestProfileKeyKeptOutOfBackups(t *testing.T) {
	c := baseConfig(t)
	c.Provisioning = &config.Provisioning{URL: "https://p.example/", ProfileKey: "k"}
	if got := c.WithoutSecrets().Provisioning.ProfileKey; got != "" {
		t.Errorf("backup keeps the profile key %q", got)
	}
	b := c.WithoutSecrets()
	b.KeepSecrets(c)
	if b.Provisioning.ProfileKey != "k" {
		t.Errorf("restore lost the key")
	}
}
