// Package vendor is what the vendor provisioning formats (Grandstream
// P-value XML, Cisco SPA flat profiles) share: a reader of their XML leaves
// with line numbers, and Doc, the partial native configuration a vendor
// file is turned into. A Doc remembers which vendor parameter set each
// native field, so that when the merged configuration fails validation the
// problem names both the vendor's parameter and the native path.
package vendor

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/loopstart/loopstart/firmware/config"
)

// MaxDepth bounds the nesting of a vendor file's elements.
const MaxDepth = 16

// Leaf is one element of a vendor file that holds text and no elements.
type Leaf struct {
	// Parents are the names of the enclosing elements, outermost first.
	Parents []string
	// Name is the element's local name.
	Name string
	// Value is the element's text with surrounding white space removed.
	Value string
	// SelfClosing is true for <X/>, false for <X></X> or <X>v</X>.
	SelfClosing bool
	// Line is the element's line in the file, from 1.
	Line int
}

// Root returns the local name of the document's root element, or "" when
// data holds no XML element before its first non-space byte that is not
// part of a declaration, comment or processing instruction.
func Root(data []byte) string {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t.Name.Local
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return ""
			}
		}
	}
}

// Leaves reads an XML document and returns its text leaves in order.
// Elements that hold other elements are walked, never returned; text
// between elements is ignored. It fails on malformed XML, on more than
// MaxDepth levels and when the root is not named root.
func Leaves(data []byte, root string) ([]Leaf, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	type open struct {
		name     string
		text     strings.Builder
		line     int
		selfEnd  bool
		children bool
	}
	var stack []*open
	var out []Leaf
	lineAt := func(off int64) int {
		return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n"))
	}
	seenRoot := false
	for {
		start := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			if !seenRoot {
				return nil, errors.New("empty file: no XML element")
			}
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if seenRoot {
					return nil, errors.New("more than one root element")
				}
				seenRoot = true
				if t.Name.Local != root {
					return nil, fmt.Errorf("root element <%s> is not <%s>", t.Name.Local, root)
				}
			}
			if len(stack) >= MaxDepth {
				return nil, fmt.Errorf("line %d: elements nested more than %d deep", lineAt(start), MaxDepth)
			}
			if len(stack) > 0 {
				stack[len(stack)-1].children = true
			}
			end := d.InputOffset()
			raw := data[start:min(int(end), len(data))]
			o := &open{name: t.Name.Local, line: lineAt(start + int64(bytes.IndexByte(raw, '<'))), selfEnd: bytes.HasSuffix(raw, []byte("/>"))}
			stack = append(stack, o)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if o.children || len(stack) == 0 {
				continue
			}
			parents := make([]string, len(stack))
			for i, p := range stack {
				parents[i] = p.name
			}
			out = append(out, Leaf{Parents: parents, Name: o.name, Value: strings.TrimSpace(o.text.String()), SelfClosing: o.selfEnd, Line: o.line})
		}
	}
}

// Problem is one vendor value that cannot be used.
type Problem struct {
	// Param is the vendor's parameter name (P130, Proxy_1_); "" when the
	// problem is with the document itself or has no one parameter.
	Param string
	// Path is the native configuration path the value maps to, like
	// loopstart/account[id=1]/transport; "" when it maps to none.
	Path string
	// Line is the line in the vendor file, 0 when unknown.
	Line int
	// Msg says what is wrong.
	Msg string
}

// String formats the problem as "line 7: P130 (loopstart/account[id=1]/transport): msg".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	switch {
	case p.Param != "" && p.Path != "":
		fmt.Fprintf(&b, "%s (%s): ", p.Param, p.Path)
	case p.Param != "":
		b.WriteString(p.Param + ": ")
	case p.Path != "":
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem of a vendor file; the configuration in force
// is not changed.
type Error struct {
	// Format names the vendor format ("grandstream", "spa").
	Format string
	// Problems are in file order.
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *Error) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return e.Format + " profile: " + strings.Join(s, "\n")
}

// Ignored is a vendor parameter that was read but changes nothing.
type Ignored struct {
	// Param is the vendor's parameter name.
	Param string
	// Line is its line in the file.
	Line int
	// Reason says why it changes nothing.
	Reason string
}

// String formats it as "P76 (line 12): reason".
func (ig Ignored) String() string {
	if ig.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", ig.Param, ig.Line, ig.Reason)
	}
	return ig.Param + ": " + ig.Reason
}

// field is one native field a vendor file sets or clears.
type field struct {
	name  string
	value string
	clear bool
	param string
	line  int
}

// elem is an <account>, <port> or <provisioning> being built.
type elem struct {
	key    string // id of an account, n of a port
	attrs  [][2]string
	fields []field
}

func (e *elem) set(f field) {
	for i := range e.fields {
		if e.fields[i].name == f.name {
			e.fields[i] = f
			return
		}
	}
	e.fields = append(e.fields, f)
}

// Doc is a partial native configuration built from a vendor file: the
// <loopstart> document config.Merge takes, plus where each field came from.
type Doc struct {
	// Format names the vendor format, for messages.
	Format string
	// Ignored lists the parameters read that change nothing, in file order.
	Ignored []Ignored

	accounts []*elem
	ports    []*elem
	prov     *elem
	problems []Problem
}

// NewDoc starts an empty document for a vendor format.
func NewDoc(format string) *Doc { return &Doc{Format: format} }

func (d *Doc) account(id string) *elem {
	for _, e := range d.accounts {
		if e.key == id {
			return e
		}
	}
	e := &elem{key: id}
	d.accounts = append(d.accounts, e)
	return e
}

func (d *Doc) port(n int, account string) *elem {
	key := strconv.Itoa(n)
	for _, e := range d.ports {
		if e.key == key {
			return e
		}
	}
	e := &elem{key: key, attrs: [][2]string{{"account", account}}}
	d.ports = append(d.ports, e)
	return e
}

