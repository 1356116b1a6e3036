package browser

import (
	"os"
	"os/exec"
	"testing"

	"github.com/loopstart/loopstart/tools/lab"
)

// TestBrowserSetup runs setup.mjs against a fresh gateway on the sim
// board and a Kamailio: the first-run path to a registered account and a
// ringing phone, the selects against the config schema, an inline
// problem, backup → factory reset → restore, phone-width layout and the
// status page's weight. Screenshots go to $LOOPSTART_ARTIFACTS/setup.
func TestBrowserSetup(t *testing.T) {
	dir := setupNode(t)
	kam := lab.StartKamailio(t, lab.KamailioOpts{})
	gw := lab.StartGateway(t, lab.GatewayOpts{})
	art := artifacts(t, "setup")
	cmd := exec.Command("node", "setup.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+gw.HTTP, "KAMAILIO="+kam.Addr, "ARTIFACTS="+art,
		"SETUP_CODE="+lab.SetupCode(t, gw.Data), "DATA_DIR="+gw.Data)
	out, err := cmd.CombinedOutput()
	t.Logf("browser test output:\n%s", out)
	t.Logf("screenshots in %s", art)
	if err != nil {
		t.Fatalf("browser test failed: %v\ngateway log:\n%s", err, gw.Log())
	}
}
