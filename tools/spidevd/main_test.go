package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/hil"
)

func TestPCMDevice(t *testing.T) {
	for _, c := range []struct {
		flag, highway string
		card, dev     uint
		ok, err       bool
	}{
		{"auto", "alsa:hw:0,0", 0, 1, true, false},
		{"auto", "alsa:hw:2,1", 2, 0, true, false},
		{"auto", "alsa:hw:0", 0, 1, true, false},
		{"auto", "alsa:hw:0,3", 0, 0, false, true},
		{"auto", "sim", 0, 0, false, false},
		{"none", "alsa:hw:0,0", 0, 0, false, false},
		{"hw:1,1", "alsa:hw:0,0", 1, 1, true, false},
		{"plughw:1,1", "alsa:hw:0,0", 0, 0, false, true},
	} {
		card, dev, ok, err := pcmDevice(c.flag, c.highway)
		if (err != nil) != c.err || ok != c.ok || card != c.card || dev != c.dev {
			t.Errorf("pcmDevice(%q, %q) = %d, %d, %v, %v; want %d, %d, %v, error %v", c.flag, c.highway, card, dev, ok, err, c.card, c.dev, c.ok, c.err)
		}
	}
}

func TestSayParams(t *testing.T) {
	for _, c := range []struct {
		hz, dbfs string
		tones    []float64
		level    float64
		err      bool
	}{
		{"1000", "-12", []float64{1000}, -12, false},
		{"697,1209", "", []float64{697, 1209}, -12, false},
		{"", "", nil, -12, false},
		{"x", "", nil, 0, true},
		{"1000", "loud", nil, 0, true},
	} {
		tones, level, err := sayParams(c.hz, c.dbfs)
		if (err != nil) != c.err || !c.err && (!slices.Equal(tones, c.tones) || level != c.level) {
			t.Errorf("sayParams(%q, %q) = %v, %v, %v", c.hz, c.dbfs, tones, level, err)
		}
	}
}

// TestHandlerPhone drives the qemu-hil rig's phone through the control
// API: bad requests get 400 or 404, good ones reach the phone.
func TestHandlerPhone(t *testing.T) {
	rig, err := hil.New(board.QEMUHIL())
	if err != nil {
		t.Fatal(err)
	}
	h := handler(rig)
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/hil/dial?port=1&digits=5", http.StatusBadRequest}, // on hook
		{"POST", "/hil/hook?port=1&state=off", http.StatusNoContent},
		{"POST", "/hil/dial?port=1&digits=5", http.StatusNoContent},
		{"POST", "/hil/dial?port=1&digits=x", http.StatusBadRequest},
		{"POST", "/hil/dial?port=1&digits=5&ms=400", http.StatusNoContent},
		{"POST", "/hil/dial?port=1&digits=5&ms=10", http.StatusBadRequest},
		{"POST", "/hil/dial?port=1&digits=5&ms=long", http.StatusBadRequest},
		{"POST", "/hil/say?port=1&hz=1000&dbfs=-12", http.StatusNoContent},
		{"POST", "/hil/say?port=1&hz=9000", http.StatusBadRequest},
		{"POST", "/hil/say?port=1", http.StatusNoContent},
		{"POST", "/hil/say?port=2&hz=1000", http.StatusNotFound},
		{"GET", "/hil/phone?port=1", http.StatusOK},
		{"GET", "/hil/phone?port=2", http.StatusNotFound},
		{"GET", "/hil/phone?port=one", http.StatusBadRequest},
		{"GET", "/hil/heard.wav?port=1&ms=100", http.StatusOK},
		{"GET", "/hil/heard.wav?port=1&ms=0", http.StatusBadRequest},
		{"GET", "/hil/heard.wav?port=2", http.StatusNotFound},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.code {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, w.Code, w.Body, c.code)
		}
		if strings.HasPrefix(c.path, "/hil/heard.wav") && w.Code == http.StatusOK {
			// A WAV file (of nothing yet: no frame has run).
			if b := w.Body.Bytes(); len(b) < 44 || string(b[:4]) != "RIFF" {
				t.Errorf("heard.wav: %d bytes beginning %q, want a WAV file", len(b), b[:min(4, len(b))])
			}
		}
	}
	if st, _ := rig.PhoneState(1); st.Hook != "off" {
		t.Errorf("phone 1 hook %q after the hook request", st.Hook)
	}
}
