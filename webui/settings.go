package webui

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/loopstart/loopstart/firmware/config"
)

// The settings forms are built from config.Schema: every element of the
// document gets a form with one labelled control per setting (a select for
// a choice, a number field for a number), so a setting added to the
// config model appears here without touching a template. A refused form
// shows each problem next to its field, with the words `loopstart config
// check` uses, and the configuration in force stays.

// uiField is one control of a settings form.
type uiField struct {
	config.Field
	// ID is the control's element id, unique on the page.
	ID string
	// Value is the value shown ("" for a secret).
	Value string
	// HasValue is true when a secret has a value (the form says it is kept).
	HasValue bool
	// Err is the problem with the value, "" when none.
	Err string
	// Upload is true for the account's CA file, which a file can set.
	Upload bool
	// Other is true when a choice's value is none of Values (a refused
	// form shows what was sent).
	Other bool
}

// uiGroup is a fieldset of related controls.
type uiGroup struct {
	Name   string
	Fields []uiField
}

// uiElem is the form of one element.
type uiElem struct {
	Element string
	// Title is the legend: "Account 1", "New account", "sip".
	Title string
	// Key is the element's key before any change ("" for a new one or a
	// single element); the form sends it back as orig.
	Key string
	// New is true for the form that adds an element (or creates a
	// single one that is absent).
	New bool
	// Repeated is true for list elements (they can be added and deleted).
	Repeated bool
	// Errs are problems with the element as a whole.
	Errs   []string
	Groups []uiGroup
	// Multipart is true when the form uploads a file.
	Multipart bool
	// CSRF is the session's token for the form.
	CSRF string
	// Wizard is the first-run step the form goes on to ("" outside the
	// first-run page).
	Wizard string
}

// uiSection is every form of one element kind.
type uiSection struct {
	Element  string
	Repeated bool
	Forms    []uiElem
	// New adds an element (or creates the absent single one); nil when
	// the single element exists.
	New *uiElem
}

// settingsPages say on which page each element's forms are; the elements
// not named here go to /settings.
var settingsPages = map[string]string{"account": "/accounts", "port": "/ports"}

func settingsPage(element string) string {
	if p, ok := settingsPages[element]; ok {
		return p
	}
	return "/settings"
}

// attempt is a refused form kept for the page that shows it again.
type attempt struct {
	page    string
	cfg     *config.Config
	element string
	idx     int
	key     string
	isNew   bool
	probs   []config.Problem
}

// attemptStore keeps the last few refused forms, by a random id the
// redirect carries; the oldest is forgotten first.
type attemptStore struct {
	mu    sync.Mutex
	byID  map[string]*attempt
	order []string
}

// maxAttempts bounds the refused forms kept.
const maxAttempts = 16

func (a *attemptStore) put(at *attempt) string {
	b := make([]byte, 12)
	rand.Read(b)
	id := hex.EncodeToString(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byID == nil {
		a.byID = map[string]*attempt{}
	}
	a.byID[id] = at
	a.order = append(a.order, id)
	for len(a.order) > maxAttempts {
		delete(a.byID, a.order[0])
		a.order = a.order[1:]
	}
	return id
}

func (a *attemptStore) get(id string) *attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.byID[id]
}

// sections builds the forms of the named elements from the configuration
// in force or, after a refused form for this page, from what was sent.
func (s *Server) sections(r *http.Request, page string, names ...string) map[string]*uiSection {
	c := s.opts.Config.Current()
	var at *attempt
	if id := r.URL.Query().Get("try"); id != "" {
		if a := s.tries.get(id); a != nil && a.page == page {
			at, c = a, a.cfg
		}
	}
	csrf := ""
	if ss := sessionOf(r); ss != nil {
		csrf = ss.csrf
	}
	out := map[string]*uiSection{}
	all, rep := config.Elements()
	for i, name := range all {
		if len(names) > 0 && !containsStr(names, name) {
			continue
		}
		sec := &uiSection{Element: name, Repeated: rep[i]}
		n := c.Count(name)
		for idx := range n {
			var probs []config.Problem
			key := keyOf(c, name, idx)
			isNew := false
			if at != nil && at.element == name && at.idx == idx {
				probs, key, isNew = at.probs, at.key, at.isNew
			}
			e := buildElem(c, name, idx, key, isNew, probs)
			e.CSRF = csrf
			if isNew {
				sec.New = &e
				continue
			}
			sec.Forms = append(sec.Forms, e)
		}
		if sec.New == nil && (rep[i] || n == 0) {
			e := buildElem(c, name, n, "", true, nil)
			e.CSRF = csrf
			sec.New = &e
		}
		out[name] = sec
	}
	return out
}

