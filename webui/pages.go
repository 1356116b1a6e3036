package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/voice/status"
)

// Provisioner reports on provisioning and starts a resync.
type Provisioner interface {
	// ProvisioningStatus describes the last attempts.
	ProvisioningStatus() ProvisioningStatus
	// Resync fetches the configuration now (in the background).
	Resync() error
}

// ProvisioningStatus is what the provisioning page and the status page show.
type ProvisioningStatus struct {
	// Servers are the server URLs in use and where they came from.
	Servers []string `json:"servers"`
	// Source says where the servers came from: "config", "dhcp option 66", ...
	Source string `json:"source,omitempty"`
	// State is idle, fetching or deferred (waiting for a call to end).
	State string `json:"state"`
	// LastAttempt, LastSuccess and LastFailure are the times of the last
	// attempt, success and failure; zero when none.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastFailure time.Time `json:"last_failure,omitzero"`
	// LastFile is the URL of the last file applied.
	LastFile string `json:"last_file,omitempty"`
	// LastError says why the last attempt failed, "" after a success.
	LastError string `json:"last_error,omitempty"`
	// Next is when the next periodic resync is due.
	Next time.Time `json:"next,omitzero"`
	// FirmwareURL is the firmware image URL provisioning last checked.
	FirmwareURL string `json:"firmware_url,omitempty"`
	// Firmware is the outcome of that check.
	Firmware string `json:"firmware,omitempty"`
	// MAC is the gateway's MAC in lowercase hex, as MAC-specific
	// provisioning file names carry it.
	MAC string `json:"mac,omitempty"`
	// Tried lists the files asked for in the last attempt, each with
	// what became of it.
	Tried []string `json:"tried,omitempty"`
	// Format is the format of the last file applied: loopstart,
	// grandstream or spa.
	Format string `json:"format,omitempty"`
	// Ignored lists the vendor parameters of the last file applied that
	// changed nothing, with their lines and reasons.
	Ignored []string `json:"ignored,omitempty"`
}

// Firmware reports on and performs firmware upgrades.
type Firmware interface {
	// FirmwareStatus describes the slots and any upgrade in progress.
	FirmwareStatus() FirmwareStatus
	// Upgrade verifies a signed image and installs it in the inactive
	// slot. An image older than the running firmware is refused with an
	// error matching ErrDowngrade unless opts.AllowDowngrade.
	Upgrade(ctx context.Context, image io.Reader, opts UpgradeOptions) error
}

// UpgradeOptions adjust one Upgrade.
type UpgradeOptions struct {
	// AllowDowngrade installs an image older than the running firmware:
	// the admin confirmed it.
	AllowDowngrade bool
}

// ErrDowngrade is matched (errors.Is) by Upgrade's error when the image
// is older than the running firmware and the upload did not confirm it;
// POST /api/firmware then answers 409 with "downgrade": true.
var ErrDowngrade = errors.New("downgrade refused")

// FirmwareStatus is what the firmware page shows.
type FirmwareStatus struct {
	// Version is the running version.
	Version string `json:"version"`
	// Slot is the running slot ("a" or "b"), "" when there are none.
	Slot string `json:"slot,omitempty"`
	// Progress describes an upgrade in progress, "" when none.
	Progress string `json:"progress,omitempty"`
	// LastError is why the last upgrade failed.
	LastError string `json:"last_error,omitempty"`
	// Phase is the upgrade step: verifying, writing, installed, waiting
	// (for idle lines), restarting, trial, failed; "" when none runs.
	Phase string `json:"phase,omitempty"`
	// NewVersion is the version being installed.
	NewVersion string `json:"new_version,omitempty"`
	// Done and Total are the image bytes written and expected.
	Done  int64 `json:"done,omitempty"`
	Total int64 `json:"total,omitempty"`
	// Trial is true while the running version has not yet been
	// confirmed healthy (it is rolled back if it fails its check).
	Trial bool `json:"trial,omitempty"`
	// Slots are the installed images.
	Slots []FirmwareSlot `json:"slots,omitempty"`
	// Built is the running firmware's build date, zero when unknown.
	Built time.Time `json:"built,omitzero"`
	// Notice says when older images cannot be recognised (the running
	// firmware's build date is unknown), "" otherwise.
	Notice string `json:"notice,omitempty"`
}

