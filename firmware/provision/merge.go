package provision

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/loopstart/loopstart/firmware/config"
)

// elem is one element of a provisioning document.
type elem struct {
	name     string
	attrs    []xml.Attr
	text     string
	children []*elem
}

// maxDepth bounds nesting in a fetched file.
const maxDepth = 16

// parseTree reads an XML document into elements; syntax errors, a
// truncated file and nesting deeper than maxDepth are errors.
func parseTree(data []byte) (*elem, error) {
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	d.Strict = true
	var root *elem
	var stack []*elem
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			return nil, fmt.Errorf("malformed XML at line %d: %w", line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, errors.New("elements nested too deep")
			}
			if root != nil && len(stack) == 0 {
				return nil, errors.New("more than one root element")
			}
			e := &elem{name: t.Name.Local, attrs: t.Attr}
			if len(stack) == 0 {
				root = e
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("empty file")
	}
	if len(stack) != 0 {
		return nil, errors.New("truncated file")
	}
	return root, nil
}

func (e *elem) attr(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// key identifies list elements: accounts by id, ports by n.
func (e *elem) key() (string, bool) {
	switch e.name {
	case "account":
		v, ok := e.attr("id")
		return "account/" + v, ok
	case "port":
		v, ok := e.attr("n")
		return "port/" + v, ok
	}
	return "", false
}

func (e *elem) removing() bool {
	v, _ := e.attr("remove")
	return v == "true" || v == "yes" || v == "1"
}

// merge applies patch onto base: attributes are replaced, list elements
// (account by id, port by n) are merged with their match or appended,
// and other elements with children are merged with the element of the
// same name; leaf elements replace it. An element with remove="true"
// deletes its match.
func merge(base, patch *elem) {
	for _, a := range patch.attrs {
		if a.Name.Local == "remove" {
			continue
		}
		set := false
		for i := range base.attrs {
			if base.attrs[i].Name.Local == a.Name.Local {
				base.attrs[i].Value, set = a.Value, true
			}
		}
		if !set {
			base.attrs = append(base.attrs, a)
		}
	}
	if len(patch.children) == 0 {
		base.text = patch.text
		return
	}
	for _, pc := range patch.children {
		idx := -1
		if k, ok := pc.key(); ok {
			for i, bc := range base.children {
				if bk, ok := bc.key(); ok && bk == k {
					idx = i
				}
			}
		} else {
			for i, bc := range base.children {
				if bc.name == pc.name {
					idx = i
				}
			}
		}
		switch {
		case pc.removing():
			if idx >= 0 {
				base.children = append(base.children[:idx], base.children[idx+1:]...)
			}
		case idx < 0:
			base.children = append(base.children, pc)
		case len(pc.children) == 0 && !isList(pc):
			base.children[idx] = pc
		default:
			merge(base.children[idx], pc)
		}
	}
}

func isList(e *elem) bool { return e.name == "account" || e.name == "port" }

// write renders the tree as XML.
func (e *elem) write(b *bytes.Buffer) {
	b.WriteString("<" + e.name)
	for _, a := range e.attrs {
		if a.Name.Space != "" || a.Name.Local == "remove" {
			continue
		}
		b.WriteString(" " + a.Name.Local + `="`)
		xml.EscapeText(b, []byte(a.Value))
		b.WriteString(`"`)
	}
	b.WriteString(">")
	if len(e.children) == 0 {
		xml.EscapeText(b, []byte(strings.TrimSpace(e.text)))
	}
	for _, c := range e.children {
		c.write(b)
	}
	b.WriteString("</" + e.name + ">")
}

// Merge merges a fetched (possibly partial) file onto cur and validates
// the result in full. It returns the new configuration, or an error
// saying what is wrong with the file; cur is not changed.
func Merge(cur *config.Config, file []byte) (*config.Config, error) {
	patch, err := parseTree(file)
	if err != nil {
		return nil, err
	}
	if patch.name != "loopstart" {
		return nil, fmt.Errorf("root element <%s> is not <loopstart>", patch.name)
	}
	curXML, err := cur.Marshal()
	if err != nil {
		return nil, err
	}
	base, err := parseTree(curXML)
	if err != nil {
		return nil, fmt.Errorf("current config: %w", err)
	}
	merge(base, patch)
	var b bytes.Buffer
	base.write(&b)
	c, err := config.Parse(&b)
	if err != nil {
		return nil, fmt.Errorf("invalid after merging onto the current config: %w", err)
	}
	return c, nil
}
