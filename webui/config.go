package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/loopstart/loopstart/firmware/config"
)

// Configurator is the configuration the web UI shows and changes. The
// gateway's main command implements it: it stores a configuration
// atomically in the data directory and applies it to the running gateway.
type Configurator interface {
	// Current returns the configuration in force; the caller may change
	// the copy it gets.
	Current() *config.Config
	// Apply makes c, already parsed and validated, the configuration:
	// it checks that the gateway can run it, stores it atomically and
	// applies it, without dropping calls in progress where possible.
	// source says who asked ("web UI", "provisioning"). On error nothing
	// changed and the old configuration stays in force; a
	// *config.ValidationError lists problems with the document itself.
	Apply(c *config.Config, source string) (ApplyResult, error)
}

// ApplyResult says what became of a configuration change.
type ApplyResult struct {
	// Applied is true when the new configuration is in force.
	Applied bool `json:"applied"`
	// Pending explains why it is stored but not yet in force (for
	// example a call in progress on a port it changes).
	Pending string `json:"pending,omitempty"`
	// Message is a one-line summary for people.
	Message string `json:"message"`
}

// configError is the JSON answer to an invalid configuration.
type configError struct {
	Error    string        `json:"error"`
	Problems []problemJSON `json:"problems"`
}

// problemJSON is a config.Problem in the API.
type problemJSON struct {
	Line int    `json:"line,omitempty"`
	Path string `json:"path,omitempty"`
	Msg  string `json:"msg"`
}

func problemsJSON(ps []config.Problem) []problemJSON {
	out := make([]problemJSON, len(ps))
	for i, p := range ps {
		out[i] = problemJSON{Line: p.Line, Path: p.Path, Msg: p.Msg}
	}
	return out
}

func (s *Server) configRoutes() {
	if s.opts.Config == nil {
		return
	}
	s.mux.Handle("GET /api/config", s.requireAuth(http.HandlerFunc(s.handleGetConfig)))
	s.mux.Handle("PUT /api/config", s.requireAuth(http.HandlerFunc(s.handlePutConfig)))
	s.mux.Handle("/api/config", s.requireAuth(methodNotAllowed("GET, HEAD, PUT")))
}

// wantsXML reports a client asking for XML.
func wantsXML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/xml") || strings.Contains(a, "text/xml")
}

func (s *Server) handleGetConfig(w http.ResponseWriter, r *http.Request) {
	c := s.opts.Config.Current()
	if wantsXML(r) {
		b, err := c.Marshal()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
		return
	}
	writeJSON(w, http.StatusOK, ConfigJSON(c))
}

func (s *Server) handlePutConfig(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, config.MaxFileSize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "cannot read the body: "+err.Error())
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var c *config.Config
	switch ct {
	case "application/xml", "text/xml":
		c, err = config.Parse(bytes.NewReader(body))
	case "application/json", "":
		c, err = ConfigFromJSON(body)
	default:
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type "+ct+" not supported (use application/xml or application/json)")
		return
	}
	if err != nil {
		writeConfigError(w, err)
		return
	}
	s.applyConfig(w, r, c)
}

// applyConfig hands c to the Configurator and answers.
func (s *Server) applyConfig(w http.ResponseWriter, r *http.Request, c *config.Config) {
	res, err := s.opts.Config.Apply(c, "web UI")
	if err != nil {
		s.log.Warn("webui: config refused", "err", err)
		writeConfigError(w, err)
		return
	}
	s.audit("config changed", "applied", res.Applied, "pending", res.Pending, "client", clientKey(r))
	writeJSON(w, http.StatusOK, res)
}

// writeConfigError answers 400 with the problems of an invalid config,
// or 409 when a valid one cannot be applied.
func writeConfigError(w http.ResponseWriter, err error) {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		writeJSON(w, http.StatusBadRequest, configError{
			Error:    "invalid configuration; the old one stays in force: " + strings.ReplaceAll(ve.Error(), "\n", "; "),
			Problems: problemsJSON(ve.Problems),
		})
		return
	}
	writeJSON(w, http.StatusConflict, configError{
		Error:    "configuration not applied; the old one stays in force: " + err.Error(),
		Problems: []problemJSON{},
	})
}

// ConfigJSON renders a configuration as JSON-ready maps whose keys are the
// XML element and attribute names (account, port, id, registrar, ...),
// so the JSON API covers every setting the XML file has, under the same
// names. Lists are arrays; empty optional values are left out.
func ConfigJSON(c *config.Config) map[string]any {
	m, _ := encodeXMLish(reflect.ValueOf(*c)).(map[string]any)
	return m
}

