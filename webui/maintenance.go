package webui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
)

// The maintenance page: the configuration as a file (with or without the
// passwords) and back, a restart and a factory reset, each confirmed.

// restartDelay lets the answer reach the browser before a restart.
const restartDelay = 500 * time.Millisecond

func (s *Server) maintenanceRoutes() {
	s.mux.Handle("GET /api/config/schema", s.requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, config.Schema())
	})))
	if s.opts.Config != nil {
		s.mux.Handle("GET /api/config/backup", s.requireAuth(http.HandlerFunc(s.handleBackup)))
		s.mux.Handle("POST /maintenance/restore", s.requireAuth(http.HandlerFunc(s.handleRestore)))
	}
	s.mux.Handle("POST /maintenance/reboot", s.requireAuth(http.HandlerFunc(s.handlePower("reboot"))))
	s.mux.Handle("POST /maintenance/factory-reset", s.requireAuth(http.HandlerFunc(s.handlePower("factory-reset"))))
}

// handleBackup sends the configuration in force as an XML file;
// ?secrets=0 leaves the passwords out.
func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request) {
	c := s.opts.Config.Current()
	name := "loopstart-config.xml"
	if v := r.URL.Query().Get("secrets"); v != "" && !isYes(v) {
		c = c.WithoutSecrets()
		name = "loopstart-config-nosecrets.xml"
	}
	b, err := c.Marshal()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.audit("config downloaded", "secrets", !strings.Contains(name, "nosecrets"), "client", clientKey(r))
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// handleRestore takes a configuration file (form file "config", or the
// body as application/xml), validates it exactly as `loopstart config
// check` does and applies it; passwords left out keep the values in force.
func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request) {
	var body []byte
	var err error
	form := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
	if form {
		if err = r.ParseMultipartForm(config.MaxFileSize + 4096); err == nil {
			fhs := r.MultipartForm.File["config"]
			if len(fhs) == 0 {
				err = errors.New("no file chosen")
			} else {
				f, ferr := fhs[0].Open()
				if ferr != nil {
					err = ferr
				} else {
					body, err = io.ReadAll(io.LimitReader(f, config.MaxFileSize+1))
					f.Close()
				}
			}
		}
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, config.MaxFileSize))
	}
	if err != nil {
		s.restoreFailed(w, r, form, fmt.Errorf("cannot read the file: %w", err))
		return
	}
	c, err := config.ParseRestore(bytes.NewReader(body), s.opts.Config.Current())
	if err != nil {
		s.restoreFailed(w, r, form, err)
		return
	}
	res, err := s.opts.Config.Apply(c, "web UI restore")
	if err != nil {
		s.restoreFailed(w, r, form, err)
		return
	}
	s.audit("config restored", "applied", res.Applied, "client", clientKey(r))
	if form {
		back(w, r, "/maintenance", "restored: "+res.Message, nil)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) restoreFailed(w http.ResponseWriter, r *http.Request, form bool, err error) {
	s.log.Warn("webui: restore refused", "err", err)
	if !form {
		writeConfigError(w, err)
		return
	}
	q := url.Values{}
	q.Set("err", "not restored, the old configuration stays: "+strings.ReplaceAll(err.Error(), "\n", "; "))
	http.Redirect(w, r, "/maintenance?"+q.Encode(), http.StatusSeeOther)
}

// handlePower restarts the gateway or resets it to the factory state,
// when the form confirms it (confirm=yes, and for a factory reset the
// word RESET typed in confirm_text).
func (s *Server) handlePower(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fn := s.opts.Reboot
		if what == "factory-reset" {
			fn = s.opts.FactoryReset
		}
		if fn == nil {
			writeError(w, http.StatusNotFound, what+" is not available here")
			return
		}
		_ = r.ParseForm()
		ok := isYes(r.PostForm.Get("confirm")) || isYes(r.URL.Query().Get("confirm"))
		if what == "factory-reset" {
			t := r.PostForm.Get("confirm_text")
			if t == "" {
				t = r.URL.Query().Get("confirm_text")
			}
			ok = ok && strings.TrimSpace(t) == "RESET"
		}
		if !ok {
			err := errors.New(what + " not confirmed: tick the box" + map[bool]string{true: " and type RESET", false: ""}[what == "factory-reset"])
			if wantsJSON(r) || !isForm(r) {
				writeError(w, http.StatusBadRequest, err.Error())
			} else {
				back(w, r, "/maintenance", "", err)
			}
			return
		}
		s.audit(what+" requested", "client", clientKey(r))
		go func() {
			time.Sleep(restartDelay)
			if err := fn(); err != nil {
				s.log.Error("webui: "+what, "err", err)
			}
		}()
		msg := "restarting"
		if what == "factory-reset" {
			msg = "erasing the settings and restarting"
		}
		if wantsJSON(r) || !isForm(r) {
			writeJSON(w, http.StatusAccepted, map[string]string{"message": msg})
			return
		}
		d := pageData{Title: "Maintenance", Version: s.opts.Version, Msg: msg + "; this page reloads when the gateway is back."}
		s.render(w, "restarting.html", http.StatusAccepted, d)
	}
}
