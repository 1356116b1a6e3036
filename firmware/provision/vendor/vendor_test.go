package vendor

import (
	"errors"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
)

func TestLeaves(t *testing.T) {
	data := "<?xml version=\"1.0\"?>\n<r>\n  <a>1</a>\n  <g>\n    <b/>\n    <c></c>\n    <d x=\"1\"> v </d>\n  </g>\n</r>\n"
	ls, err := Leaves([]byte(data), "r")
	if err != nil {
		t.Fatal(err)
	}
	want := []Leaf{
		{Parents: []string{"r"}, Name: "a", Value: "1", Line: 3},
		{Parents: []string{"r", "g"}, Name: "b", SelfClosing: true, Line: 5},
		{Parents: []string{"r", "g"}, Name: "c", Line: 6},
		{Parents: []string{"r", "g"}, Name: "d", Value: "v", Line: 7},
	}
	if len(ls) != len(want) {
		t.Fatalf("got %+v", ls)
	}
	for i := range want {
		g, w := ls[i], want[i]
		if g.Name != w.Name || g.Value != w.Value || g.SelfClosing != w.SelfClosing || g.Line != w.Line || strings.Join(g.Parents, "/") != strings.Join(w.Parents, "/") {
			t.Errorf("leaf %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestLeavesErrors(t *testing.T) {
	deep := strings.Repeat("<x>", MaxDepth+1) + strings.Repeat("</x>", MaxDepth+1)
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "", "empty file"},
		{"root", "<s/>", "root element <s> is not <r>"},
		{"malformed", "<r><a></r>", "not well-formed"},
		{"deep", "<r>" + deep + "</r>", "nested more than"},
		{"two roots", "<r/><r/>", "more than one root"},
	} {
		_, err := Leaves([]byte(tc.data), "r")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestRoot(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"<?xml version=\"1.0\"?>\n<!-- c --><gs_provision/>", "gs_provision"},
		{"  <flat-profile>", "flat-profile"},
		{"\x00\x01binary", ""},
		{"text <a/>", ""},
	} {
		if got := Root([]byte(tc.data)); got != tc.want {
			t.Errorf("Root(%q) = %q, want %q", tc.data, got, tc.want)
		}
	}
}

func TestDocMergeNamesParam(t *testing.T) {
	d := NewDoc("test")
	d.SetAccount("1", "user", "1001", "U1", 3)
	d.SetAccount("1", "registrar", "sip:127.0.0.1", "S1", 4)
	d.SetAccount("1", "password", "pw", "W1", 5)
	d.SetAccount("1", "transport", "smtp", "T1", 6)
	d.SetPort(1, "1", "dial-plan", "(1xx)", "D1", 7)
	cur := &config.Config{}
	_, err := d.Merge(cur)
	var ve *Error
	if !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Fatalf("err = %v", err)
	}
	if p := ve.Problems[0]; p.Param != "T1" || p.Line != 6 || p.Path != "loopstart/account[id=1]/transport" {
		t.Errorf("problem %+v", p)
	}
	if len(cur.Accounts) != 0 {
		t.Error("current config changed")
	}
	d.SetAccount("1", "transport", "", "T1", 6)
	c, err := d.Merge(cur)
	if err != nil {
		t.Fatal(err)
	}
	if c.Accounts[0].Transport != "udp" || c.Ports[0].DialPlan != "(1xx)" {
		t.Errorf("got %+v %+v", c.Accounts, c.Ports)
	}
	d.Refuse("X9", "", 9, "bad %d", 1)
	if _, err := d.Merge(cur); err == nil || !strings.Contains(err.Error(), "line 9: X9: bad 1") {
		t.Errorf("err = %v", err)
	}
}

func TestXMLEscapes(t *testing.T) {
	d := NewDoc("test")
	d.SetAccount(`a"1`, "display-name", "<&>", "N", 1)
	x := string(d.XML())
	if !strings.Contains(x, `id="a&#34;1"`) || !strings.Contains(x, "&lt;&amp;&gt;") {
		t.Errorf("not escaped:\n%s", x)
	}
}

func FuzzLeaves(f *testing.F) {
	f.Add([]byte("<r><a>1</a><b/></r>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ls, err := Leaves(data, "r")
		if err == nil {
			for _, l := range ls {
				if l.Line < 1 {
					t.Fatalf("leaf %+v without a line", l)
				}
			}
		}
		Root(data)
	})
}
