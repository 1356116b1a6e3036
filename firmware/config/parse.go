package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// MaxFileSize bounds a configuration document, in bytes.
const MaxFileSize = 1 << 20

// maxDepth bounds element nesting; the schema needs 3 levels.
const maxDepth = 16

// node is one element of the parsed document.
type node struct {
	name     string
	attrs    []xml.Attr
	text     strings.Builder
	children []*node
	line     int
}

// Parse reads an XML configuration strictly, applies defaults and
// validates it. Any problem, syntactic or semantic, gives a
// *ValidationError listing all of them with paths and line numbers.
func Parse(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, &ValidationError{Problems: []Problem{{Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}}}
	}
	// Editors on some systems start UTF-8 files with a byte order mark.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	root, perr := readTree(string(data))
	if perr != nil {
		return nil, &ValidationError{Problems: []Problem{*perr}}
	}
	c := &Config{src: &source{root: root.line}}
	ps := c.fromTree(root)
	c.ApplyDefaults()
	ps = append(ps, c.check()...)
	if err := c.render(ps); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseFile is Parse on the named file.
func ParseFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

// readTree parses the document into nodes, or returns the syntax problem.
func readTree(data string) (*node, *Problem) {
	d := xml.NewDecoder(strings.NewReader(data))
	d.Strict = true
	var root *node
	var stack []*node
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &Problem{Line: se.Line, Msg: "malformed XML: " + se.Msg}
			}
			l, _ := d.InputPos()
			return nil, &Problem{Line: l, Msg: "malformed XML: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, &Problem{Line: line, Msg: "elements nested too deeply"}
			}
			n := &node{name: qname(t.Name), attrs: append([]xml.Attr(nil), t.Attr...), line: line}
			if len(stack) == 0 {
				if root != nil {
					return nil, &Problem{Line: line, Msg: fmt.Sprintf("second root element <%s> after </%s>", n.name, root.name)}
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, &Problem{Line: line, Msg: "text outside the <loopstart> element"}
			}
		case xml.Directive:
			return nil, &Problem{Line: line, Msg: "<!" + firstWord(string(t)) + "> declarations are not allowed"}
		case xml.ProcInst, xml.Comment:
			// The XML declaration and comments are fine.
		}
	}
	if root == nil {
		return nil, &Problem{Msg: "no <loopstart> element: the file is empty"}
	}
	if root.name != "loopstart" {
		return nil, &Problem{Line: root.line, Msg: fmt.Sprintf("the root element is <%s>, want <loopstart>", root.name)}
	}
	return root, nil
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	if len(f[0]) > 20 {
		return f[0][:20]
	}
	return f[0]
}

// mapper collects problems while copying the tree into a Config.
type mapper struct {
	ps []problem
}

func (m *mapper) add(sect, idx int, field, key string, line int, format string, args ...any) {
	m.ps = append(m.ps, problem{sect: sect, idx: idx, field: field, key: key, line: line, msg: fmt.Sprintf(format, args...)})
}

// leafFields is the schema of an element whose children hold text.
type leafFields map[string]func(v string) (msg string)

func strField(p *string) func(string) string {
	return func(v string) string { *p = v; return "" }
}

func intField(p *int) func(string) string {
	return func(v string) string {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Sprintf("%q is not a number", v)
		}
		*p = n
		return ""
	}
}