// AccountPath is the native path of an account field.
func AccountPath(id, name string) string {
	return "loopstart/account[id=" + id + "]/" + name
}

// PortPath is the native path of a port field.
func PortPath(n int, name string) string {
	return "loopstart/port[n=" + strconv.Itoa(n) + "]/" + name
}

// ProvisioningPath is the native path of a <provisioning> field.
func ProvisioningPath(name string) string { return "loopstart/provisioning/" + name }

// SetAccount sets field name of the account with the given id to value
// (an empty value clears it back to its default), on behalf of the vendor
// parameter param at line.
func (d *Doc) SetAccount(id, name, value, param string, line int) {
	d.account(id).set(field{name: name, value: value, clear: value == "", param: param, line: line})
}

// SetPort sets field name of port n, bound to the given account, to
// value (an empty value clears it), on behalf of param at line.
func (d *Doc) SetPort(n int, account, name, value, param string, line int) {
	d.port(n, account).set(field{name: name, value: value, clear: value == "", param: param, line: line})
}

// SetProvisioning sets field name of <provisioning> (an empty value
// clears it), on behalf of param at line.
func (d *Doc) SetProvisioning(name, value, param string, line int) {
	if d.prov == nil {
		d.prov = &elem{}
	}
	d.prov.set(field{name: name, value: value, clear: value == "", param: param, line: line})
}

// Ignore records a parameter that changes nothing, and why.
func (d *Doc) Ignore(param string, line int, reason string) {
	d.Ignored = append(d.Ignored, Ignored{Param: param, Line: line, Reason: reason})
}

// Refuse records a value that cannot be used: the document will not be
// applied.
func (d *Doc) Refuse(param, path string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Param: param, Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Err returns the refused values as an *Error, or nil.
func (d *Doc) Err() error {
	if len(d.problems) == 0 {
		return nil
	}
	ps := slices.Clone(d.problems)
	slices.SortStableFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
	return &Error{Format: d.Format, Problems: ps}
}

// Empty reports whether the document changes nothing.
func (d *Doc) Empty() bool {
	return len(d.accounts) == 0 && len(d.ports) == 0 && d.prov == nil
}

// XML renders the document as a native partial configuration, the
// <loopstart> file config.Merge applies: accounts, then ports, then
// <provisioning>; a cleared field is written with remove="true".
func (d *Doc) XML() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<loopstart>\n")
	write := func(name string, attrs [][2]string, e *elem) {
		b.WriteString("  <" + name)
		for _, a := range attrs {
			b.WriteString(" " + a[0] + `="`)
			xml.EscapeText(&b, []byte(a[1]))
			b.WriteString(`"`)
		}
		if len(e.fields) == 0 {
			b.WriteString("/>\n")
			return
		}
		b.WriteString(">\n")
		for _, f := range e.fields {
			if f.clear {
				b.WriteString("    <" + f.name + ` remove="true"/>` + "\n")
				continue
			}
			b.WriteString("    <" + f.name + ">")
			xml.EscapeText(&b, []byte(f.value))
			b.WriteString("</" + f.name + ">\n")
		}
		b.WriteString("  </" + name + ">\n")
	}
	for _, e := range d.accounts {
		write("account", [][2]string{{"id", e.key}}, e)
	}
	for _, e := range d.ports {
		write("port", append([][2]string{{"n", e.key}}, e.attrs...), e)
	}
	if d.prov != nil {
		write("provisioning", nil, d.prov)
	}
	b.WriteString("</loopstart>\n")
	return b.Bytes()
}

// origin finds the vendor parameter behind a native path.
func (d *Doc) origin(path string) (string, int) {
	look := func(prefix string, es []*elem, key func(*elem) string) (string, int, bool) {
		for _, e := range es {
			p := prefix + key(e) + "]/"
			name, ok := strings.CutPrefix(path, p)
			if !ok {
				continue
			}
			for _, f := range e.fields {
				if f.name == name {
					return f.param, f.line, true
				}
			}
		}
		return "", 0, false
	}
	if p, l, ok := look("loopstart/account[id=", d.accounts, func(e *elem) string { return e.key }); ok {
		return p, l
	}
	if p, l, ok := look("loopstart/port[n=", d.ports, func(e *elem) string { return e.key }); ok {
		return p, l
	}
	if name, ok := strings.CutPrefix(path, "loopstart/provisioning/"); ok && d.prov != nil {
		for _, f := range d.prov.fields {
			if f.name == name {
				return f.param, f.line
			}
		}
	}
	return "", 0
}

// Merge applies the document onto a copy of cur with config.Merge (so
// unsent values keep their current value and the result is validated in
// full). A refused value or a validation problem gives an *Error naming
// the vendor parameter and the native path; cur is never changed.
func (d *Doc) Merge(cur *config.Config) (*config.Config, error) {
	if err := d.Err(); err != nil {
		return nil, err
	}
	next, err := config.Merge(cur, d.XML())
	if err == nil {
		return next, nil
	}
	var verr *config.ValidationError
	if !errors.As(err, &verr) {
		return nil, fmt.Errorf("%s profile: %w", d.Format, err)
	}
	out := &Error{Format: d.Format}
	for _, p := range verr.Problems {
		param, line := d.origin(p.Path)
		out.Problems = append(out.Problems, Problem{Param: param, Path: p.Path, Line: line, Msg: p.Msg})
	}
	return nil, out
}

// IgnoredNames returns the ignored parameters as strings, for a status page.
func (d *Doc) IgnoredNames() []string {
	out := make([]string, len(d.Ignored))
	for i, ig := range d.Ignored {
		out[i] = ig.String()
	}
	return out
}
