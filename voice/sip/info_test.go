package sip

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDTMFRelay(t *testing.T) {
	tests := []struct {
		body string
		key  byte
		d    time.Duration
		err  bool
	}{
		{"Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond, false},
		{"Signal= *\nDuration= 250", '*', 250 * time.Millisecond, false},
		{"signal=#\r\n", '#', defaultInfoDuration, false},
		{"Signal=11\r\nDuration=100", '#', 100 * time.Millisecond, false},
		{"Signal=d\r\nDuration=0", 'D', defaultInfoDuration, false},
		{"Signal=16\r\nDuration=200", FlashKey, 200 * time.Millisecond, false},
		{"Signal=17", 0, 0, true},
		{"Signal=x", 0, 0, true},
		{"Duration=160", 0, 0, true},
		{"Signal=5\r\nDuration=-1", 0, 0, true},
		{"Signal=5\r\nDuration=abc", 0, 0, true},
		{"", 0, 0, true},
	}
	for _, tt := range tests {
		key, d, err := ParseDTMFRelay([]byte(tt.body))
		if (err != nil) != tt.err || key != tt.key || d != tt.d {
			t.Errorf("ParseDTMFRelay(%q) = %q, %v, %v; want %q, %v, error %v", tt.body, key, d, err, tt.key, tt.d, tt.err)
		}
	}
}

func TestParseDTMF(t *testing.T) {
	tests := []struct {
		body string
		key  byte
		err  bool
	}{
		{"5", '5', false},
		{" #\r\n", '#', false},
		{"10", '*', false},
		{"a", 'A', false},
		{"", 0, true},
		{"55", 0, true},
		{"Z", 0, true},
	}
	for _, tt := range tests {
		key, err := ParseDTMF([]byte(tt.body))
		if (err != nil) != tt.err || key != tt.key {
			t.Errorf("ParseDTMF(%q) = %q, %v; want %q, error %v", tt.body, key, err, tt.key, tt.err)
		}
	}
}

func TestDTMFRelayBody(t *testing.T) {
	if got := string(DTMFRelayBody('5', 160*time.Millisecond)); got != "Signal=5\r\nDuration=160\r\n" {
		t.Errorf("body %q", got)
	}
	if got := string(DTMFRelayBody(FlashKey, 100*time.Millisecond)); got != "Signal=16\r\nDuration=100\r\n" {
		t.Errorf("flash body %q", got)
	}
}

// TestInfoInCall sends INFO both ways in an answered call: digits reach
// the far end's OnDTMF, flashes too (as FlashKey), other bodies get 415.
func TestInfoInCall(t *testing.T) {
	out, in, _, _ := answeredPair(t)
	type digit struct {
		key byte
		d   time.Duration
	}
	got := make(chan digit, 8)
	rec := func(k byte, d time.Duration) { got <- digit{k, d} }
	out.OnDTMF(rec)
	in.OnDTMF(rec)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tests := []struct {
		name string
		send func() error
		want *digit
		code string // in the error, for a refusal
	}{
		{"caller digit", func() error { return out.SendDTMF(ctx, '7', 200*time.Millisecond) }, &digit{'7', 200 * time.Millisecond}, ""},
		{"callee digit", func() error { return in.SendDTMF(ctx, '#', 120*time.Millisecond) }, &digit{'#', 120 * time.Millisecond}, ""},
		{"application/dtmf", func() error { return out.SendInfo(ctx, MIMEDTMF, []byte("3")) }, &digit{'3', defaultInfoDuration}, ""},
		{"hook flash", func() error { return out.SendFlash(ctx, true) }, &digit{FlashKey, defaultInfoDuration}, ""},
		{"dtmf-relay flash", func() error { return in.SendFlash(ctx, false) }, &digit{FlashKey, 100 * time.Millisecond}, ""},
		{"unknown body", func() error { return out.SendInfo(ctx, "text/plain", []byte("hello")) }, nil, "415"},
		{"bad signal", func() error { return out.SendInfo(ctx, MIMEDTMFRelay, []byte("Signal=99")) }, nil, "400"},
		{"bad key", func() error { return out.SendDTMF(ctx, 'x', time.Second) }, nil, "not a dtmf key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.send()
			if tt.code != "" {
				if err == nil || !strings.Contains(err.Error(), tt.code) {
					t.Fatalf("err %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				select {
				case d := <-got:
					t.Fatalf("reported %+v", d)
				default:
				}
				return
			}
			select {
			case d := <-got:
				if d != *tt.want {
					t.Errorf("got %q %v, want %q %v", d.key, d.d, tt.want.key, tt.want.d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no digit reported")
			}
		})
	}
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := out.SendDTMF(ctx, '1', time.Second); !errors.Is(err, ErrCallState) {
		t.Errorf("INFO after hang-up: %v, want ErrCallState", err)
	}
}

func FuzzParseDTMFRelay(f *testing.F) {
	f.Add([]byte("Signal=5\r\nDuration=160\r\n"))
	f.Add([]byte("Signal=16\nDuration=0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, d, err := ParseDTMFRelay(b)
		if err != nil {
			return
		}
		if strings.IndexByte(dtmfKeys, key) < 0 && key != FlashKey {
			t.Errorf("key %q accepted", key)
		}
		if d <= 0 || d > time.Minute {
			t.Errorf("duration %v accepted", d)
		}
	})
}

func FuzzParseDTMF(f *testing.F) {
	f.Add([]byte("5"))
	f.Add([]byte("16"))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := ParseDTMF(b)
		if err == nil && strings.IndexByte(dtmfKeys, key) < 0 && key != FlashKey {
			t.Errorf("key %q accepted", key)
		}
	})
}
