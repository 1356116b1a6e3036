package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
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

func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rule forbids packages under prefix from depending (directly or not) on
// anything matching one of the forbidden prefixes.
type rule struct {
	prefix    string
	forbidden []string
	why       string
	// direct checks only the package's own imports (sipgo itself imports
	// net/http for its websocket transport; what matters is that our voice
	// code does not serve or fetch HTTP).
	direct bool
}

var rules = []rule{
	{"drivers/", []string{module + "/voice", module + "/webui", module + "/firmware", module + "/board", "github.com/emiago/sipgo", "net/http"},
		"drivers never import voice/, SIP or net/http", false},
	{"voice/", []string{module + "/webui", module + "/firmware", module + "/board/sim", module + "/drivers/si3215"},
		"voice/ never imports the web UI, firmware or a concrete board", false},
	{"voice/", []string{"net/http"}, "voice/ never imports net/http", true},
	{"board", []string{module + "/voice/line", module + "/voice/sip", module + "/voice/media", module + "/voice/gateway", "github.com/emiago/sipgo", "net/http"},
		"board/ sits below voice/", false},
	{"firmware/config", []string{module + "/"}, "firmware/config imports the standard library only", false},
	{"firmware/health", []string{module + "/"}, "firmware/health imports the standard library only", false},
	{"webui", []string{module + "/board", module + "/drivers", "github.com/emiago/sipgo"}, "webui reaches the board only through interfaces", false},
}

func TestImportRules(t *testing.T) {
	for _, p := range list(t) {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		for _, r := range rules {
			if !strings.HasPrefix(rel, r.prefix) {
				continue
			}
			deps := p.Deps
			if r.direct {
				deps = p.Imports
			}
			for _, d := range deps {
				for _, f := range r.forbidden {
					if d == f || strings.HasPrefix(d, f) {
						t.Errorf("%s depends on %s: %s", rel, d, r.why)
					}
				}
			}
		}
	}
}

// TestDSPIsStdOnly: dsp imports only the standard library.
func TestDSPIsStdOnly(t *testing.T) {
	for _, p := range list(t) {
		if p.ImportPath != module+"/dsp" {
			continue
		}
		for _, imp := range p.Imports {
			if strings.Contains(strings.Split(imp, "/")[0], ".") {
				t.Errorf("dsp imports %s", imp)
			}
		}
		return
	}
	t.Fatal("dsp not found")
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
