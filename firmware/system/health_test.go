package system

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoopHealth(t *testing.T) {
	var body atomic.Value
	body.Store(`{"loop":{"ticks":0}}`)
	code := atomic.Int32{}
	code.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(code.Load()))
		fmt.Fprint(w, body.Load().(string))
	}))
	defer srv.Close()
	h := &LoopHealth{URL: srv.URL}
	ctx := context.Background()
	steps := []struct {
		body    string
		code    int32
		reset   bool
		wantErr string
	}{
		{body: `{"loop":{"ticks":0}}`, wantErr: "not started"},
		{body: `{"loop":{"ticks":100}}`},
		{body: `{"loop":{"ticks":200}}`},
		{body: `{"loop":{"ticks":200}}`, wantErr: "stalled at tick 200"},
		{body: `{"loop":{"ticks":300}}`},
		{body: `{"ports":[]}`, wantErr: "no loop counters"},
		{body: `not json`, wantErr: "health"},
		{body: `{"loop":{"ticks":400}}`, code: 403, wantErr: "403"},
		{body: `{"loop":{"ticks":5}}`, reset: true}, // a new gateway counts from 0
		{body: `{"loop":{"ticks":5}}`, wantErr: "stalled"},
	}
	for i, s := range steps {
		body.Store(s.body)
		c := s.code
		if c == 0 {
			c = 200
		}
		code.Store(c)
		if s.reset {
			h.Reset()
		}
		_, err := h.Check(ctx)
		if s.wantErr == "" && err != nil {
			t.Errorf("step %d (%s): %v", i, s.body, err)
		}
		if s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)) {
			t.Errorf("step %d (%s): err %v, want %q", i, s.body, err, s.wantErr)
		}
	}
	h2 := &LoopHealth{URL: "http://127.0.0.1:1/api/status"}
	if _, err := h2.Check(ctx); err == nil {
		t.Error("no server: healthy")
	}
}

func TestPetDecision(t *testing.T) {
	grace := 15 * time.Second
	for _, c := range []struct {
		running bool
		age     time.Duration
		healthy bool
		want    bool
	}{
		{running: false, want: true},                  // restart back-off: supervisor in charge
		{running: true, age: time.Second, want: true}, // starting up
		{running: true, age: time.Minute, healthy: true, want: true},
		{running: true, age: time.Minute, healthy: false, want: false}, // stalled or frozen
	} {
		if got := PetDecision(c.running, c.age, grace, c.healthy); got != c.want {
			t.Errorf("PetDecision(%v, %v, %v) = %v, want %v", c.running, c.age, c.healthy, got, c.want)
		}
	}
}