// FirmwareSlot is one installed image.
type FirmwareSlot struct {
	Slot    string    `json:"slot"`
	Version string    `json:"version"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
	// Active is true for the slot running now.
	Active bool `json:"active"`
}

// Diagnostics are the tools of the diagnostics page.
type Diagnostics interface {
	// SIPTrace reports whether SIP messages are logged.
	SIPTrace() bool
	// SetSIPTrace turns logging of SIP messages on or off.
	SetSIPTrace(on bool) error
}

// pageNames are the pages, in navigation order.
var pageNames = []struct{ Path, File, Title string }{
	{"/", "status.html", "Status"},
	{"/start", "start.html", "First run"},
	{"/accounts", "accounts.html", "Accounts"},
	{"/ports", "ports.html", "Ports"},
	{"/settings", "settings.html", "Settings"},
	{"/network", "network.html", "Network"},
	{"/provisioning", "provisioning.html", "Provisioning"},
	{"/firmware", "firmware.html", "Firmware"},
	{"/logs", "logs.html", "Logs"},
	{"/diagnostics", "diagnostics.html", "Diagnostics"},
	{"/maintenance", "maintenance.html", "Maintenance"},
}

var funcs = template.FuncMap{
	"join": func(f []float64) string {
		b, _ := json.Marshal(f)
		return strings.Trim(string(b), "[]")
	},
	"on": func(b *bool) bool { return b != nil && *b },
	// machex is a MAC address as provisioning file names have it:
	// lowercase hex without separators.
	"machex": func(mac string) string { return strings.ToLower(strings.ReplaceAll(mac, ":", "")) },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	files := []string{"login.html", "setup.html", "restarting.html"}
	for _, p := range pageNames {
		files = append(files, p.File)
	}
	for _, f := range files {
		t, err := template.New("").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/form.html", "templates/"+f)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
		out[f] = t
	}
	return out, nil
}

// pageData feeds the templates.
type pageData struct {
	Title   string
	Path    string
	Nav     []struct{ Path, File, Title string }
	Version string
	// Auth is true when the web UI has logins (a logout button is shown).
	Auth bool
	CSRF string
	// Msg and Err are a notice and an error for the top of the page.
	Msg, Err string
	Status   status.Status
	Sim      bool
	// SimPorts are the virtual phones, keyed by port number.
	SimPorts map[int]simapi.Port
	Keys     []string
	// PSTNActions are the central office's actions an FXO port's row offers.
	PSTNActions []string
	Config      *config.Config
	// CanEdit is true when settings can be changed here.
	CanEdit bool
	// CanFeatures is true when the ports' features can be changed here.
	CanFeatures bool
	Prov        *ProvisioningStatus
	Firmware    *FirmwareStatus
	Trace       *bool
	Capture     *CaptureStatus
	Logs        []LogRecord
	Network     []netInterface
	Countries   []string
	// Sections are the settings forms of the page's elements, by XML
	// name; Others are those of /settings in document order.
	Sections map[string]*uiSection
	Others   []*uiSection
	// CanReboot and CanReset are true when the maintenance page can
	// restart the gateway and reset it to the factory state.
	CanReboot, CanReset bool
	// Wizard is the first-run page's data.
	Wizard *wizardData
	// FirstRun is true on the status page while no account registers
	// anywhere: it points to the first-run page.
	FirstRun bool
	// Overview is the status page's summary of the device.
	Overview *overview
}

// netInterface is one network interface on the network page.
type netInterface struct {
	Name  string   `json:"name"`
	MAC   string   `json:"mac,omitempty"`
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs"`
}