// fromTree copies the document into c and returns the structural problems.
func (c *Config) fromTree(root *node) []problem {
	m := &mapper{}
	for _, a := range root.attrs {
		m.add(sectRoot, 0, "@"+qname(a.Name), "", root.line, "unknown attribute %s", qname(a.Name))
	}
	if strings.TrimSpace(root.text.String()) != "" {
		m.add(sectRoot, 0, "", "", root.line, "unexpected text %q", clip(root.text.String()))
	}
	for _, ch := range root.children {
		switch ch.name {
		case "account":
			idx := len(c.Accounts)
			c.Accounts = append(c.Accounts, Account{})
			src := newElemSource(ch.line)
			c.src.accounts = append(c.src.accounts, src)
			a := &c.Accounts[idx]
			m.attrs(sectAccount, idx, ch, src, map[string]func(string) string{
				"id": strField(&a.ID),
			})
			m.leaves(sectAccount, idx, ch, src, leafFields{
				"registrar":    strField(&a.Registrar),
				"user":         strField(&a.User),
				"auth-user":    strField(&a.AuthUser),
				"password":     strField(&a.Password),
				"display-name": strField(&a.DisplayName),
				"expires":      intField(&a.Expires),
				"transport":    strField(&a.Transport),
				"ca-file":      strField(&a.CAFile),
				"srtp":         strField(&a.SRTP),
				"codecs":       strField(&a.Codecs),
			})
		case "port":
			idx := len(c.Ports)
			c.Ports = append(c.Ports, Port{})
			src := newElemSource(ch.line)
			c.src.ports = append(c.src.ports, src)
			p := &c.Ports[idx]
			m.attrs(sectPort, idx, ch, src, map[string]func(string) string{
				"n":       intField(&p.N),
				"account": strField(&p.Account),
			})
			m.leaves(sectPort, idx, ch, src, leafFields{
				"country":   strField(&p.Country),
				"dial-plan": strField(&p.DialPlan),
				"extension": strField(&p.Extension),
			})
		case "sip":
			if c.SIP != nil {
				m.add(sectRoot, 0, "sip", "", ch.line, "<sip> appears more than once")
				continue
			}
			c.SIP = &SIP{}
			c.src.sip = newElemSource(ch.line)
			m.attrs(sectSIP, 0, ch, c.src.sip, nil)
			m.leaves(sectSIP, 0, ch, c.src.sip, leafFields{
				"user-agent": strField(&c.SIP.UserAgent),
			})
		case "provisioning":
			if c.Provisioning != nil {
				m.add(sectRoot, 0, "provisioning", "", ch.line, "<provisioning> appears more than once")
				continue
			}
			c.Provisioning = &Provisioning{}
			c.src.prov = newElemSource(ch.line)
			m.attrs(sectProvisioning, 0, ch, c.src.prov, nil)
			m.leaves(sectProvisioning, 0, ch, c.src.prov, leafFields{
				"url":      strField(&c.Provisioning.URL),
				"interval": intField(&c.Provisioning.Interval),
			})
		case "firmware":
			if c.Firmware != nil {
				m.add(sectRoot, 0, "firmware", "", ch.line, "<firmware> appears more than once")
				continue
			}
			c.Firmware = &Firmware{}
			c.src.firmware = newElemSource(ch.line)
			m.attrs(sectFirmware, 0, ch, c.src.firmware, nil)
			m.leaves(sectFirmware, 0, ch, c.src.firmware, leafFields{
				"url": strField(&c.Firmware.URL),
			})
		default:
			m.add(sectRoot, 0, ch.name, "", ch.line, "unknown element (expected account, port, sip, provisioning or firmware)")
		}
	}
	return m.ps
}

// attrs copies the known attributes of n and reports unknown ones.
func (m *mapper) attrs(sect, idx int, n *node, src *elemSource, known map[string]func(string) string) {
	for _, a := range n.attrs {
		name := qname(a.Name)
		set, ok := known[name]
		if !ok {
			m.add(sect, idx, "", "@"+name, n.line, "unknown attribute %s", name)
			continue
		}
		src.fields["@"+name] = n.line
		if msg := set(strings.TrimSpace(a.Value)); msg != "" {
			m.add(sect, idx, "", "@"+name, n.line, "%s=%s", name, msg)
		}
	}
}

// leaves copies the text children of n and reports anything else.
func (m *mapper) leaves(sect, idx int, n *node, src *elemSource, known leafFields) {
	if s := strings.TrimSpace(n.text.String()); s != "" {
		m.add(sect, idx, "", "", n.line, "unexpected text %q (values go in child elements)", clip(s))
	}
	for _, ch := range n.children {
		set, ok := known[ch.name]
		if !ok {
			m.add(sect, idx, ch.name, "", ch.line, "unknown element (expected %s)", listKeys(known))
			continue
		}
		if _, dup := src.fields[ch.name]; dup {
			m.add(sect, idx, ch.name, "", ch.line, "appears more than once")
			continue
		}
		src.fields[ch.name] = ch.line
		for _, a := range ch.attrs {
			m.add(sect, idx, ch.name, "", ch.line, "unknown attribute %s", qname(a.Name))
		}
		if len(ch.children) > 0 {
			m.add(sect, idx, ch.name, ch.name, ch.line, "must hold text, not the element <%s>", ch.children[0].name)
			continue
		}
		if msg := set(strings.TrimSpace(ch.text.String())); msg != "" {
			m.add(sect, idx, ch.name, ch.name, ch.line, "%s", msg)
		}
	}
}

// fieldOrder is the schema order, used to list expected elements.
var fieldOrder = []string{"registrar", "user", "auth-user", "password", "display-name", "expires",
	"transport", "ca-file", "srtp", "codecs", "country", "dial-plan", "extension", "user-agent", "url", "interval"}

func listKeys(known leafFields) string {
	var s []string
	for _, k := range fieldOrder {
		if _, ok := known[k]; ok {
			s = append(s, k)
		}
	}
	return strings.Join(s, ", ")
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
