package system

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestControlSocket(t *testing.T) {
	power := make(chan PowerAction, 1)
	c := &controller{sup: &Supervisor{}, power: power, state: func() any { return map[string]int{"restarts": 2} }}
	sock := filepath.Join(t.TempDir(), "boot.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.serveSocket(ctx, sock); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req, want, wantErr string
		action             PowerAction
	}{
		{req: "status", want: `{"restarts":2}`},
		{req: "bogus", wantErr: `unknown request "bogus"`},
		{req: "poweroff", want: "ok", action: ActionPowerOff},
		{req: "reboot", want: "ok"}, // one action at a time: the power-off is still pending
	} {
		got, err := Request(sock, tc.req)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: %q, %v; want error %q", tc.req, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.req, got, err, tc.want)
		}
		if tc.action != 0 {
			if a := <-power; a != tc.action {
				t.Errorf("%s: action %v", tc.req, a)
			}
			power <- ActionPowerOff // keep one pending for the next case
		}
	}
	if a := <-power; a != ActionPowerOff {
		t.Errorf("pending action %v", a)
	}
	if _, err := Request(filepath.Join(t.TempDir(), "none.sock"), "status"); err == nil {
		t.Error("no socket: no error")
	}
}

func TestTestHooks(t *testing.T) {
	power := make(chan PowerAction, 1)
	c := &controller{sup: &Supervisor{}, power: power, state: func() any { return "x" }}
	h := c.testHooks()
	do := func(method, path string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w.Code
	}
	if code := do("POST", "/test/kill"); code != http.StatusConflict {
		t.Errorf("kill with no gateway: %d", code)
	}
	if code := do("GET", "/test/kill"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET kill: %d", code)
	}
	if code := do("POST", "/test/reboot"); code != 200 || <-power != ActionReboot {
		t.Errorf("reboot: %d", code)
	}
	if code := do("GET", "/test/state"); code != 200 {
		t.Errorf("state: %d", code)
	}
}
