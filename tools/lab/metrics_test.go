package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrometheusScrape: a real Prometheus (Debian's) scrapes the sim
// gateway's /metrics with a bearer token from /api/login; the scrape is
// healthy and the registrations Kamailio holds show as
// loopstart_account_registered 1.
func TestPrometheusScrape(t *testing.T) {
	Need(t, "prometheus", "kamailio", "kamcmd")
	k := StartKamailio(t, KamailioOpts{})
	g := StartGateway(t, GatewayOpts{Config: ContractConfig(k.Addr)})
	tok := labLogin(t, g)
	dir := t.TempDir()
	promAddr := fmt.Sprintf("127.0.0.1:%d", FreePort(t, 1))
	target := strings.TrimPrefix(g.HTTP, "http://")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: loopstart
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials: %q
    static_configs:
      - targets: [%q]
`, tok, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := Start(t, dir, "prometheus", "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	defer prom.Stop()
	query := func(q string) (string, error) {
		res, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return "", fmt.Errorf("%v: %s", err, b)
		}
		if len(out.Data.Result) != 1 || len(out.Data.Result[0].Value) != 2 {
			return "", fmt.Errorf("result %s", b)
		}
		return fmt.Sprint(out.Data.Result[0].Value[1]), nil
	}
	for _, q := range []string{`up{job="loopstart"}`, `loopstart_account_registered{user="1001"}`, `loopstart_account_registered{user="1002"}`, `loopstart_loop_running`} {
		Eventually(t, 30*time.Second, "prometheus: "+q+" = 1", func() error {
			if prom.Exited() {
				t.Fatalf("prometheus exited:\n%s", tail(prom.Log(), 30))
			}
			v, err := query(q)
			if err != nil || v != "1" {
				return fmt.Errorf("%s = %q (%v)", q, v, err)
			}
			return nil
		})
	}
	if v, err := query(`loopstart_loop_ticks_total`); err != nil || v == "0" {
		t.Errorf("ticks %q %v", v, err)
	}
}