func (s *Server) pageRoutes() {
	for _, p := range pageNames {
		pat := "GET " + p.Path
		if p.Path == "/" {
			pat = "GET /{$}"
		}
		s.mux.Handle(pat, s.requireAuth(s.pageHandler(p.File, p.Title, p.Path)))
	}
	post := func(path string, h http.HandlerFunc) {
		s.mux.Handle("POST "+path, s.requireAuth(h))
	}
	post("/accounts", func(w http.ResponseWriter, r *http.Request) { s.elementForm(w, r, "account") })
	post("/ports", func(w http.ResponseWriter, r *http.Request) { s.elementForm(w, r, "port") })
	post("/settings/{element}", s.handleElementForm)
	post("/start/test-call", s.handleTestCall)
	post("/provisioning", s.handleProvisioningForm)
	post("/diagnostics", s.handleDiagnosticsForm)
	s.mux.Handle("POST /api/diagnostics", s.requireAuth(http.HandlerFunc(s.handleDiagnosticsAPI)))
	s.mux.Handle("POST /api/diagnostics/ping", s.requireAuth(http.HandlerFunc(s.handlePingAPI)))
	s.captureRoutes()
	s.mux.Handle("GET /api/status/stream", s.requireAuth(http.HandlerFunc(s.handleStatusStream)))
	s.mux.Handle("GET /api/logs", s.requireAuth(http.HandlerFunc(s.handleLogs)))
	s.mux.Handle("GET /api/logs/stream", s.requireAuth(http.HandlerFunc(s.handleLogStream)))
	s.mux.Handle("POST /api/provisioning/resync", s.requireAuth(http.HandlerFunc(s.handleResync)))
	s.mux.Handle("GET /api/provisioning", s.requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.provStatus())
	})))
	s.mux.Handle("POST /api/firmware", s.requireAuth(http.HandlerFunc(s.handleFirmwareUpload)))
	s.mux.Handle("GET /api/firmware", s.requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.firmwareStatus(s.opts.Version))
	})))
}

func (s *Server) provStatus() ProvisioningStatus {
	if s.opts.Provisioning == nil {
		return ProvisioningStatus{Servers: []string{}, State: "off"}
	}
	ps := s.opts.Provisioning.ProvisioningStatus()
	if ps.Servers == nil {
		ps.Servers = []string{}
	}
	return ps
}

// data fills the parts every page shows.
func (s *Server) data(r *http.Request, title, path string) (pageData, bool) {
	d := pageData{Title: title, Path: path, Nav: pageNames, Version: s.opts.Version, Auth: s.auth != nil,
		Msg: r.URL.Query().Get("msg"), Err: r.URL.Query().Get("err"),
		Keys:        []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"},
		PSTNActions: simapi.PSTNActions,
		Countries:   config.Countries(),
		CanEdit:     s.opts.Config != nil, CanFeatures: s.opts.Features != nil,
		CanReboot: s.opts.Reboot != nil, CanReset: s.opts.FactoryReset != nil}
	if ss := sessionOf(r); ss != nil {
		d.CSRF = ss.csrf
	}
	st, ok := s.status()
	if !ok {
		return d, false
	}
	d.Status = st
	if d.Version == "" {
		d.Version = st.Version
	}
	return d, true
}

func (s *Server) pageHandler(file, title, path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, ok := s.data(r, title, path)
		if !ok && file == "status.html" {
			if wantsJSON(r) {
				writeError(w, http.StatusServiceUnavailable, "status is not available")
			} else {
				http.Error(w, "status is not available", http.StatusServiceUnavailable)
			}
			return
		}
		var js any
		switch file {
		case "status.html":
			d.Sim = s.opts.Sim != nil
			if d.Sim {
				d.SimPorts = map[int]simapi.Port{}
				for _, p := range s.opts.Sim.PortStates() {
					d.SimPorts[p.Port] = p
				}
			}
			ps := s.provStatus()
			d.Prov = &ps
			d.Overview = s.deviceOverview(d.Status)
			if s.opts.Config != nil {
				d.FirstRun = true
				for _, a := range s.opts.Config.Current().Accounts {
					if a.Registrar != "" {
						d.FirstRun = false
					}
				}
			}
			js = d.Status
		case "start.html":
			s.wizard(r, &d)
			js = map[string]any{}
		case "settings.html":
			if s.opts.Config != nil {
				d.Sections = s.sections(r, path)
				d.Others = otherSections(d.Sections)
				js = s.opts.Config.Current().JSONMap()
			} else {
				js = map[string]any{}
			}
		case "accounts.html", "ports.html":
			if s.opts.Config != nil {
				d.Config = s.opts.Config.Current()
				d.Sections = s.sections(r, path, map[string]string{"accounts.html": "account", "ports.html": "port"}[file])
				js = d.Config.JSONMap()
			} else {
				js = map[string]any{}
			}
			if file == "accounts.html" {
				js = map[string]any{"config": js, "registrations": d.Status.Accounts}
			}
		case "network.html":
			d.Network = interfaces()
			js = d.Network
		case "provisioning.html":
			ps := s.provStatus()
			d.Prov = &ps
			d.Overview = s.deviceOverview(d.Status)
			if s.opts.Config != nil {
				d.Config = s.opts.Config.Current()
			}
			js = ps
		case "firmware.html":
			fs := s.firmwareStatus(d.Version)
			d.Firmware = &fs
			js = fs
		case "logs.html":
			if s.opts.Logs != nil {
				d.Logs = s.opts.Logs.Since(0)
			}
			js = d.Logs
		case "diagnostics.html":
			m := map[string]any{}
			if s.opts.Diagnostics != nil {
				on := s.opts.Diagnostics.SIPTrace()
				d.Trace = &on
				m["sip_trace"] = on
			}
			if s.opts.Capture != nil {
				cs := s.opts.Capture.CaptureStatus()
				d.Capture = &cs
				m["capture"] = cs
			}
			js = m
		}
		if wantsJSON(r) {
			writeJSON(w, http.StatusOK, js)
			return
		}
		s.render(w, file, http.StatusOK, d)
	}
}

