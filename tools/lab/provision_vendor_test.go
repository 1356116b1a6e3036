package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vendorFixture is a PBX template rendered for the lab: the provisioning
// packages' test fixture with Kamailio's address, its users and the lab's
// provisioning server put in.
type vendorFixture struct {
	name   string
	src    string                  // fixture under firmware/provision
	file   func(mac string) string // the name the gateway finds it under
	format string
	users  []string // the users that must register
	render func(body, kam, server string, tftp bool) string
	sparse string                    // a sparse file changing one value
	check  func(cfg labConfig) error // what the sparse file changed (the rest kept)
	wrong  string                    // a file with one wrong value
	param  string                    // the vendor name the refusal names
}

// labConfig is the part of GET /api/config the checks read.
type labConfig struct {
	Account []struct {
		ID          string `json:"id"`
		User        string `json:"user"`
		DisplayName string `json:"display-name"`
		Registrar   string `json:"registrar"`
	} `json:"account"`
	Port []struct {
		N        int    `json:"n"`
		DialPlan string `json:"dial-plan"`
	} `json:"port"`
}

func gsWrap(ps string) string {
	return `<?xml version="1.0"?><gs_provision version="1"><config version="1">` + ps + `</config></gs_provision>`
}

var vendorFixtures = []vendorFixture{
	{
		name: "ht802", src: "grandstream/testdata/ht802.xml", format: "grandstream",
		file:  func(mac string) string { return "cfg" + mac + ".xml" },
		users: []string{"1001", "1002"},
		render: func(b, kam, srv string, tftp bool) string {
			proto, user, pass := "2", "provuser", "provpass"
			if tftp {
				proto, user, pass = "0", "", ""
			}
			// The fixture's outbound proxy (P48) is the lab's Kamailio too:
			// it routes loosely through itself.
			return strings.NewReplacer("127.0.0.1:5060", kam, "127.0.0.1:5070", kam, "<P212>1</P212>", "<P212>"+proto+"</P212>",
				"<P237>127.0.0.1:8088/prov</P237>", "<P237>"+srv+"</P237>",
				"<P1360>provuser</P1360>", "<P1360>"+user+"</P1360>", "<P1361>provpass</P1361>", "<P1361>"+pass+"</P1361>").Replace(b)
		},
		sparse: gsWrap(`<P4200>{1xxx|*x+}</P4200><P3>Lobby Phone</P3>`),
		check: func(c labConfig) error {
			if c.Port[0].DialPlan != "{1xxx|*x+}" || c.Account[0].DisplayName != "Lobby Phone" || c.Account[0].User != "1001" ||
				c.Port[1].DialPlan != "{x+}" || c.Account[1].DisplayName != "Back Office" {
				return fmt.Errorf("config %+v", c)
			}
			return nil
		},
		wrong: gsWrap(`<P130>7</P130>`), param: "P130 (loopstart/account[id=1]/transport)",
	},
	{
		name: "ht814", src: "grandstream/testdata/ht814.xml", format: "grandstream",
		file:  func(string) string { return "cfg.xml" },
		users: []string{"1001", "1002"},
		render: func(b, kam, srv string, tftp bool) string {
			proto := "2"
			if tftp {
				proto = "0"
			}
			return strings.NewReplacer("127.0.0.1:5060", kam, "<P212>2</P212>", "<P212>"+proto+"</P212>",
				"<P237>prov.example.net/app/provision</P237>", "<P237>"+srv+"</P237>",
				"pw2001", "secret1", "pw2002", "secret2", "pw2003", "secret3",
				"2001", "1001", "2002", "1002", "2003", "1003", "<mac>000b82aabbcc</mac>", "").Replace(b)
		},
		sparse: gsWrap(`<P4181>Porch</P4181>`),
		check: func(c labConfig) error {
			if c.Account[1].DisplayName != "Porch" || c.Account[1].User != "1002" || c.Account[0].DisplayName != "Lobby" ||
				c.Port[0].DialPlan != "{[1-9]xxx|*x+}" {
				return fmt.Errorf("config %+v", c)
			}
			return nil
		},
		wrong: gsWrap(`<P4200>{[9</P4200>`), param: "P4200 (loopstart/port[n=1]/dial-plan)",
	},
	{
		name: "spa112", src: "spa/testdata/spa112.xml", format: "spa",
		file:  func(mac string) string { return "spa" + mac + ".cfg" },
		users: []string{"1001", "1002"},
		render: func(b, kam, srv string, tftp bool) string {
			rule := "[--uid provuser --pwd provpass]https://" + srv + "/"
			if tftp {
				rule = "tftp://" + srv + "/"
			}
			return strings.NewReplacer("127.0.0.1:5060", kam, "127.0.0.1:5070", kam, "*97@127.0.0.1", "*97@"+kam,
				"[--uid provuser --pwd provpass]http://127.0.0.1:8088/prov/spa$MA.xml", rule,
				"pw3001", "secret1", "pw3002", "secret2", "auth3002", "1002", "3001", "1001", "3002", "1002").Replace(b)
		},
		sparse: `<flat-profile><Dial_Plan_1_>(1xxx|*xx)</Dial_Plan_1_><Display_Name_2_/></flat-profile>`,
		check: func(c labConfig) error {
			if c.Port[0].DialPlan != "(1xxx|*xx)" || c.Account[1].DisplayName != "Office" || c.Port[1].DialPlan != "(xxxx|9xx.)" {
				return fmt.Errorf("config %+v", c)
			}
			return nil
		},
		wrong: `<flat-profile><SIP_Transport_2_>SCTP</SIP_Transport_2_></flat-profile>`, param: "SIP_Transport_2_ (loopstart/account[id=2]/transport)",
	},
}

