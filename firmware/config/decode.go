package config

import (
	"encoding/xml"
	"reflect"
	"strings"
)

// xmlWalk copies a document tree into a Config along the schema. In merge
// mode the tree is a partial document: list elements are matched with the
// config's by their key, single elements and fields replace only what they
// name, and remove="true" deletes what it is on.
type xmlWalk struct {
	c     *Config
	v     reflect.Value // *c
	merge bool
	m     mapper
}

func newXMLWalk(c *Config, root *node, merge bool) *xmlWalk {
	c.src = newSource(c, root.line)
	return &xmlWalk{c: c, v: reflect.ValueOf(c).Elem(), merge: merge}
}

// removing reports an element carrying remove="true" (or yes, or 1).
func removing(n *node) bool {
	for _, a := range n.attrs {
		if qname(a.Name) == "remove" {
			switch strings.TrimSpace(a.Value) {
			case "true", "yes", "1":
				return true
			}
		}
	}
	return false
}

// isRemoveAttr reports the remove attribute, which only partial documents have.
func (w *xmlWalk) isRemoveAttr(a xml.Attr) bool {
	return w.merge && qname(a.Name) == "remove"
}

// root copies the children of <loopstart>.
func (w *xmlWalk) root(root *node) {
	m := &w.m
	for _, a := range root.attrs {
		if w.isRemoveAttr(a) {
			continue
		}
		m.add(sectRoot, 0, "@"+qname(a.Name), "", root.line, "unknown attribute %s", qname(a.Name))
	}
	if strings.TrimSpace(root.text.String()) != "" {
		m.add(sectRoot, 0, "", "", root.line, "unexpected text %q", clip(root.text.String()))
	}
	seen := map[*elemSpec]bool{}
	for _, ch := range root.children {
		es := schema().byName[ch.name]
		switch {
		case es == nil:
			m.add(sectRoot, 0, ch.name, "", ch.line, "unknown element (expected %s)", schema().elemNames())
		case es.list:
			w.listElem(es, ch)
		case seen[es]:
			m.add(sectRoot, 0, ch.name, "", ch.line, "<%s> appears more than once", ch.name)
		default:
			seen[es] = true
			w.singleElem(es, ch)
		}
	}
}

// listElem copies an account or port: appended, or in merge mode merged
// with the one that has the same key, or deleting it.
func (w *xmlWalk) listElem(es *elemSpec, n *node) {
	list := w.v.Field(es.index)
	idx := -1
	if w.merge {
		idx = w.find(es, list, n)
		if removing(n) {
			if idx >= 0 {
				w.remove(es, list, idx)
			}
			return
		}
	}
	src := newElemSource(n.line)
	if idx < 0 {
		idx = list.Len()
		list.Set(reflect.Append(list, reflect.New(es.typ).Elem()))
		w.c.src.elems[es.sect] = append(w.c.src.elems[es.sect], src)
	} else {
		w.c.src.elems[es.sect][idx] = src
	}
	w.fields(es, list.Index(idx), idx, n, src)
}

// find returns the index of the element of list with n's key, or -1.
func (w *xmlWalk) find(es *elemSpec, list reflect.Value, n *node) int {
	for _, a := range n.attrs {
		if qname(a.Name) != es.key.name {
			continue
		}
		k := reflect.New(es.typ).Elem()
		if es.key.set(k, a.Value) != "" {
			return -1
		}
		want := k.Field(es.key.index).Interface()
		for i := range list.Len() {
			if list.Index(i).Field(es.key.index).Interface() == want {
				return i
			}
		}
	}
	return -1
}

// remove deletes element idx of list; problems already found about it
// name the element without its position, later ones move up.
func (w *xmlWalk) remove(es *elemSpec, list reflect.Value, idx int) {
	n := list.Len()
	reflect.Copy(list.Slice(idx, n), list.Slice(idx+1, n))
	list.Set(list.Slice(0, n-1))
	srcs := w.c.src.elems[es.sect]
	w.c.src.elems[es.sect] = append(srcs[:idx], srcs[idx+1:]...)
	for i := range w.m.ps {
		p := &w.m.ps[i]
		switch {
		case p.sect != es.sect:
		case p.idx == idx:
			p.idx = -1
		case p.idx > idx:
			p.idx--
		}
	}
}

// singleElem copies <sip>, <provisioning> or <firmware>.
func (w *xmlWalk) singleElem(es *elemSpec, n *node) {
	ptr := w.v.Field(es.index)
	if w.merge && removing(n) {
		ptr.SetZero()
		w.c.src.elems[es.sect][0] = nil
		return
	}
	if ptr.IsNil() {
		ptr.Set(reflect.New(es.typ))
	}
	src := newElemSource(n.line)
	w.c.src.elems[es.sect][0] = src
	w.fields(es, ptr.Elem(), 0, n, src)
}

// fields copies the attributes and the text children of n into v and
// reports anything else.
func (w *xmlWalk) fields(es *elemSpec, v reflect.Value, idx int, n *node, src *elemSource) {
	m := &w.m
	for _, a := range n.attrs {
		if w.isRemoveAttr(a) {
			continue
		}
		name := qname(a.Name)
		f := es.attrs[name]
		if f == nil {
			m.add(es.sect, idx, "", "@"+name, n.line, "unknown attribute %s", name)
			continue
		}
		src.fields["@"+name] = n.line
		if msg := f.set(v, a.Value); msg != "" {
			m.add(es.sect, idx, "", "@"+name, n.line, "%s=%s", name, msg)
		}
	}
	if s := strings.TrimSpace(n.text.String()); s != "" {
		m.add(es.sect, idx, "", "", n.line, "unexpected text %q (values go in child elements)", clip(s))
	}
	seen := map[string]bool{}
	for _, ch := range n.children {
		f := es.leaves[ch.name]
		if f == nil {
			m.add(es.sect, idx, ch.name, "", ch.line, "unknown element (expected %s)", es.leafNames())
			continue
		}
		if seen[ch.name] {
			m.add(es.sect, idx, ch.name, "", ch.line, "appears more than once")
			continue
		}
		seen[ch.name] = true
		src.fields[ch.name] = ch.line
		if w.merge && removing(ch) {
			v.Field(f.index).SetZero()
			continue
		}
		for _, a := range ch.attrs {
			if !w.isRemoveAttr(a) {
				m.add(es.sect, idx, ch.name, "", ch.line, "unknown attribute %s", qname(a.Name))
			}
		}
		if len(ch.children) > 0 {
			m.add(es.sect, idx, ch.name, ch.name, ch.line, "must hold text, not the element <%s>", ch.children[0].name)
			continue
		}
		if msg := f.set(v, ch.text.String()); msg != "" {
			m.add(es.sect, idx, ch.name, ch.name, ch.line, "%s", msg)
		}
	}
}
