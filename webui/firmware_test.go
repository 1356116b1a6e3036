package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeFirmware accepts images that start with "GOOD", and those that
// start with "OLD" (older than the running version) when confirmed.
type fakeFirmware struct {
	mu  sync.Mutex
	got []byte
	st  FirmwareStatus
}

func (f *fakeFirmware) FirmwareStatus() FirmwareStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeFirmware) Upgrade(ctx context.Context, r io.Reader, opts UpgradeOptions) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if bytes.HasPrefix(b, []byte("OLD")) && !opts.AllowDowngrade {
		return fmt.Errorf("firmware 0.9.0 is older than the running 1.0.0: %w", ErrDowngrade)
	}
	if !bytes.HasPrefix(b, []byte("GOOD")) && !bytes.HasPrefix(b, []byte("OLD")) {
		return errors.New("signature does not verify with any trusted key")
	}
	f.mu.Lock()
	f.got = b
	f.st.Phase, f.st.NewVersion, f.st.Done, f.st.Total = "installed", "2.0", int64(len(b)), int64(len(b))
	f.mu.Unlock()
	return nil
}

func TestFirmwareUpload(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	fw := &fakeFirmware{st: FirmwareStatus{Version: "1.0", Slot: "factory"}}
	s.opts.Firmware = fw
	lr, cookie := login(t, s, "")
	bearer := map[string]string{"Authorization": "Bearer " + lr.Token}

	mp := func(body string, fields ...string) (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("note", "x")
		for i := 0; i+1 < len(fields); i += 2 {
			mw.WriteField(fields[i], fields[i+1])
		}
		fwr, _ := mw.CreateFormFile("image", "fw.img")
		io.WriteString(fwr, body)
		mw.Close()
		return b.String(), mw.FormDataContentType()
	}
	mpBody, mpType := mp("GOOD multipart image")
	mpOld, mpOldType := mp("OLD multipart", "allow_downgrade", "0")
	mpOldOK, mpOldOKType := mp("OLD multipart confirmed", "allow_downgrade", "1")
	cases := []struct {
		name string
		r    req
		code int
		want string
	}{
		{"no login", req{method: "POST", path: "/api/firmware", body: "GOOD", ctype: "application/octet-stream"}, 401, ""},
		{"cookie without CSRF", req{method: "POST", path: "/api/firmware", body: "GOOD", ctype: "application/octet-stream", cookie: cookie}, 403, ""},
		{"bad image", req{method: "POST", path: "/api/firmware", body: "EVIL", ctype: "application/octet-stream", hdr: bearer}, 400, "nothing was changed: signature"},
		{"raw body", req{method: "POST", path: "/api/firmware", body: "GOOD raw image", ctype: "application/octet-stream", hdr: bearer}, 200, "GOOD raw image"},
		{"cookie with CSRF", req{method: "POST", path: "/api/firmware", body: "GOOD cookie", ctype: "application/octet-stream", cookie: cookie,
			hdr: map[string]string{CSRFHeader: lr.CSRFToken}}, 200, "GOOD cookie"},
		{"multipart", req{method: "POST", path: "/api/firmware", body: mpBody, ctype: mpType, hdr: bearer}, 200, "GOOD multipart image"},
		{"older image", req{method: "POST", path: "/api/firmware", body: "OLD raw", ctype: "application/octet-stream", hdr: bearer}, 409,
			"nothing was changed: firmware 0.9.0 is older than the running 1.0.0: downgrade refused"},
		{"older image, not confirmed", req{method: "POST", path: "/api/firmware?allow_downgrade=0", body: "OLD raw", ctype: "application/octet-stream", hdr: bearer}, 409,
			"downgrade refused"},
		{"older image confirmed", req{method: "POST", path: "/api/firmware?allow_downgrade=1", body: "OLD raw", ctype: "application/octet-stream", hdr: bearer}, 200,
			"OLD raw"},
		{"older image, multipart not confirmed", req{method: "POST", path: "/api/firmware", body: mpOld, ctype: mpOldType, hdr: bearer}, 409, "downgrade refused"},
		{"older image, multipart confirmed", req{method: "POST", path: "/api/firmware", body: mpOldOK, ctype: mpOldOKType, hdr: bearer}, 200,
			"OLD multipart confirmed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fw.got = nil
			w := send(t, s, c.r)
			if w.Code != c.code {
				t.Fatalf("code %d, want %d: %s", w.Code, c.code, w.Body)
			}
			if c.code == 200 && string(fw.got) != c.want {
				t.Errorf("firmware got %q", fw.got)
			}
			if c.code != 200 && fw.got != nil {
				t.Errorf("a refused image was installed: %q", fw.got)
			}
			if (c.code == 400 || c.code == 409) && !strings.Contains(jsonError(t, w), c.want) {
				t.Errorf("error %s", w.Body)
			}
			var body struct{ Downgrade bool }
			json.Unmarshal(w.Body.Bytes(), &body)
			if body.Downgrade != (c.code == 409) {
				t.Errorf("downgrade = %v in %s", body.Downgrade, w.Body)
			}
		})
	}
	w := send(t, s, req{method: "GET", path: "/api/firmware", hdr: bearer})
	var st FirmwareStatus
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Phase != "installed" || st.NewVersion != "2.0" || st.Version != "1.0" {
		t.Fatalf("GET /api/firmware = %d %s", w.Code, w.Body)
	}
	w = send(t, s, req{method: "GET", path: "/firmware", cookie: cookie})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="fw-form"`) || !strings.Contains(w.Body.String(), "from slot <span id=\"fw-slot\">factory") ||
		!strings.Contains(w.Body.String(), `id="fw-downgrade"`) {
		t.Fatalf("firmware page %d:\n%s", w.Code, w.Body)
	}
}

func TestFirmwareURLSetting(t *testing.T) {
	s, _, fc := newAuthServer(t, false)
	lr, cookie := login(t, s, "")
	form := func(body string) *httptest.ResponseRecorder {
		return send(t, s, req{method: "POST", path: "/provisioning", body: body + "&csrf_token=" + lr.CSRFToken,
			ctype: "application/x-www-form-urlencoded", cookie: cookie})
	}
	if w := form("url=&firmware_url=https://pbx.example/fw/$MODEL.img"); w.Code != 303 || strings.Contains(w.Header().Get("Location"), "err=") {
		t.Fatalf("set: %d %s", w.Code, w.Header().Get("Location"))
	}
	if fc.cur.Firmware == nil || fc.cur.Firmware.URL != "https://pbx.example/fw/$MODEL.img" {
		t.Fatalf("firmware = %+v", fc.cur.Firmware)
	}
	if m := fc.cur.JSONMap(); m["firmware"] == nil {
		t.Errorf("JSON config has no firmware: %v", m)
	}
	if w := form("url=&firmware_url=ftp://x/y"); !strings.Contains(w.Header().Get("Location"), "err=") || fc.cur.Firmware.URL != "https://pbx.example/fw/$MODEL.img" {
		t.Fatalf("bad URL: %s, firmware %+v", w.Header().Get("Location"), fc.cur.Firmware)
	}
	// Changing the URL keeps <allow-downgrade>.
	fc.cur.Firmware.AllowDowngrade = "true"
	if form("url=&firmware_url=https://pbx.example/fw/v2.img"); fc.cur.Firmware.URL != "https://pbx.example/fw/v2.img" || !fc.cur.Firmware.DowngradeAllowed() {
		t.Fatalf("changed: %+v", fc.cur.Firmware)
	}
	if form("url=&firmware_url="); fc.cur.Firmware != nil {
		t.Fatalf("not cleared: %+v", fc.cur.Firmware)
	}
}