// TestProvisionVendor provisions the sim gateway with the Grandstream
// HT802 and HT814 and Cisco SPA112 fixtures over a real tftpd-hpa and
// over HTTPS (basic auth, a lab CA the gateway trusts through
// SSL_CERT_FILE): each time the ports register at Kamailio. Then a sparse
// file changes one value and keeps the others, and a file with a wrong
// value is refused by its vendor name with the old config kept.
func TestProvisionVendor(t *testing.T) {
	Need(t, "in.tftpd")
	dir, err := os.MkdirTemp("", "loopstart-vendor-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	runAs := "nobody"
	if u, err := user.Current(); err == nil && u.Uid != "0" {
		runAs = u.Username
	}
	tftpAddr := fmt.Sprintf("127.0.0.1:%d", FreePort(t, 1))
	Start(t, t.TempDir(), "in.tftpd", "--foreground", "--listen", "--address", tftpAddr, "--secure", "--user", runAs, dir)
	httpsAddr := startProvHTTPS(t, dir, "provuser", "provpass")

	for _, fx := range vendorFixtures {
		for _, tftp := range []bool{true, false} {
			name, srv, url := fx.name+"/https", httpsAddr, "https://provuser:provpass@"+httpsAddr+"/"
			if tftp {
				name, srv, url = fx.name+"/tftp", tftpAddr, "tftp://"+tftpAddr+"/"
			}
			t.Run(name, func(t *testing.T) {
				clearDir(t, dir)
				// A Kamailio of its own: no registration left by another run.
				k := StartKamailio(t, KamailioOpts{})
				defer k.Stop()
				g := StartGateway(t, GatewayOpts{Config: fmt.Sprintf(`<loopstart>
  <account id="1"><user>101</user></account>
  <account id="2"><user>102</user></account>
  <port n="1" account="1"/>
  <port n="2" account="2"/>
  <provisioning><url>%s</url><interval>86400</interval></provisioning>
</loopstart>`, url)})
				defer g.Stop()
				tok := labLogin(t, g)
				var st provStatus
				g.authJSON(t, tok, "GET", "/api/provisioning", &st)
				if len(st.MAC) != 12 {
					t.Fatalf("no MAC in /api/provisioning: %+v", st)
				}
				src, err := os.ReadFile(filepath.Join("..", "..", "firmware", "provision", fx.src))
				if err != nil {
					t.Fatal(err)
				}
				body := strings.ReplaceAll(fx.render(string(src), k.Addr, srv, tftp), "000b82aabbcc", st.MAC)
				file := filepath.Join(dir, fx.file(st.MAC))
				writeProv(t, file, body)
				g.authJSON(t, tok, "POST", "/api/provisioning/resync", nil)
				for _, u := range fx.users {
					Eventually(t, 20*time.Second, "user "+u+" registered at Kamailio", func() error {
						if ok, err := k.Registered(u); err != nil || !ok || !strings.Contains(mustLocations(t, k), g.SIP) {
							return fmt.Errorf("not registered (%v); provisioning: %+v", err, g.provStatus(t, tok))
						}
						return nil
					})
				}
				st = g.provStatus(t, tok)
				if st.Format != fx.format || !strings.HasSuffix(st.LastFile, fx.file(st.MAC)) || len(st.Ignored) == 0 {
					t.Errorf("provisioning status %+v", st)
				}
				if tftp {
					return // the value checks below need only one transport
				}

				// Sparse: one value changes, the others stay.
				writeProv(t, file, fx.sparse)
				g.authJSON(t, tok, "POST", "/api/provisioning/resync", nil)
				Eventually(t, 15*time.Second, "sparse file applied", func() error {
					var c labConfig
					g.authJSON(t, tok, "GET", "/api/config", &c)
					if len(c.Account) < 2 || len(c.Port) < 2 {
						return fmt.Errorf("config %+v", c)
					}
					return fx.check(c)
				})
				var before labConfig
				g.authJSON(t, tok, "GET", "/api/config", &before)

				// A wrong value: refused by name, the old config stays.
				writeProv(t, file, fx.wrong)
				g.authJSON(t, tok, "POST", "/api/provisioning/resync", nil)
				Eventually(t, 15*time.Second, "wrong value refused", func() error {
					if s := g.provStatus(t, tok); !strings.Contains(s.LastError, fx.param) {
						return fmt.Errorf("last error %q", s.LastError)
					}
					return nil
				})
				var after labConfig
				g.authJSON(t, tok, "GET", "/api/config", &after)
				if fmt.Sprint(before) != fmt.Sprint(after) {
					t.Errorf("config changed by a refused file:\n%+v\n%+v", before, after)
				}
				for _, u := range fx.users {
					if ok, err := k.Registered(u); err != nil || !ok {
						t.Errorf("user %s no longer registered (%v)", u, err)
					}
				}
			})
		}
	}
}

// mustLocations is Kamailio's location table.
func mustLocations(t testing.TB, k *Kamailio) string {
	out, err := k.Locations()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// provStatus is the part of /api/provisioning the test reads.
type provStatus struct {
	MAC       string   `json:"mac"`
	Format    string   `json:"format"`
	LastFile  string   `json:"last_file"`
	LastError string   `json:"last_error"`
	Tried     []string `json:"tried"`
	Ignored   []string `json:"ignored"`
	// LastFailure is when an attempt last failed, zero before one did.
	LastFailure time.Time `json:"last_failure"`
}

func (g *Gateway) provStatus(t testing.TB, tok string) provStatus {
	var s provStatus
	g.authJSON(t, tok, "GET", "/api/provisioning", &s)
	return s
}

// labLogin sets the gateway's first password with its setup code and
// returns the bearer token.
func labLogin(t testing.TB, g *Gateway) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"password": "lab-password-0123", "setup_code": SetupCode(t, g.Data)})
	resp, err := http.Post(g.HTTP+"/api/setup", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		t.Fatalf("setup: %s %s", resp.Status, b)
	}
	return out.Token
}

// authJSON sends a request with the bearer token and decodes the answer
// into v (nil: ignored); a status other than 2xx fails the test.
func (g *Gateway) authJSON(t testing.TB, tok, method, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(method, g.HTTP+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// startProvHTTPS serves dir over HTTPS on loopback with basic auth and a
// certificate of a fresh lab CA, which the gateways this test starts
// trust through SSL_CERT_FILE. It returns the address.
func startProvHTTPS(t *testing.T, dir, user, pass string) string {
	t.Helper()
	cert := WriteTestCert(t, t.TempDir())
	t.Setenv("SSL_CERT_FILE", cert.CAFile)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="provisioning"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		files.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.ServeTLS(l, cert.CertFile, cert.KeyFile)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func writeProv(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func clearDir(t testing.TB, dir string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		os.Remove(filepath.Join(dir, e.Name()))
	}
}
