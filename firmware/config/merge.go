package config

import "fmt"

// Merge applies a partial configuration document, such as a provisioning
// file, onto a copy of cur, then applies the defaults and validates the
// result in full. The document is a <loopstart> element holding only what
// it changes:
//
//   - an <account> (matched by id) or <port> (matched by n) already in
//     cur is changed field by field, one not in cur is added;
//   - <sip>, <provisioning> and <firmware> are changed field by field,
//     and made if cur has none;
//   - a field sent replaces the old value, a field not sent keeps it;
//   - remove="true" (or "yes", "1") on an account, a port, a single
//     element or a field deletes it (a field goes back to its default).
//
// Parsing is as strict as Parse's. The error is a *ValidationError whose
// problems carry the lines of the document; cur is not changed.
func Merge(cur *Config, data []byte) (*Config, error) {
	root, f := readDoc(data)
	if f != nil {
		p := f.Problem
		switch f.kind {
		case faultEmpty:
			p.Msg = "empty file: no <loopstart> element"
		case faultRoot:
			p.Msg = fmt.Sprintf("root element <%s> is not <loopstart>", f.name)
		case faultTwoRoots:
			p.Msg = "more than one root element: " + p.Msg
		}
		return nil, &ValidationError{Problems: []Problem{p}}
	}
	c := cur.Clone()
	w := newXMLWalk(c, root, true)
	w.root(root)
	if err := c.finish(w.m.ps); err != nil {
		return nil, err
	}
	return c, nil
}
