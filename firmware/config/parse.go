package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
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
	root, perr := readDoc(data)
	if perr != nil {
		return nil, &ValidationError{Problems: []Problem{perr.Problem}}
	}
	c := &Config{}
	w := newXMLWalk(c, root, false)
	w.root(root)
	if err := c.finish(w.m.ps); err != nil {
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

// Kinds of documents readDoc refuses that Merge words its own way.
const (
	faultOther = iota
	faultEmpty
	faultRoot
	faultTwoRoots
)

// docFault is why a document is not a <loopstart> tree.
type docFault struct {
	Problem
	kind int
	name string // the root element, for faultRoot
}

// readDoc checks the size, drops a byte order mark and reads the
// document into nodes; the root must be <loopstart>.
func readDoc(data []byte) (*node, *docFault) {
	if len(data) > MaxFileSize {
		return nil, &docFault{Problem: Problem{Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}}
	}
	// Editors on some systems start UTF-8 files with a byte order mark.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	root, f := readTree(string(data))
	if f != nil {
		return nil, f
	}
	if root.name != "loopstart" {
		return nil, &docFault{Problem: Problem{Line: root.line, Msg: fmt.Sprintf("the root element is <%s>, want <loopstart>", root.name)},
			kind: faultRoot, name: root.name}
	}
	return root, nil
}

// readTree parses the document into nodes, or returns the syntax problem.
func readTree(data string) (*node, *docFault) {
	fault := func(line int, kind int, format string, args ...any) *docFault {
		return &docFault{Problem: Problem{Line: line, Msg: fmt.Sprintf(format, args...)}, kind: kind}
	}
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
				return nil, fault(se.Line, faultOther, "malformed XML: %s", se.Msg)
			}
			l, _ := d.InputPos()
			return nil, fault(l, faultOther, "malformed XML: %s", err.Error())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fault(line, faultOther, "elements nested too deeply")
			}
			n := &node{name: qname(t.Name), attrs: append([]xml.Attr(nil), t.Attr...), line: line}
			if len(stack) == 0 {
				if root != nil {
					return nil, fault(line, faultTwoRoots, "second root element <%s> after </%s>", n.name, root.name)
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
				return nil, fault(line, faultOther, "text outside the <loopstart> element")
			}
		case xml.Directive:
			return nil, fault(line, faultOther, "<!%s> declarations are not allowed", firstWord(string(t)))
		case xml.ProcInst, xml.Comment:
			// The XML declaration and comments are fine.
		}
	}
	if root == nil {
		return nil, fault(0, faultEmpty, "no <loopstart> element: the file is empty")
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

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
