package alsa

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// fakeStream fails its next reads or writes with the errors queued in
// fail, then succeeds; it counts PREPAREs.
type fakeStream struct {
	fail     []error
	prepares int
	ok       int
}

func (f *fakeStream) next() error {
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return err
	}
	f.ok++
	return nil
}

func (f *fakeStream) Read(any) (int, error)  { return pcm.FrameSamples, f.next() }
func (f *fakeStream) Write(any) (int, error) { return pcm.FrameSamples, f.next() }
func (f *fakeStream) Prepare() error         { f.prepares++; return nil }
func (f *fakeStream) Close() error           { return nil }

func fakeHighway(capFails, playFails []error) (*Highway, *fakeStream, *fakeStream) {
	c, p := &fakeStream{fail: capFails}, &fakeStream{fail: playFails}
	h := &Highway{cap: c, play: p, slots: 1, prime: 1, now: time.Now,
		capBuf: make([]int16, pcm.FrameSamples), playBuf: make([]int16, pcm.FrameSamples)}
	h.capAny, h.playAny, h.silAny = h.capBuf, h.playBuf, make([]int16, pcm.FrameSamples)
	return h, c, p
}

// TestExchangeXruns: an under- or overrun is recovered with PREPARE, also
// when the stream runs over again at once, up to maxXrunTries; any other
// error, or xruns that keep coming, end the exchange with an error.
func TestExchangeXruns(t *testing.T) {
	xrun, eio := syscall.EPIPE, syscall.EIO
	tests := []struct {
		name                  string
		capFails, playFails   []error
		wantErr               bool
		capPrepares, playPrep int
	}{
		{"clean", nil, nil, false, 0, 0},
		{"one overrun", []error{xrun}, nil, false, 1, 0},
		{"overrun twice in a row", []error{xrun, xrun}, nil, false, 2, 0},
		{"overruns that keep coming", []error{xrun, xrun, xrun}, nil, true, 2, 0},
		{"suspended capture", []error{syscall.ESTRPIPE}, nil, false, 1, 0},
		{"capture error", []error{eio}, nil, true, 0, 0},
		{"one underrun", nil, []error{xrun}, false, 0, 1},
		{"underrun twice in a row", nil, []error{xrun, xrun}, false, 0, 2},
		{"underruns that keep coming", nil, []error{xrun, xrun, xrun}, true, 0, 2},
		{"playback error", nil, []error{eio}, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c, p := fakeHighway(tt.capFails, tt.playFails)
			rx := [][]int16{make([]int16, pcm.FrameSamples)}
			tx := [][]int16{make([]int16, pcm.FrameSamples)}
			_, _, err := h.Exchange(context.Background(), tx, rx)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Exchange error %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, eio) && !errors.Is(err, xrun) {
				t.Errorf("error %v names neither cause", err)
			}
			if c.prepares != tt.capPrepares || p.prepares != tt.playPrep {
				t.Errorf("PREPAREs capture %d playback %d, want %d and %d", c.prepares, p.prepares, tt.capPrepares, tt.playPrep)
			}
			capX, playX := h.Xruns()
			if capX != tt.capPrepares || playX != tt.playPrep {
				t.Errorf("xruns counted capture %d playback %d, want %d and %d", capX, playX, tt.capPrepares, tt.playPrep)
			}
		})
	}
}
