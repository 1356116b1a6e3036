package config

import (
	"cmp"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Line is the line in the XML file, from 1; 0 when unknown (for
	// example for a Config built in code).
	Line int
	// Path names the element or field, like loopstart/account[id=2]/expires
	// or loopstart/port[n=3]. Empty for problems with the document itself.
	Path string
	// Msg says what is wrong, in words a person can act on.
	Msg string
}

// String formats the problem as "line 7: loopstart/account[id=2]/expires: msg".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ValidationError lists every problem found in a configuration. Parse,
// ParseFile, Validate and Save return it (use errors.As to reach it).
type ValidationError struct {
	// Problems are ordered by line, then as found.
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *ValidationError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Section kinds of a problem's location.
const (
	sectRoot = iota
	sectAccount
	sectPort
	sectSIP
	sectProvisioning
	sectFirmware
)

// problem is a Problem before its path is rendered: paths name accounts by
// id and ports by number, which are known only once the whole file is read.
type problem struct {
	sect  int
	idx   int    // index in Accounts or Ports
	field string // child element name shown in the path ("" for the element itself)
	key   string // what the problem is about, for de-duplication ("expires", "@n")
	line  int
	msg   string
}

// source remembers the line of every element and field of a parsed file.
type source struct {
	root  int
	elems [][]*elemSource // by section; the one element of a single section at 0; nil when not from the file
}

type elemSource struct {
	line   int
	fields map[string]int // child element or "@attr" -> line
}

func newElemSource(line int) *elemSource {
	return &elemSource{line: line, fields: map[string]int{}}
}

// newSource makes a source for c's elements, none of them from a file yet.
func newSource(c *Config, root int) *source {
	s := &source{root: root, elems: make([][]*elemSource, len(schema().elems)+1)}
	v := reflect.ValueOf(c).Elem()
	for _, es := range schema().elems {
		n := 1
		if es.list {
			n = v.Field(es.index).Len()
		}
		s.elems[es.sect] = make([]*elemSource, n)
	}
	return s
}

// lineOf finds the line of a location, preferring the field's own line.
func (s *source) lineOf(sect, idx int, key string) int {
	if s == nil {
		return 0
	}
	if sect == sectRoot {
		return s.root
	}
	if sect >= len(s.elems) || idx < 0 || idx >= len(s.elems[sect]) {
		return 0
	}
	e := s.elems[sect][idx]
	if e == nil {
		return 0
	}
	if l, ok := e.fields[key]; ok {
		return l
	}
	return e.line
}

var simpleID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`) })

// path renders a location as loopstart/account[id=1]/user. Accounts whose
// id is unique and plain are named by id, ports with a unique valid
// number by n; others by their 1-based position among their siblings,
// and an element no longer in c (idx < 0) by its name alone.
func (c *Config) path(sect, idx int, field string) string {
	var p string
	switch sect {
	case sectRoot:
		p = "loopstart"
	case sectAccount:
		p = "loopstart/account"
		if idx >= 0 {
			p += "[" + strconv.Itoa(idx+1) + "]"
		}
		if idx >= 0 && idx < len(c.Accounts) {
			id := c.Accounts[idx].ID
			n := 0
			for _, a := range c.Accounts {
				if a.ID == id {
					n++
				}
			}
			if n == 1 && simpleID().MatchString(id) {
				p = "loopstart/account[id=" + id + "]"
			}
		}
	case sectPort:
		p = "loopstart/port"
		if idx >= 0 {
			p += "[" + strconv.Itoa(idx+1) + "]"
		}
		if idx >= 0 && idx < len(c.Ports) {
			num := c.Ports[idx].N
			n := 0
			for _, q := range c.Ports {
				if q.N == num {
					n++
				}
			}
			if n == 1 && num >= 1 && num <= MaxPorts {
				p = "loopstart/port[n=" + strconv.Itoa(num) + "]"
			}
		}
	case sectSIP:
		p = "loopstart/sip"
	case sectProvisioning:
		p = "loopstart/provisioning"
	case sectFirmware:
		p = "loopstart/firmware"
	}
	if field != "" {
		p += "/" + field
	}
	return p
}

// render turns problems into a ValidationError (nil if there are none),
// dropping a later problem about the same field as an earlier one (so a
// value that failed to parse is not also reported as out of range).
func (c *Config) render(ps []problem) error {
	if len(ps) == 0 {
		return nil
	}
	type k struct {
		sect, idx int
		key       string
	}
	seen := map[k]bool{}
	var out []Problem
	for _, p := range ps {
		if p.key != "" {
			kk := k{p.sect, p.idx, p.key}
			if seen[kk] {
				continue
			}
			seen[kk] = true
		}
		line := p.line
		if line == 0 {
			line = c.src.lineOf(p.sect, p.idx, p.key)
		}
		out = append(out, Problem{Line: line, Path: c.path(p.sect, p.idx, p.field), Msg: p.msg})
	}
	slices.SortStableFunc(out, func(a, b Problem) int {
		// Problems without a line go last.
		la, lb := a.Line, b.Line
		if la == 0 {
			la = int(^uint(0) >> 1)
		}
		if lb == 0 {
			lb = int(^uint(0) >> 1)
		}
		return cmp.Compare(la, lb)
	})
	return &ValidationError{Problems: out}
}