// xmlName returns the XML name of a struct field and whether it is an
// attribute; "" for fields that are not part of the document.
func xmlName(f reflect.StructField) (name string, attr, omitempty bool) {
	if !f.IsExported() || f.Name == "XMLName" {
		return "", false, false
	}
	tag := f.Tag.Get("xml")
	if tag == "-" {
		return "", false, false
	}
	parts := strings.Split(tag, ",")
	name = parts[0]
	if name == "" {
		name = f.Name
	}
	return name, slices.Contains(parts[1:], "attr"), slices.Contains(parts[1:], "omitempty")
}

func encodeXMLish(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return encodeXMLish(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := xmlName(t.Field(i))
			if name == "" {
				continue
			}
			fv := v.Field(i)
			if fv.IsZero() && fv.Kind() != reflect.Slice {
				continue
			}
			if e := encodeXMLish(fv); e != nil {
				m[name] = e
			}
		}
		return m
	case reflect.Slice:
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			out = append(out, encodeXMLish(v.Index(i)))
		}
		return out
	case reflect.Bool, reflect.String, reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint32, reflect.Uint64, reflect.Float64:
		return v.Interface()
	}
	return nil
}

// ConfigFromJSON reads the JSON form of a whole configuration (see
// ConfigJSON) strictly: unknown names are problems. The result is
// rendered as XML and parsed by config.Parse, so defaults and every
// validation rule apply exactly as for a file.
func ConfigFromJSON(body []byte) (*config.Config, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, &config.ValidationError{Problems: []config.Problem{{Msg: "bad JSON: " + err.Error()}}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &config.ValidationError{Problems: []config.Problem{{Msg: "bad JSON: more than one value"}}}
	}
	var c config.Config
	var ps []config.Problem
	decodeXMLish(raw, reflect.ValueOf(&c).Elem(), "loopstart", &ps)
	if len(ps) > 0 {
		return nil, &config.ValidationError{Problems: ps}
	}
	b, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	return config.Parse(bytes.NewReader(b))
}

func decodeXMLish(raw any, v reflect.Value, path string, ps *[]config.Problem) {
	bad := func(format string, args ...any) {
		*ps = append(*ps, config.Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if raw == nil {
		v.SetZero()
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		decodeXMLish(raw, v.Elem(), path, ps)
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			bad("want an object")
			return
		}
		t := v.Type()
		known := map[string]int{}
		for i := range t.NumField() {
			if name, _, _ := xmlName(t.Field(i)); name != "" {
				known[name] = i
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			i, ok := known[k]
			if !ok {
				names := make([]string, 0, len(known))
				for n := range known {
					names = append(names, n)
				}
				slices.Sort(names)
				*ps = append(*ps, config.Problem{Path: path + "/" + k, Msg: "unknown setting (known: " + strings.Join(names, ", ") + ")"})
				continue
			}
			decodeXMLish(m[k], v.Field(i), path+"/"+k, ps)
		}
	case reflect.Slice:
		a, ok := raw.([]any)
		if !ok {
			bad("want an array")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(a), len(a))
		for i, e := range a {
			decodeXMLish(e, s.Index(i), path+"["+strconv.Itoa(i+1)+"]", ps)
		}
		v.Set(s)
	case reflect.String:
		switch x := raw.(type) {
		case string:
			v.SetString(x)
		case json.Number:
			v.SetString(x.String())
		default:
			bad("want a string")
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		var n int64
		var err error
		switch x := raw.(type) {
		case json.Number:
			n, err = x.Int64()
		case string:
			n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		default:
			err = errors.New("not a number")
		}
		if err != nil || v.OverflowInt(n) {
			bad("want a whole number")
			return
		}
		v.SetInt(n)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			bad("want true or false")
			return
		}
		v.SetBool(b)
	default:
		bad("cannot be set")
	}
}

// setFields sets the string and integer fields of the struct *p named by
// their XML names from form values; fields not in the form keep their
// value, and so does a password left empty. It returns a problem per
// value that does not fit.
func setFields(p any, form map[string][]string, path string) []config.Problem {
	var ps []config.Problem
	v := reflect.ValueOf(p).Elem()
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := xmlName(t.Field(i))
		vals, ok := form[name]
		if name == "" || !ok || len(vals) == 0 {
			continue
		}
		val := strings.TrimSpace(vals[0])
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			if name == "password" && val == "" {
				continue
			}
			f.SetString(val)
		case reflect.Int:
			if val == "" {
				f.SetInt(0)
				continue
			}
			n, err := strconv.Atoi(val)
			if err != nil {
				ps = append(ps, config.Problem{Path: path + "/" + name, Msg: fmt.Sprintf("%q is not a whole number", val)})
				continue
			}
			f.SetInt(int64(n))
		}
	}
	return ps
}
