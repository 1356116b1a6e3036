package provision

import (
	"os"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/provision/grandstream"
	"github.com/loopstart/loopstart/firmware/provision/spa"
	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// docTables reads the tables of docs/PROVISIONING-MAP.md: section
// heading -> parameter -> target (backquotes removed).
func docTables(t *testing.T) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../docs/PROVISIONING-MAP.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = h
			continue
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 2 {
			t.Errorf("line %d: want 2 cells: %s", i+1, line)
			continue
		}
		param := strings.Trim(strings.TrimSpace(cells[0]), "`")
		target := strings.ReplaceAll(strings.TrimSpace(cells[1]), "`", "")
		if out[section] == nil {
			out[section] = map[string]string{}
		}
		if _, dup := out[section][param]; dup {
			t.Errorf("line %d: %s twice", i+1, param)
		}
		out[section][param] = target
	}
	return out
}

// TestProvisioningMap checks the documented map against the code's, both
// ways: every parameter the code knows is documented with the same target
// or reason, and every documented one is known to the code.
func TestProvisioningMap(t *testing.T) {
	doc := docTables(t)
	for _, tc := range []struct {
		section string
		code    []vendor.Mapping
	}{
		{"Grandstream P-values", grandstream.Map()},
		{"Cisco SPA elements", spa.Map()},
	} {
		rows := doc[tc.section]
		if len(rows) == 0 {
			t.Errorf("no table under ## %s", tc.section)
			continue
		}
		known := map[string]bool{}
		for _, m := range tc.code {
			known[m.Param] = true
			got, ok := rows[m.Param]
			switch {
			case !ok:
				t.Errorf("%s: %s (%s) is not documented", tc.section, m.Param, m.Target)
			case got != m.Target:
				t.Errorf("%s: %s documented as %q, the code says %q", tc.section, m.Param, got, m.Target)
			}
		}
		for p := range rows {
			if !known[p] {
				t.Errorf("%s: %s is documented but the code does not know it", tc.section, p)
			}
		}
	}
}

// TestTemplatesCovered: every parameter the PBX templates write is in the
// code's map (and so, by TestProvisioningMap, in the documentation).
func TestTemplatesCovered(t *testing.T) {
	for _, tc := range []struct {
		file, prefix string
		code         []vendor.Mapping
	}{
		{"grandstream/testdata/templates.txt", "P", grandstream.Map()},
		{"spa/testdata/templates.txt", "", spa.Map()},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		known := map[string]bool{}
		for _, m := range tc.code {
			known[m.Param] = true
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			name, list, ok := strings.Cut(line, ":")
			if !ok || strings.HasPrefix(line, "#") {
				continue
			}
			for _, p := range strings.Fields(list) {
				n++
				if !known[tc.prefix+p] {
					t.Errorf("%s template writes %s%s, which the map lacks", name, tc.prefix, p)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no parameters read", tc.file)
		}
	}
}
