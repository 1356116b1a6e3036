package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
)

// JSONMap renders c as JSON-ready maps whose keys are the XML element and
// attribute names (account, port, id, registrar, ...), so the JSON form
// covers every setting the XML file has, under the same names. Accounts
// and ports are arrays (empty when there are none), numbers are numbers,
// and empty values and absent single elements are left out. ParseJSON
// reads it back.
func (c *Config) JSONMap() map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(c).Elem()
	for _, es := range schema().elems {
		fv := v.Field(es.index)
		switch {
		case es.list:
			l := make([]any, 0, fv.Len())
			for i := range fv.Len() {
				l = append(l, es.jsonMap(fv.Index(i)))
			}
			out[es.name] = l
		case !fv.IsNil():
			out[es.name] = es.jsonMap(fv.Elem())
		}
	}
	return out
}

func (es *elemSpec) jsonMap(v reflect.Value) map[string]any {
	m := map[string]any{}
	for _, f := range es.fields {
		if fv := v.Field(f.index); !fv.IsZero() {
			m[f.name] = fv.Interface()
		}
	}
	return m
}

// ParseJSON reads the JSON form of a whole configuration (see JSONMap)
// strictly: unknown names and values of the wrong type are problems. A
// number may be given as a string and a string as a number; null means
// empty. Defaults and every validation rule apply exactly as for an XML
// file. Problems come as a *ValidationError, without line numbers.
func ParseJSON(data []byte) (*Config, error) {
	bad := func(msg string) error {
		return &ValidationError{Problems: []Problem{{Msg: msg}}}
	}
	if len(data) > MaxFileSize {
		return nil, bad(fmt.Sprintf("file is larger than %d bytes", MaxFileSize))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, bad("bad JSON: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("bad JSON: more than one value")
	}
	c := &Config{}
	var m mapper
	obj, ok := raw.(map[string]any)
	if !ok {
		m.add(sectRoot, 0, "", "", 0, "want an object")
		return nil, c.render(m.ps)
	}
	v := reflect.ValueOf(c).Elem()
	for _, k := range sortedKeys(obj) {
		es := schema().byName[k]
		if es == nil {
			m.add(sectRoot, 0, k, "", 0, "unknown setting (known: %s)", schema().jsonNames())
			continue
		}
		fv := v.Field(es.index)
		switch x := obj[k].(type) {
		case nil:
		case []any:
			if !es.list {
				m.add(sectRoot, 0, k, "", 0, "want an object")
				continue
			}
			if len(x) == 0 {
				continue // nil, as Parse leaves it
			}
			fv.Set(reflect.MakeSlice(fv.Type(), len(x), len(x)))
			for i, e := range x {
				m.jsonElem(es, fv.Index(i), i, e)
			}
		default:
			if es.list {
				m.add(sectRoot, 0, k, "", 0, "want an array")
				continue
			}
			fv.Set(reflect.New(es.typ))
			m.jsonElem(es, fv.Elem(), 0, x)
		}
	}
	if err := c.finish(m.ps); err != nil {
		return nil, err
	}
	return c, nil
}

// jsonElem copies one account, port or single element.
func (m *mapper) jsonElem(es *elemSpec, v reflect.Value, idx int, raw any) {
	if raw == nil {
		return
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		m.add(es.sect, idx, "", "", 0, "want an object")
		return
	}
	for _, k := range sortedKeys(obj) {
		f := es.attrs[k]
		if f == nil {
			f = es.leaves[k]
		}
		if f == nil {
			m.add(es.sect, idx, k, "", 0, "unknown setting (known: %s)", es.jsonNames())
			continue
		}
		key := k
		if f.attr {
			key = "@" + k
		}
		var msg string
		switch x := obj[k].(type) {
		case nil:
			v.Field(f.index).SetZero()
		case string:
			if msg = f.set(v, x); msg != "" && f.kind == reflect.Int {
				msg = "want a whole number"
			}
		case json.Number:
			if msg = f.set(v, x.String()); msg != "" {
				msg = "want a whole number"
			}
		default:
			msg = "want a string"
			if f.kind == reflect.Int {
				msg = "want a whole number"
			}
		}
		if msg != "" {
			m.add(es.sect, idx, k, key, 0, "%s", msg)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonNames lists the element's settings, sorted.
func (es *elemSpec) jsonNames() string {
	var s []string
	for _, f := range es.fields {
		s = append(s, f.name)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// jsonNames lists the top-level settings, sorted.
func (d *docSpec) jsonNames() string {
	var s []string
	for _, es := range d.elems {
		s = append(s, es.name)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