// render executes a page template.
func (s *Server) render(w http.ResponseWriter, file string, code int, d pageData) {
	if s.pageErr != nil {
		http.Error(w, "cannot render the page", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := s.pages[file].ExecuteTemplate(&b, "layout", d); err != nil {
		s.log.Error("webui: render page", "page", file, "err", err)
		http.Error(w, "cannot render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, b.String())
}

func (s *Server) renderAuthPage(w http.ResponseWriter, r *http.Request, file string, code int, msg string) {
	d := pageData{Title: strings.TrimSuffix(file, ".html"), Version: s.opts.Version, Err: msg}
	if wantsJSON(r) {
		writeError(w, code, msg)
		return
	}
	s.render(w, file, code, d)
}

func (s *Server) handleSetupPage(w http.ResponseWriter, r *http.Request) {
	if s.auth.hasPassword() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.renderAuthPage(w, r, "setup.html", http.StatusOK, "")
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if !s.auth.hasPassword() {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	s.renderAuthPage(w, r, "login.html", http.StatusOK, "")
}

// back redirects a form post to its page with a notice or an error.
func back(w http.ResponseWriter, r *http.Request, page, msg string, err error) {
	q := url.Values{}
	if err != nil {
		q.Set("err", err.Error())
	} else {
		q.Set("msg", msg)
	}
	http.Redirect(w, r, page+"?"+q.Encode(), http.StatusSeeOther)
}

// applyForm applies c from a form post and goes back to page.
func (s *Server) applyForm(w http.ResponseWriter, r *http.Request, page string, c *config.Config) {
	err := c.Normalize()
	if err == nil {
		var res ApplyResult
		res, err = s.opts.Config.Apply(c, "web UI")
		if err == nil {
			s.audit("config changed", "page", page, "applied", res.Applied, "client", clientKey(r))
			back(w, r, page, res.Message, nil)
			return
		}
	}
	s.log.Warn("webui: config refused", "page", page, "err", err)
	back(w, r, page, "", fmt.Errorf("not saved, the old configuration stays: %s", strings.ReplaceAll(err.Error(), "\n", "; ")))
}

func (s *Server) handleProvisioningForm(w http.ResponseWriter, r *http.Request) {
	if s.opts.Config == nil {
		writeError(w, http.StatusNotFound, "configuration cannot be changed here")
		return
	}
	if err := r.ParseForm(); err != nil {
		back(w, r, "/provisioning", "", err)
		return
	}
	c := s.opts.Config.Current()
	if strings.TrimSpace(r.PostForm.Get("url")) == "" {
		// No server of its own: the DHCP policy and the profile key stay.
		if p := c.Provisioning; p == nil || p.AllowDHCP == "" && p.AllowInsecure == "" && p.ProfileKey == "" {
			c.Provisioning = nil
		} else {
			p.URL, p.Interval = "", 0
		}
	} else {
		if c.Provisioning == nil {
			c.Provisioning = &config.Provisioning{}
		}
		if err := config.ApplyForm(c.Provisioning, r.PostForm, "loopstart/provisioning"); err != nil {
			back(w, r, "/provisioning", "", err)
			return
		}
	}
	// The firmware image URL (<firmware><url>), when the form has the field.
	if v, ok := r.PostForm["firmware_url"]; ok {
		if u := strings.TrimSpace(v[0]); u == "" {
			c.Firmware = nil
		} else {
			f := config.Firmware{URL: u}
			if c.Firmware != nil {
				f = *c.Firmware // a copy: <allow-downgrade> stays as it was
				f.URL = u
			}
			c.Firmware = &f
		}
	}
	s.applyForm(w, r, "/provisioning", c)
}

func (s *Server) handleResync(w http.ResponseWriter, r *http.Request) {
	if s.opts.Provisioning == nil {
		writeError(w, http.StatusNotFound, "provisioning is not available")
		return
	}
	err := s.opts.Provisioning.Resync()
	if isForm(r) {
		back(w, r, "/provisioning", "resync started", err)
		return
	}
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	s.ok(w)
}

func (s *Server) firmwareStatus(version string) FirmwareStatus {
	if s.opts.Firmware == nil {
		return FirmwareStatus{Version: version}
	}
	return s.opts.Firmware.FirmwareStatus()
}

// handleFirmwareUpload takes an image as the raw request body or as the
// first file of a multipart form, and installs it. The reply comes once
// the image is verified and written; the switch and restart follow
// (GET /api/firmware shows the progress). An image older than the running
// firmware is refused (409, "downgrade": true) unless the request
// confirms it: ?allow_downgrade=1, or a form field allow_downgrade before
// the file.
func (s *Server) handleFirmwareUpload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Firmware == nil {
		writeError(w, http.StatusNotFound, "firmware upgrades are not available")
		return
	}
	var opts UpgradeOptions
	if v, ok := r.URL.Query()["allow_downgrade"]; ok {
		opts.AllowDowngrade = isYes(v[0])
	}
	body := io.Reader(http.MaxBytesReader(w, r.Body, 512<<20))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		mr, err := r.MultipartReader()
		if err != nil {
			writeError(w, http.StatusBadRequest, "upgrade refused: "+err.Error())
			return
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				writeError(w, http.StatusBadRequest, "upgrade refused: no image file in the form")
				return
			}
			if part.FileName() != "" {
				body = part
				break
			}
			if part.FormName() == "allow_downgrade" {
				v, _ := io.ReadAll(io.LimitReader(part, 16))
				opts.AllowDowngrade = isYes(string(v))
			}
		}
	}
	if err := s.opts.Firmware.Upgrade(r.Context(), body, opts); err != nil {
		s.log.Warn("webui: firmware refused", "err", err, "client", clientKey(r))
		if errors.Is(err, ErrDowngrade) {
			writeJSON(w, http.StatusConflict, struct {
				Error     string `json:"error"`
				Downgrade bool   `json:"downgrade"`
			}{"upgrade refused, nothing was changed: " + err.Error(), true})
			return
		}
		code := http.StatusBadRequest
		if strings.Contains(err.Error(), "in progress") || strings.Contains(err.Error(), "on trial") {
			code = http.StatusConflict
		}
		writeError(w, code, "upgrade refused, nothing was changed: "+err.Error())
		return
	}
	st := s.opts.Firmware.FirmwareStatus()
	s.audit("firmware installed", "version", st.NewVersion, "downgrade_confirmed", opts.AllowDowngrade, "client", clientKey(r))
	writeJSON(w, http.StatusOK, st)
}

// isYes reads a confirmation flag: 1, true, yes or on.
func isYes(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// interfaces lists the network interfaces and their addresses.
func interfaces() []netInterface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := make([]netInterface, 0, len(ifs))
	for _, i := range ifs {
		ni := netInterface{Name: i.Name, MAC: i.HardwareAddr.String(), Up: i.Flags&net.FlagUp != 0, Addrs: []string{}}
		if as, err := i.Addrs(); err == nil {
			for _, a := range as {
				ni.Addrs = append(ni.Addrs, a.String())
			}
		}
		out = append(out, ni)
	}
	return out
}

func jsonLine(v any) ([]byte, error) { return json.Marshal(v) }
