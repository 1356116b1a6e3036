package browser

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/update"
	"github.com/loopstart/loopstart/tools/lab"
)

// TestBrowserFirmware runs firmware.mjs: on a gateway that trusts the
// test signing key, a tampered image is refused and a signed one (the
// same gateway built as another version) is uploaded from the firmware
// page with progress shown, the gateway restarts into slot a, and the
// new version is confirmed healthy. Then an image built a day earlier is
// refused as a downgrade, and installed into slot b once confirmed.
func TestBrowserFirmware(t *testing.T) {
	dir := setupNode(t)
	root := filepath.Join(dir, "..", "..")
	const newVersion, oldVersion = "browser-fw-2", "browser-fw-1"
	tmp := t.TempDir()
	priv, err := update.ReadPrivateKeyFile(filepath.Join(root, "firmware/update/testdata/test.key"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// sign builds the gateway as version and signs it with that build date.
	sign := func(version string, built time.Time) []byte {
		payload := filepath.Join(tmp, "loopstart-"+version)
		build := exec.Command("go", "build", "-o", payload, "-ldflags", "-X main.version="+version, "./firmware/cmd/loopstart")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		pl, err := os.ReadFile(payload)
		if err != nil {
			t.Fatal(err)
		}
		img, err := update.SignBuilt(priv, version, "sim/"+runtime.GOARCH, now, built, pl)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	img := sign(newVersion, time.Time{})
	good, bad, old := filepath.Join(tmp, "good.img"), filepath.Join(tmp, "bad.img"), filepath.Join(tmp, "old.img")
	os.WriteFile(good, img, 0o644)
	img[len(img)/2] ^= 1
	os.WriteFile(bad, img, 0o644)
	os.WriteFile(old, sign(oldVersion, now.Add(-24*time.Hour)), 0o644)

	httpPort, sipPort := lab.FreePort(t, 1), lab.FreePort(t, 2)
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	gwDir := t.TempDir()
	gw := lab.Start(t, gwDir, lab.Binary(t), "run", "--board", "sim", "--data", filepath.Join(gwDir, "data"),
		"--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--sip", fmt.Sprintf("127.0.0.1:%d", sipPort),
		"--firmware-key", filepath.Join(root, "firmware/update/testdata/test.pub"), "--firmware-health", "30s")
	lab.Eventually(t, 15*time.Second, "gateway web UI", func() error {
		if gw.Exited() {
			return fmt.Errorf("gateway exited:\n%s", gw.Log())
		}
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err
	})
	art := artifacts(t, "browser-firmware")
	cmd := exec.Command("node", "firmware.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+base, "IMAGE="+good, "BAD_IMAGE="+bad, "NEW_VERSION="+newVersion,
		"OLD_IMAGE="+old, "OLD_VERSION="+oldVersion, "ARTIFACTS="+art,
		"SETUP_CODE="+lab.SetupCode(t, filepath.Join(gwDir, "data")))
	out, err := cmd.CombinedOutput()
	t.Logf("browser test output:\n%s", out)
	t.Logf("screenshots in %s", art)
	if err != nil {
		t.Fatalf("browser firmware test failed: %v\ngateway log:\n%s", err, gw.Log())
	}
}
