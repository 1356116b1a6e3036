package config

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Elements returns the XML names of the elements of <loopstart> that hold
// settings, in document order, and whether each is repeated.
func Elements() (names []string, repeated []bool) {
	for _, es := range schema().elems {
		names = append(names, es.name)
		repeated = append(repeated, es.list)
	}
	return names, repeated
}

// element finds the element spec and the value of its field in c.
func (c *Config) element(name string) (*elemSpec, reflect.Value, error) {
	es, ok := schema().byName[name]
	if !ok {
		return nil, reflect.Value{}, fmt.Errorf("no element <%s> (want %s)", name, schema().elemNames())
	}
	return es, reflect.ValueOf(c).Elem().Field(es.index), nil
}

// Count returns how many elements named name c has: the length of a
// repeated element, 0 or 1 for a single one, 0 for an unknown name.
func (c *Config) Count(name string) int {
	es, fv, err := c.element(name)
	switch {
	case err != nil:
		return 0
	case es.list:
		return fv.Len()
	case fv.IsNil():
		return 0
	}
	return 1
}

// ElementPath is the path the problems of the idx-th element named name
// start with (loopstart/account[id=1], loopstart/sip); idx is 0 for a
// single element.
func (c *Config) ElementPath(name string, idx int) string {
	es, ok := schema().byName[name]
	if !ok {
		return "loopstart/" + name
	}
	if !es.list {
		idx = 0
	}
	return c.path(es.sect, idx, "")
}

// ElementValues returns the settings of the idx-th element named name as
// text keyed by their XML names; zero values are "". It returns nil when
// there is no such element.
func (c *Config) ElementValues(name string, idx int) map[string]string {
	es, fv, err := c.element(name)
	if err != nil {
		return nil
	}
	var v reflect.Value
	switch {
	case es.list && idx >= 0 && idx < fv.Len():
		v = fv.Index(idx)
	case !es.list && !fv.IsNil() && idx == 0:
		v = fv.Elem()
	default:
		return nil
	}
	out := map[string]string{}
	for _, f := range es.fields {
		x := v.Field(f.index)
		switch {
		case x.IsZero():
			out[f.name] = ""
		case f.kind == reflect.Int:
			out[f.name] = strconv.FormatInt(x.Int(), 10)
		default:
			out[f.name] = x.String()
		}
	}
	return out
}

// Index returns the index of the element named name whose key attribute
// is key (an account's id, a port's n), or -1; for a single element it
// returns 0 when c has it.
func (c *Config) Index(name, key string) int {
	es, fv, err := c.element(name)
	if err != nil {
		return -1
	}
	if !es.list {
		if fv.IsNil() {
			return -1
		}
		return 0
	}
	for i := range fv.Len() {
		k := fv.Index(i).Field(es.key.index)
		s := k.String()
		if es.key.kind == reflect.Int {
			s = strconv.FormatInt(k.Int(), 10)
		}
		if s == strings.TrimSpace(key) {
			return i
		}
	}
	return -1
}

// ApplyElementForm sets the settings of the idx-th element named name
// from form values, as ApplyForm does; idx equal to Count(name) adds a
// new element (creates the single one). Problems come as a
// *ValidationError with the element's path; call Normalize afterwards.
func (c *Config) ApplyElementForm(name string, idx int, form map[string][]string) error {
	es, fv, err := c.element(name)
	if err != nil {
		return err
	}
	var v reflect.Value
	switch n := c.Count(name); {
	case idx < 0 || idx > n || (!es.list && idx > 0):
		return fmt.Errorf("no <%s> number %d", name, idx+1)
	case idx == n && es.list:
		fv.Set(reflect.Append(fv, reflect.New(es.typ).Elem()))
		v = fv.Index(idx)
	case idx == n:
		fv.Set(reflect.New(es.typ))
		v = fv.Elem()
	case es.list:
		v = fv.Index(idx)
	default:
		v = fv.Elem()
	}
	path := c.ElementPath(name, idx)
	var ps []Problem
	for _, f := range es.fields {
		vals := form[f.name]
		if len(vals) == 0 {
			continue
		}
		val := strings.TrimSpace(vals[0])
		switch {
		case val == "" && f.secret:
			continue
		case val == "" && f.kind == reflect.Int:
			v.Field(f.index).SetZero()
			continue
		}
		if msg := f.set(v, val); msg != "" {
			ps = append(ps, Problem{Path: path + "/" + f.name, Msg: msg})
		}
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// RemoveElement removes the idx-th element named name (the single one
// when idx is 0).
func (c *Config) RemoveElement(name string, idx int) error {
	es, fv, err := c.element(name)
	if err != nil {
		return err
	}
	if idx < 0 || idx >= c.Count(name) {
		return fmt.Errorf("no <%s> number %d", name, idx+1)
	}
	if !es.list {
		fv.SetZero()
		return nil
	}
	fv.Set(reflect.AppendSlice(fv.Slice(0, idx), fv.Slice(idx+1, fv.Len())))
	return nil
}

// WithoutSecrets returns a copy of c with every secret (the accounts'
// passwords) empty, for a backup that may be shown around.
func (c *Config) WithoutSecrets() *Config {
	out := c.Clone()
	v := reflect.ValueOf(out).Elem()
	for _, es := range schema().elems {
		eachElem(es, v.Field(es.index), func(ev reflect.Value) {
			for _, f := range es.fields {
				if f.secret {
					ev.Field(f.index).SetZero()
				}
			}
		})
	}
	return out
}

// KeepSecrets fills each empty secret of c from the element of from with
// the same key (the single element for single ones), so a configuration
// saved without its secrets can be restored over the one in force.
func (c *Config) KeepSecrets(from *Config) {
	v := reflect.ValueOf(c).Elem()
	for _, es := range schema().elems {
		i := 0
		eachElem(es, v.Field(es.index), func(ev reflect.Value) {
			idx := i
			i++
			if es.list {
				key := ev.Field(es.key.index)
				s := key.String()
				if es.key.kind == reflect.Int {
					s = strconv.FormatInt(key.Int(), 10)
				}
				idx = from.Index(es.name, s)
			} else if from.Count(es.name) == 0 {
				idx = -1
			}
			old := from.ElementValues(es.name, idx)
			if old == nil {
				return
			}
			for _, f := range es.fields {
				if f.secret && ev.Field(f.index).IsZero() && old[f.name] != "" {
					ev.Field(f.index).SetString(old[f.name])
				}
			}
		})
	}
}

// eachElem calls fn with every element struct held by fv, a slice of or
// a pointer to the element type.
func eachElem(es *elemSpec, fv reflect.Value, fn func(reflect.Value)) {
	if es.list {
		for i := range fv.Len() {
			fn(fv.Index(i))
		}
		return
	}
	if !fv.IsNil() {
		fn(fv.Elem())
	}
}

// ParseRestore is Parse for a configuration restored over cur: each
// secret the document leaves empty (a backup made without them) takes
// cur's value for the same element (KeepSecrets) before the document is
// validated. cur may be nil.
func ParseRestore(r io.Reader, cur *Config) (*Config, error) {
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
	if cur != nil {
		c.KeepSecrets(cur)
	}
	if err := c.finish(w.m.ps); err != nil {
		return nil, err
	}
	return c, nil
}
