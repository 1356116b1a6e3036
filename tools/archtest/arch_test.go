package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/loopstart/loopstart"

type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Deps       []string
}

var (
	listOnce sync.Once
	listed   []pkg
	listErr  error
)

// list returns every package of the module (go list, once per test binary).
func list(t *testing.T) []pkg {
	t.Helper()
	listOnce.Do(func() {
		cmd := exec.Command("go", "list", "-json", module+"/...")
		cmd.Dir = "../.."
		out, err := cmd.Output()
		if err != nil {
			listErr = err
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for {
			var p pkg
			if err := dec.Decode(&p); err == io.EOF {
				break
			} else if err != nil {
				listErr = err
				return
			}
			listed = append(listed, p)
		}
	})
	if listErr != nil {
		t.Fatalf("go list: %v", listErr)
	}
	return listed
}

// Third-party modules, by the name a layer's entry uses.
const (
	periphConn = "periph.io/x/conn/v3"
	periphHost = "periph.io/x/host/v3"
	sipgo      = "github.com/emiago/sipgo"
	xsys       = "golang.org/x/sys"
)

// allow is the layering as an allow-list: for each package of the module
// (an exact path, or "dir/..." for dir and everything below it, the most
// specific entry winning), the module packages and third-party modules its
// non-test files may import. The standard library is always allowed except
// the packages in noStd. A package with no entry fails TestImportAllowList,
// so a new package must be placed in the layering when it is made.
var allow = map[string][]string{
	// The bottom: std-only leaves every layer may build on.
	"dsp":                 {},
	"dsp/wav":             {},
	"dsp/internal/oracle": {"internal/oraclebuild"},
	// Test support: builds the C oracles tests compare against.
	"internal/oraclebuild": {},
	"board/simapi":         {},
	"voice/status":         {},
	"firmware/config":      {"voice/dialplan"},
	"firmware/health":      {},
	"firmware/update":      {"firmware/card"},
	"firmware/card":        {},

	// Command-line tools over the bottom layer.
	"dsp/dsptool": {"dsp", "dsp/wav"},

	// Drivers: periph.io, the PCM interface, dsp; never voice, board or SIP.
	"drivers/pcm":               {},
	"drivers/pcm/sim":           {"drivers/pcm", xsys},
	"drivers/pcm/alsa":          {"drivers/pcm", "github.com/gen2brain/alsa", xsys},
	"drivers/pcm/alsa/selftest": {"drivers/pcm", "drivers/pcm/alsa", "dsp"},
	"drivers/internal/...":      {"drivers/internal/...", periphConn},
	"drivers/si3215":            {"drivers/pcm", periphConn},
	"drivers/si3050":            {"drivers/pcm", periphConn},
	"drivers/si3215/model":      {"drivers/internal/...", "drivers/pcm", "dsp", periphConn},
	"drivers/si3050/model":      {"drivers/internal/...", "drivers/pcm", "dsp", periphConn},

	// Boards: the interfaces the voice layer sees link no driver; the
	// assemblers link drivers and models.
	"board":       {"drivers/pcm"},
	"board/chips": {"board", "drivers/si3215", "drivers/si3050"},
	"board/hw":    {"board", "board/chips", "drivers/pcm", "drivers/si3215", "drivers/si3050", "dsp", periphConn, periphHost},
	// board/sim maps its recordings outside the Go heap (x/sys/unix: mmap).
	"board/sim":       {"board", "board/chips", "board/simapi", "drivers/pcm", "drivers/pcm/sim", "drivers/si3215", "drivers/si3215/model", "drivers/si3050", "drivers/si3050/model", "dsp", periphConn, xsys},
	"board/hw/hwtest": {"board", "drivers/si3215/model", "drivers/si3050/model", periphConn},
	"board/factory":   {"board", "board/hw", "board/sim", "drivers/pcm", "drivers/pcm/alsa", "drivers/pcm/sim", periphConn, periphHost},
	// The qemu-hil chip side: the models behind spidev devices served
	// through CUSE (tools/spidevd runs it in the test image).
	"board/hil":        {"board", "board/hil/spidev", "board/sim", "board/simapi", "drivers/pcm", "drivers/si3215/model", "drivers/si3050/model", "dsp", periphConn},
	"board/hil/cuse":   {xsys},
	"board/hil/spidev": {"board/hil/cuse", periphConn},

	// Voice: board interfaces (never a concrete board), dsp and listed siblings.
	"voice/line":     {"board", "dsp", "voice/dialplan"},
	"voice/dialplan": {},
	"voice/capture":  {},
	"voice/media":    {"drivers/pcm", "dsp", "voice/capture", "github.com/pion/rtp", "github.com/pion/rtcp", "github.com/pion/srtp/v3", xsys},
	"voice/sip":      {"voice/status", sipgo, "github.com/pion/sdp/v3", "github.com/icholy/digest", "github.com/google/uuid", "github.com/pion/stun/v3"},
	"voice/gateway":  {"board", "drivers/pcm", "dsp", "voice/capture", "voice/dialplan", "voice/line", "voice/media", "voice/sip", "voice/status", xsys},

	// The web UI: configuration, status types, the sim API types, WAV.
	"webui": {"firmware/config", "voice/status", "board/simapi", "dsp/wav", "golang.org/x/crypto", "golang.org/x/net"},

	// Firmware services.
	"firmware/provision":             {"firmware/config", "firmware/provision/grandstream", "firmware/provision/spa", "firmware/provision/vendor", "github.com/pin/tftp/v3", "github.com/icholy/digest"},
	"firmware/provision/vendor":      {"firmware/config"},
	"firmware/provision/grandstream": {"firmware/config", "firmware/provision/vendor"},
	"firmware/provision/spa":         {"firmware/config", "firmware/provision/vendor"},
	"firmware/system":                {"firmware/card", "firmware/health", xsys, "github.com/beevik/ntp", "github.com/insomniacslk/dhcp", "github.com/vishvananda/netlink"},
	"firmware/app": {"board", "board/simapi", "firmware/card", "firmware/config", "firmware/health", "firmware/provision", "firmware/system", "firmware/update",
		"voice/capture", "voice/gateway", "voice/sip", "voice/status", "webui"},

	// The one binary: flags and calls.
	"firmware/cmd/loopstart": {"board", "board/factory", "board/simapi", "dsp/dsptool", "dsp/wav", "drivers/pcm/alsa/selftest",
		"firmware/app", "firmware/config", "firmware/provision/...", "firmware/system", "webui"},

	// Images and tools.
	"buildroot":     {"firmware/card"},
	"buildroot/...": {"buildroot", "firmware/card"},
	"tools/...":     {"*"},
}

// noStd lists standard-library packages a layer must not import: HTTP
// stays out of the drivers, the boards, the signal library and voice.
var noStd = map[string][]string{
	"drivers/...": {"net/http"},
	"board/...":   {"net/http"},
	"dsp/...":     {"net/http"},
	"voice/...":   {"net/http"},
}

// entry returns the most specific key of m matching rel ("" when none).
func entry[V any](m map[string]V, rel string) string {
	best := ""
	for k := range m {
		ok := k == rel
		if d, found := strings.CutSuffix(k, "/..."); found {
			ok = rel == d || strings.HasPrefix(rel, d+"/")
		}
		if ok && len(k) > len(best) {
			best = k
		}
	}
	return best
}

// matches reports whether an import (module-relative for our packages, full
// for others) is covered by an allow-list element.
func matches(imp, el string) bool {
	if el == "*" {
		return true
	}
	if d, found := strings.CutSuffix(el, "/..."); found {
		return imp == d || strings.HasPrefix(imp, d+"/")
	}
	return imp == el || (strings.Contains(el, ".") && strings.HasPrefix(imp, el+"/"))
}

func isStd(imp string) bool { return !strings.Contains(strings.Split(imp, "/")[0], ".") }

func TestImportAllowList(t *testing.T) {
	for _, p := range list(t) {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		key := entry(allow, rel)
		if key == "" {
			t.Errorf("%s has no entry in the allow-list: place it in the layering", rel)
			continue
		}
		banned := noStd[entry(noStd, rel)]
	imports:
		for _, imp := range p.Imports {
			if isStd(imp) {
				for _, b := range banned {
					if imp == b {
						t.Errorf("%s imports %s, which its layer must not", rel, imp)
					}
				}
				continue
			}
			name := strings.TrimPrefix(imp, module+"/")
			for _, el := range allow[key] {
				if matches(name, el) {
					continue imports
				}
			}
			t.Errorf("%s imports %s, not in its allow-list entry %q", rel, name, key)
		}
	}
}

// TestAllowListMatchesSelf checks the matcher on the shapes the table uses.
func TestAllowListMatchesSelf(t *testing.T) {
	for _, c := range []struct {
		imp, el string
		want    bool
	}{
		{"dsp", "dsp", true},
		{"dsp/wav", "dsp", false},
		{"drivers/internal/spimodel", "drivers/internal/...", true},
		{"periph.io/x/conn/v3/spi", periphConn, true},
		{"periph.io/x/conn/v3", periphConn, true},
		{"periph.io/x/conn/v30", periphConn, false},
		{"voice/sip", "*", true},
	} {
		if got := matches(c.imp, c.el); got != c.want {
			t.Errorf("matches(%q, %q) = %v", c.imp, c.el, got)
		}
	}
	if got := entry(allow, "drivers/internal/pinmodel"); got != "drivers/internal/..." {
		t.Errorf("entry = %q", got)
	}
	if got := entry(allow, "dsp/wav"); got != "dsp/wav" {
		t.Errorf("entry = %q", got)
	}
}

// TestStdOnlyLeavesLinkNoModule: the bottom packages depend on nothing
// outside the standard library, not even indirectly.
func TestStdOnlyLeavesLinkNoModule(t *testing.T) {
	for _, p := range list(t) {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		if el, ok := allow[entry(allow, rel)]; !ok || len(el) > 0 || strings.HasPrefix(rel, "buildroot") {
			continue
		}
		for _, d := range p.Deps {
			if !isStd(d) {
				t.Errorf("%s is a std-only leaf but depends on %s", rel, d)
			}
		}
	}
}

// TestPackageDocs: every package has a doc comment.
func TestPackageDocs(t *testing.T) {
	for _, p := range list(t) {
		if p.Doc == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}

// TestBoardInterfacesLinkNoDriver: package board holds the interfaces the
// voice layer imports; the driver adapters live in board/chips so that
// voice/ never links a chip driver.
func TestBoardInterfacesLinkNoDriver(t *testing.T) {
	for _, p := range list(t) {
		if p.ImportPath != module+"/board" {
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, module+"/drivers/") && d != module+"/drivers/pcm" {
				t.Errorf("board depends on %s", d)
			}
		}
		return
	}
	t.Fatal("package board not found")
}
