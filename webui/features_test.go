package webui

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/loopstart/loopstart/voice/status"
)

// fakeFeatures is the gateway's feature state: port 1 has features,
// port 2 leaves them to the PBX.
type fakeFeatures struct {
	mu    sync.Mutex
	f     status.Features
	fail  bool
	calls int
}

func (f *fakeFeatures) SetFeatures(port int, nf status.Features) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return errors.New("gateway: features: disk full")
	}
	f.f = nf
	return nil
}

func (f *fakeFeatures) status() status.Status {
	st := fakeStatus()
	f.mu.Lock()
	cur := f.f
	f.mu.Unlock()
	st.Ports[0].Features = &cur
	return st
}

// TestPortFeatures: the API and the ports page show and change a port's
// forwarding and screening behind login and CSRF; bad input is a 400
// (or an error back on the page) and leaves the state as it was.
func TestPortFeatures(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	ff := &fakeFeatures{f: status.Features{ForwardBusy: "2000"}}
	s.opts.Status = ff.status
	s.opts.Features = ff
	lr, cookie := login(t, s, "")
	bearer := map[string]string{"Authorization": "Bearer " + lr.Token}
	csrf := map[string]string{CSRFHeader: lr.CSRFToken}
	form := "application/x-www-form-urlencoded"
	good := status.Features{ForwardAll: "+15551234", ForwardNoAnswer: "sip:vm@pbx.example", NoAnswerSeconds: 15, DND: true, RejectAnonymous: true}

	cases := []struct {
		name string
		r    req
		code int
		want string
		// state after the request
		state status.Features
	}{
		{"get", req{method: "GET", path: "/api/ports/1/features", hdr: bearer}, 200, `"forward_busy": "2000"`, ff.f},
		{"get without login", req{method: "GET", path: "/api/ports/1/features"}, 401, "", ff.f},
		{"get PBX port", req{method: "GET", path: "/api/ports/2/features", hdr: bearer}, 404, "no local features", ff.f},
		{"get bad port", req{method: "GET", path: "/api/ports/x/features", hdr: bearer}, 400, "not a port number", ff.f},
		{"post bad target", req{method: "POST", path: "/api/ports/1/features", body: `{"forward_all":"12a4"}`, hdr: bearer}, 400, "forward_all", ff.f},
		{"post bad delay", req{method: "POST", path: "/api/ports/1/features", body: `{"no_answer_s":301}`, hdr: bearer}, 400, "no_answer_s", ff.f},
		{"post unknown field", req{method: "POST", path: "/api/ports/1/features", body: `{"dnd":true,"cfa":"1"}`, hdr: bearer}, 400, "unknown field", ff.f},
		{"post not JSON", req{method: "POST", path: "/api/ports/1/features", body: `dnd=on`, hdr: bearer}, 400, "want", ff.f},
		{"post PBX port", req{method: "POST", path: "/api/ports/2/features", body: `{"dnd":true}`, hdr: bearer}, 404, "no local features", ff.f},
		{"post without login", req{method: "POST", path: "/api/ports/1/features", body: `{"dnd":true}`}, 401, "", ff.f},
		{"post cookie without CSRF", req{method: "POST", path: "/api/ports/1/features", body: `{"dnd":true}`, cookie: cookie}, 403, "", ff.f},
		{"post", req{method: "POST", path: "/api/ports/1/features", hdr: bearer,
			body: `{"forward_all":"+15551234","forward_no_answer":"sip:vm@pbx.example","no_answer_s":15,"dnd":true,"reject_anonymous":true}`},
			200, `"reject_anonymous": true`, good},
		{"form bad target", req{method: "POST", path: "/ports/features", ctype: form, cookie: cookie, hdr: csrf,
			body: "n=1&forward_all=sip:a b"}, 303, "err=forward_all", good},
		{"form without CSRF", req{method: "POST", path: "/ports/features", ctype: form, cookie: cookie,
			body: "n=1&dnd=on"}, 403, "", good},
		{"form", req{method: "POST", path: "/ports/features", ctype: form, cookie: cookie, hdr: csrf,
			body: "n=1&forward_busy=*98&no_answer_s=&dnd=on"}, 303, "features+saved", status.Features{ForwardBusy: "*98", DND: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := send(t, s, c.r)
			if w.Code != c.code {
				t.Fatalf("code %d, want %d: %s", w.Code, c.code, w.Body)
			}
			got := w.Body.String() + w.Header().Get("Location")
			if !strings.Contains(got, c.want) {
				t.Errorf("reply %q does not contain %q", got, c.want)
			}
			if ff.f != c.state {
				t.Errorf("state %+v, want %+v", ff.f, c.state)
			}
		})
	}

	ff.fail = true
	w := send(t, s, req{method: "POST", path: "/api/ports/1/features", body: `{"dnd":false}`, hdr: bearer})
	if w.Code != 500 || !strings.Contains(w.Body.String(), "disk full") {
		t.Errorf("failing gateway: %d %s", w.Code, w.Body)
	}
	ff.fail = false

	page := send(t, s, req{method: "GET", path: "/ports", cookie: cookie}).Body.String()
	for _, want := range []string{`id="features-1"`, `name="forward_busy" value="*98"`, `name="dnd" checked`, `action="/ports/features"`} {
		if !strings.Contains(page, want) {
			t.Errorf("ports page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="features-2"`) {
		t.Error("ports page shows features for the PBX port")
	}
}
