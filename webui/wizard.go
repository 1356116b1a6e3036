package webui

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
)

// The first-run page (/start) guides a new gateway from its password to a
// ringing phone: an account (registrar, user, password, transport and
// SRTP), the ports' accounts, then a test call that rings a phone. Every
// step is its own form, and each can be skipped.

// wizardAccountFields are the account settings the first-run page asks for.
var wizardAccountFields = []string{"registrar", "user", "password", "transport", "srtp"}

// wizardData is what the first-run page shows.
type wizardData struct {
	// Account is the form of the first port's account (or of a new one).
	Account *uiElem
	// Ports are the ports' forms, reduced to their account.
	Ports []uiElem
	// AccountIDs are the accounts a port may take.
	AccountIDs []string
	// TestPorts are the ports a test call can ring (FXS ports).
	TestPorts []int
	// CanTest is true when the gateway can place a test call.
	CanTest bool
}

// reduce keeps only the named fields of e, in that order, in one group.
func reduce(e uiElem, names []string) uiElem {
	byName := map[string]uiField{}
	for _, g := range e.Groups {
		for _, f := range g.Fields {
			byName[f.Name] = f
		}
	}
	var fs []uiField
	for _, n := range names {
		if f, ok := byName[n]; ok {
			fs = append(fs, f)
		}
	}
	e.Groups = []uiGroup{{Fields: fs}}
	return e
}

func (s *Server) wizard(r *http.Request, d *pageData) {
	wd := &wizardData{CanTest: s.opts.TestCall != nil}
	d.Wizard = wd
	for _, p := range d.Status.Ports {
		if p.Kind != "fxo" {
			wd.TestPorts = append(wd.TestPorts, p.Port)
		}
	}
	if s.opts.Config == nil {
		return
	}
	secs := s.sections(r, "/start", "account", "port")
	c := s.opts.Config.Current()
	for _, a := range c.Accounts {
		wd.AccountIDs = append(wd.AccountIDs, a.ID)
	}
	first := ""
	if len(c.Ports) > 0 {
		first = c.Ports[0].Account
	}
	for i := range secs["account"].Forms {
		if f := secs["account"].Forms[i]; f.Key == first || first == "" && i == 0 {
			e := reduce(f, wizardAccountFields)
			e.Title, e.Wizard = "Account "+f.Key, "port"
			wd.Account = &e
			break
		}
	}
	for _, f := range secs["port"].Forms {
		e := reduce(f, []string{"account"})
		e.Title, e.Wizard = "Port "+f.Key, "test"
		wd.Ports = append(wd.Ports, e)
	}
}

// testCallTimeout bounds a test call's wait for the phone to ring.
const testCallTimeout = 15 * time.Second

// handleTestCall rings port n's phone through its account
// (POST /start/test-call, n=PORT) and shows the outcome on the first-run
// page, or as JSON {"result": ...}.
func (s *Server) handleTestCall(w http.ResponseWriter, r *http.Request) {
	if s.opts.TestCall == nil {
		writeError(w, http.StatusNotFound, "test calls are not available here")
		return
	}
	_ = r.ParseForm()
	n, err := strconv.Atoi(r.PostForm.Get("n"))
	if err != nil || n < 1 || n > config.MaxPorts {
		writeError(w, http.StatusBadRequest, "n: want a port number")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), testCallTimeout)
	defer cancel()
	res, err := s.opts.TestCall(ctx, n)
	s.audit("test call", "port", n, "result", res, "err", err, "client", clientKey(r))
	if !isForm(r) {
		if err != nil {
			writeError(w, http.StatusConflict, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"result": res})
		return
	}
	q := url.Values{}
	if err != nil {
		q.Set("err", err.Error())
	} else {
		q.Set("msg", res)
	}
	http.Redirect(w, r, "/start?"+q.Encode()+"#step-test", http.StatusSeeOther)
}
