package browser

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/loopstart/loopstart/tools/lab"
)

// setupNode installs playwright-core in tools/browser when it is missing
// or is not the version package.json pins, and returns the directory; it
// skips (or fails with LOOPSTART_REQUIRE_PEERS=1) when that cannot be done.
func setupNode(t *testing.T) string {
	t.Helper()
	lab.Need(t, "chromium", "node", "npm")
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	if want, got := pinnedVersion(t, dir), installedVersion(dir); got != want {
		cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			msg := "PEER MISSING: npm ci in tools/browser failed: " + err.Error() + "\n" + string(out)
			if os.Getenv("LOOPSTART_REQUIRE_PEERS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// pinnedVersion is the playwright-core version package.json asks for.
func pinnedVersion(t *testing.T, dir string) string {
	t.Helper()
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err == nil {
		err = json.Unmarshal(b, &pkg)
	}
	if err != nil {
		t.Fatalf("tools/browser/package.json: %v", err)
	}
	return pkg.Dependencies["playwright-core"]
}

// installedVersion is the playwright-core version in node_modules, "" if none.
func installedVersion(dir string) string {
	var pkg struct {
		Version string `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	if err != nil || json.Unmarshal(b, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

// artifacts is the screenshot directory for one test.
func artifacts(t *testing.T, name string) string {
	t.Helper()
	art := os.Getenv("LOOPSTART_ARTIFACTS")
	if art == "" {
		var err error
		if art, err = os.MkdirTemp("", "loopstart-browser-"); err != nil {
			t.Fatal(err)
		}
	}
	art = filepath.Join(art, name)
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	return art
}

// TestBrowser runs webui.mjs against a fresh gateway on the sim board:
// first-run password setup (refused without the setup code), login, a wrong password, a POST without the
// CSRF token, a call between the virtual phones with the page's buttons,
// and an account changed to register at Kamailio. Screenshots go to
// $LOOPSTART_ARTIFACTS (default a temporary directory, named in the log).
func TestBrowser(t *testing.T) {
	dir := setupNode(t)
	kam := lab.StartKamailio(t, lab.KamailioOpts{})
	gw := lab.StartGateway(t, lab.GatewayOpts{})
	art := os.Getenv("LOOPSTART_ARTIFACTS")
	if art == "" {
		var err error
		if art, err = os.MkdirTemp("", "loopstart-browser-"); err != nil {
			t.Fatal(err)
		}
	}
	art = filepath.Join(art, "browser")
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "webui.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+gw.HTTP, "KAMAILIO="+kam.Addr, "ARTIFACTS="+art,
		"SETUP_CODE="+lab.SetupCode(t, gw.Data))
	out, err := cmd.CombinedOutput()
	t.Logf("browser test output:\n%s", out)
	t.Logf("screenshots in %s", art)
	if err != nil {
		t.Fatalf("browser test failed: %v\ngateway log:\n%s", err, gw.Log())
	}
}