// otherSections are the sections of /settings, in document order.
func otherSections(secs map[string]*uiSection) []*uiSection {
	var out []*uiSection
	all, _ := config.Elements()
	for _, name := range all {
		if _, ok := settingsPages[name]; ok {
			continue
		}
		if sec := secs[name]; sec != nil {
			out = append(out, sec)
		}
	}
	return out
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// keyOf is the key of the idx-th element ("" for a single one).
func keyOf(c *config.Config, name string, idx int) string {
	for _, f := range config.SchemaOf(name) {
		if f.Key {
			return c.ElementValues(name, idx)[f.Name]
		}
	}
	return ""
}

// buildElem makes the form of the idx-th element named name (empty when
// idx is past the end and it is new).
func buildElem(c *config.Config, name string, idx int, key string, isNew bool, probs []config.Problem) uiElem {
	vals := c.ElementValues(name, idx)
	path := c.ElementPath(name, idx)
	e := uiElem{Element: name, Key: key, New: isNew, Repeated: isRepeated(name)}
	switch {
	case isNew && e.Repeated:
		e.Title = "New " + name
	case e.Repeated:
		e.Title = name + " " + key
	default:
		e.Title = name
	}
	e.Title = strings.ToUpper(e.Title[:1]) + e.Title[1:]
	used := map[int]bool{}
	groups := map[string]int{}
	idBase := name + "-" + key
	if isNew {
		idBase = name + "-new"
	}
	for _, f := range config.SchemaOf(name) {
		uf := uiField{Field: f, ID: idBase + "-" + f.Name, Value: vals[f.Name]}
		if f.Secret {
			uf.HasValue, uf.Value = uf.Value != "", ""
		}
		uf.Upload = name == "account" && f.Name == "ca-file"
		uf.Other = len(f.Values) > 0 && uf.Value != "" && !containsStr(f.Values, uf.Value)
		if uf.Upload {
			e.Multipart = true
		}
		for i, p := range probs {
			if p.Path == path+"/"+f.Name && uf.Err == "" {
				uf.Err, used[i] = p.Msg, true
			}
		}
		g, ok := groups[f.Group]
		if !ok {
			g = len(e.Groups)
			groups[f.Group] = g
			e.Groups = append(e.Groups, uiGroup{Name: f.Group})
		}
		e.Groups[g].Fields = append(e.Groups[g].Fields, uf)
	}
	for i, p := range probs {
		if !used[i] {
			e.Errs = append(e.Errs, p.String())
		}
	}
	return e
}

func isRepeated(name string) bool {
	all, rep := config.Elements()
	for i, n := range all {
		if n == name {
			return rep[i]
		}
	}
	return false
}

// handleElementForm takes a settings form: POST /settings/{element} with
// orig (the element's key before the change), action save, add, delete
// (remove for a single element) and the settings by their XML names.
func (s *Server) handleElementForm(w http.ResponseWriter, r *http.Request) {
	s.elementForm(w, r, r.PathValue("element"))
}

func (s *Server) elementForm(w http.ResponseWriter, r *http.Request, name string) {
	page := settingsPage(name)
	if r.URL.Query().Get("wizard") != "" {
		page = "/start"
	}
	if s.opts.Config == nil {
		writeError(w, http.StatusNotFound, "configuration cannot be changed here")
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			back(w, r, page, "", fmt.Errorf("cannot read the form: %w", err))
			return
		}
	} else if err := r.ParseForm(); err != nil {
		back(w, r, page, "", fmt.Errorf("cannot read the form: %w", err))
		return
	}
	form := r.PostForm
	c := s.opts.Config.Current()
	if !containsStr(elementNames(), name) {
		back(w, r, page, "", fmt.Errorf("no element <%s> in the configuration", name))
		return
	}
	keyName := ""
	for _, f := range config.SchemaOf(name) {
		if f.Key {
			keyName = f.Name
		}
	}
	orig := form.Get("orig")
	if _, ok := form["orig"]; !ok && keyName != "" {
		orig = form.Get(keyName) // older forms name the element by its key alone
	}
	at := &attempt{page: page, element: name, key: orig}
	var err error
	switch action := form.Get("action"); {
	case action == "delete" || action == "remove":
		idx := c.Index(name, orig)
		if idx < 0 {
			back(w, r, page, "", fmt.Errorf("no %s %q", name, orig))
			return
		}
		err = c.RemoveElement(name, idx)
		at.idx = -1
	case action == "add" || c.Count(name) == 0 && keyName == "":
		at.idx, at.isNew, at.key = c.Count(name), true, ""
		err = c.ApplyElementForm(name, at.idx, form)
	default:
		at.idx = c.Index(name, orig)
		if at.idx < 0 {
			back(w, r, page, "", fmt.Errorf("no %s %q", name, orig))
			return
		}
		err = c.ApplyElementForm(name, at.idx, form)
		if name == "account" && err == nil {
			// A port follows its account's renamed id.
			id := c.Accounts[at.idx].ID
			for i := range c.Ports {
				if c.Ports[i].Account == orig {
					c.Ports[i].Account = id
				}
			}
		}
	}
	if err == nil && name == "account" && at.idx >= 0 {
		err = s.takeCAFile(r, c, at.idx)
	}
	if err == nil {
		err = c.Normalize()
	}
	if err == nil {
		var res ApplyResult
		if res, err = s.opts.Config.Apply(c, "web UI"); err == nil {
			s.audit("config changed", "page", page, "element", name, "applied", res.Applied, "client", clientKey(r))
			if step := r.URL.Query().Get("wizard"); step != "" {
				http.Redirect(w, r, "/start?"+url.Values{"msg": {res.Message}}.Encode()+"#step-"+url.PathEscape(step), http.StatusSeeOther)
				return
			}
			back(w, r, page, res.Message, nil)
			return
		}
	}
	s.log.Warn("webui: config refused", "page", page, "err", err)
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		at.probs = ve.Problems
	} else {
		at.probs = []config.Problem{{Msg: err.Error()}}
	}
	at.cfg = c
	q := url.Values{}
	q.Set("err", "not saved, the old configuration stays: "+strings.ReplaceAll(err.Error(), "\n", "; "))
	if at.idx >= 0 {
		q.Set("try", s.tries.put(at))
	}
	frag := ""
	if page == "/start" {
		frag = "#step-" + name
	}
	http.Redirect(w, r, page+"?"+q.Encode()+frag, http.StatusSeeOther)
}

