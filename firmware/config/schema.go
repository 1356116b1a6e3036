package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The schema is read once from the struct tags of Config and its element
// types: `xml:"name"` names a child element holding text, `xml:"name,attr"`
// an attribute, and `config:"key"` marks the attribute that identifies an
// element among its siblings (accounts by id, ports by n) when a partial
// document is merged. `config:"secret"` marks a value a form leaves
// unchanged when it sends it empty. Every decoder (Parse, Merge,
// ParseJSON, ApplyForm) and encoder (JSONMap) walks this one schema.

// fieldSpec is one setting: an attribute or a child element holding text.
type fieldSpec struct {
	name   string // XML name
	index  int    // index of the struct field
	attr   bool   // an attribute, not a child element
	kind   reflect.Kind
	key    bool // identifies the element among its siblings
	secret bool // a form sending it empty keeps the old value
}

// elemSpec is an element of the document that holds settings: account,
// port, sip, provisioning, firmware.
type elemSpec struct {
	name   string
	sect   int          // section kind of its problems
	index  int          // index of its field in Config
	list   bool         // repeated (a slice), else at most once (a pointer)
	typ    reflect.Type // the struct type
	fields []*fieldSpec // attributes and child elements, in struct order
	attrs  map[string]*fieldSpec
	leaves map[string]*fieldSpec
	key    *fieldSpec // nil for single elements
}

// docSpec is the <loopstart> document.
type docSpec struct {
	elems  []*elemSpec // in struct order; elems[i].sect == i+1
	byName map[string]*elemSpec
	byType map[reflect.Type]*elemSpec
}

// schema is the one description of the document, built from the tags at
// first use (not at every start of the program).
var schema = sync.OnceValue(buildSchema)

// xmlTag returns the XML name of a struct field and whether it is an
// attribute; "" for fields that are not part of the document.
func xmlTag(f reflect.StructField) (name string, attr bool) {
	if !f.IsExported() || f.Name == "XMLName" {
		return "", false
	}
	tag := f.Tag.Get("xml")
	if tag == "-" {
		return "", false
	}
	parts := strings.Split(tag, ",")
	name = parts[0]
	if name == "" {
		name = f.Name
	}
	return name, slices.Contains(parts[1:], "attr")
}

func buildSchema() *docSpec {
	d := &docSpec{byName: map[string]*elemSpec{}, byType: map[reflect.Type]*elemSpec{}}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, attr := xmlTag(f)
		if name == "" {
			continue
		}
		if attr {
			panic("config: schema: the root element has no attributes, but " + f.Name + " is one")
		}
		es := &elemSpec{name: name, sect: len(d.elems) + 1, index: i,
			attrs: map[string]*fieldSpec{}, leaves: map[string]*fieldSpec{}}
		switch {
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			es.list, es.typ = true, f.Type.Elem()
		case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct:
			es.typ = f.Type.Elem()
		default:
			panic("config: schema: " + f.Name + " must be a slice of or a pointer to a struct")
		}
		for j := range es.typ.NumField() {
			sf := es.typ.Field(j)
			fname, fattr := xmlTag(sf)
			if fname == "" {
				continue
			}
			fs := &fieldSpec{name: fname, index: j, attr: fattr, kind: sf.Type.Kind()}
			if fs.kind != reflect.String && fs.kind != reflect.Int {
				panic("config: schema: " + es.typ.Name() + "." + sf.Name + " must be a string or an int")
			}
			for _, o := range strings.Split(sf.Tag.Get("config"), ",") {
				switch o {
				case "key":
					fs.key = true
				case "secret":
					fs.secret = true
				case "":
				default:
					panic("config: schema: unknown config tag option " + o)
				}
			}
			if _, dup := es.attrs[fname]; dup {
				panic("config: schema: " + fname + " is declared twice")
			}
			if _, dup := es.leaves[fname]; dup {
				panic("config: schema: " + fname + " is declared twice")
			}
			if fattr {
				es.attrs[fname] = fs
			} else {
				es.leaves[fname] = fs
			}
			if fs.key {
				if !fattr || es.key != nil {
					panic("config: schema: " + es.typ.Name() + " needs exactly one key, an attribute")
				}
				es.key = fs
			}
			es.fields = append(es.fields, fs)
		}
		if es.list != (es.key != nil) {
			panic("config: schema: " + es.typ.Name() + ": repeated elements, and only those, need a key")
		}
		d.elems = append(d.elems, es)
		d.byName[name] = es
		d.byType[es.typ] = es
	}
	// validate.go and problem.go name sections by these constants.
	for sect, name := range map[int]string{sectAccount: "account", sectPort: "port", sectSIP: "sip",
		sectProvisioning: "provisioning", sectFirmware: "firmware"} {
		if sect > len(d.elems) || d.elems[sect-1].name != name {
			panic(fmt.Sprintf("config: schema: section %d is not <%s>", sect, name))
		}
	}
	return d
}

// set stores a text value in the field of the struct v; it returns what
// is wrong with the value, or "". Surrounding white space is ignored.
func (f *fieldSpec) set(v reflect.Value, raw string) string {
	s := strings.TrimSpace(raw)
	fv := v.Field(f.index)
	switch f.kind {
	case reflect.String:
		fv.SetString(s)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Sprintf("%q is not a number", s)
		}
		fv.SetInt(int64(n))
	}
	return ""
}

// leafNames lists the child elements, in schema order.
func (es *elemSpec) leafNames() string {
	var s []string
	for _, f := range es.fields {
		if !f.attr {
			s = append(s, f.name)
		}
	}
	return strings.Join(s, ", ")
}

// elemNames lists the elements of <loopstart>: "a, b or c".
func (d *docSpec) elemNames() string {
	var s []string
	for _, es := range d.elems {
		s = append(s, es.name)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Clone returns a deep copy of c, sharing nothing with it. What Parse
// remembers about the source file (the lines of problems) is not copied.
func (c *Config) Clone() *Config {
	out := &Config{}
	deepCopy(reflect.ValueOf(out).Elem(), reflect.ValueOf(c).Elem())
	return out
}

// deepCopy copies src into dst, allocating new slices and pointers; it
// skips unexported fields.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		p := reflect.New(src.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Struct:
		t := src.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Map:
		panic("config: Clone cannot copy a map")
	default:
		dst.Set(src)
	}
}

// Normalize applies the defaults and validates c, the last step Parse,
// Merge and ParseJSON take with what they decode; use it after changing a
// Config in code (for example with ApplyForm).
func (c *Config) Normalize() error {
	return c.finish(nil)
}

// finish applies the defaults, adds the semantic problems to the
// structural ones and renders them.
func (c *Config) finish(ps []problem) error {
	c.ApplyDefaults()
	ps = append(ps, c.check()...)
	return c.render(ps)
}