func elementNames() []string {
	n, _ := config.Elements()
	return n
}

// maxCAFile bounds an uploaded CA file.
const maxCAFile = 256 << 10

// takeCAFile stores an uploaded CA file (form file ca-upload) of the
// idx-th account in the data directory and points its ca-file at it. The
// file must hold at least one PEM certificate.
func (s *Server) takeCAFile(r *http.Request, c *config.Config, idx int) error {
	if r.MultipartForm == nil || len(r.MultipartForm.File["ca-upload"]) == 0 {
		return nil
	}
	fh := r.MultipartForm.File["ca-upload"][0]
	if fh.Size == 0 {
		return nil
	}
	a := &c.Accounts[idx]
	path := c.ElementPath("account", idx) + "/ca-file"
	bad := func(msg string) error {
		return &config.ValidationError{Problems: []config.Problem{{Path: path, Msg: msg}}}
	}
	if s.opts.DataDir == "" {
		return bad("cannot store an uploaded file: the gateway has no data directory")
	}
	if fh.Size > maxCAFile {
		return bad(fmt.Sprintf("the uploaded file is larger than %d bytes", maxCAFile))
	}
	f, err := fh.Open()
	if err != nil {
		return bad("cannot read the uploaded file: " + err.Error())
	}
	defer f.Close()
	pemData, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return bad("cannot read the uploaded file: " + err.Error())
	}
	if msg := checkCAPEM(pemData); msg != "" {
		return bad(msg)
	}
	dir := filepath.Join(s.opts.DataDir, "ca")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store the CA file: %w", err)
	}
	name := filepath.Join(dir, "account-"+safeName(a.ID)+".pem")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, pemData, 0o600); err != nil {
		return fmt.Errorf("store the CA file: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("store the CA file: %w", err)
	}
	a.CAFile = name
	return nil
}

// checkCAPEM says what is wrong with a CA file, "" when it holds at least
// one certificate and nothing but certificates.
func checkCAPEM(b []byte) string {
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			if strings.TrimSpace(string(rest)) != "" && n == 0 {
				return "the uploaded file is not PEM (want -----BEGIN CERTIFICATE-----)"
			}
			break
		}
		if blk.Type != "CERTIFICATE" {
			return fmt.Sprintf("the uploaded file holds a %s, want only certificates", blk.Type)
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			return "the uploaded file has a certificate that does not parse: " + err.Error()
		}
		n++
	}
	if n == 0 {
		return "the uploaded file holds no certificate"
	}
	return ""
}

// safeName keeps letters, digits, '.', '_' and '-' of an id for a file name.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
