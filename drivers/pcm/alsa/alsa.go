// Package alsa is the PCM highway over ALSA: a TDM bus that the kernel's
// sound driver runs (for example the Raspberry Pi's I2S block in DSP_A mode
// with a simple-audio-card and a dummy codec), seen from user space as one
// capture and one playback PCM of Slots channels, 16-bit little-endian at
// 8 kHz. Channel n of the interleaved frame is timeslot n.
//
// It uses github.com/gen2brain/alsa, a pure-Go reimplementation of
// TinyALSA (BSD-3-Clause): HW_PARAMS/SW_PARAMS/PREPARE/READI/WRITEI ioctls
// on /dev/snd/pcmC*D*, no cgo, no alsa-lib plugins. It was chosen over
// github.com/yobert/alsa because it is maintained (2025 releases), handles
// xrun recovery, and its own tests run against snd-aloop, the virtual
// loopback card this package's test needs too.
//
// Exchange paces the media loop by the capture stream: a blocking read of
// one frame (80 samples per slot) returns when the hardware has clocked it
// in. The playback stream is primed with Opts.Prime frames of silence (2
// by default), so the frame written after each read finds the playback
// buffer empty only when the loop runs that late (the prime is also delay
// added). An underrun or overrun (xrun) is counted, the
// stream prepared again and the transfer retried once; the library's own
// restart is off because it retries the ioctl without PREPARE and spins on
// EPIPE forever. After a capture overrun the frame numbers skip the
// frames the kernel dropped and lateness is measured from the restart
// (frameClock). It does not allocate.
//
// The loopback test runs inside the QEMU image against snd-aloop:
// `loopstart pcm-selftest`, run at boot with loopstart.selftest=pcm, and
// buildroot/qemutest TestBootALSA, which make test runs.
package alsa

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	galsa "github.com/gen2brain/alsa"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// Opts configures a Highway.
type Opts struct {
	// Card and Device select the capture PCM /dev/snd/pcmC<Card>D<Device>c;
	// PlaybackDevice the playback PCM on the same card (default Device).
	Card, Device   uint
	PlaybackDevice *uint
	// Slots is the number of 16-bit channels (timeslots) per frame.
	Slots int
	// Periods is the number of frames of buffering in the kernel (default 4).
	Periods int
	// Prime is the frames of silence written ahead on the playback PCM
	// when it starts (default 2, at most Periods-1): the media loop may run
	// this late before playback underruns, and it adds as much delay.
	Prime int
	// Now is the monotonic clock lateness is measured on; nil means
	// time.Now.
	Now func() time.Time
}

// stream is what the highway uses of an ALSA PCM (a *galsa.PCM; tests
// give it fakes that under- or overrun).
type stream interface {
	Read(data any) (int, error)
	Write(data any) (int, error)
	Prepare() error
	Close() error
}

// maxXrunTries bounds the PREPAREs one Exchange makes on one stream: a
// stream that runs over again at once (a host that stalls us twice in a
// row) is tried again, but an error that keeps coming ends the loop.
const maxXrunTries = 3

// Highway is a pcm.Highway on two ALSA PCMs.
type Highway struct {
	cap, play stream
	slots     int
	capBuf    []int16
	playBuf   []int16
	capAny    any // capBuf boxed once: Read/Write take any
	playAny   any
	silAny    any // one frame of silence, the playback prime
	prime     int // frames of silence written when playback starts
	primed    bool
	capXruns  int
	playXruns int
	clock     frameClock
	now       func() time.Time
}

var _ pcm.Highway = (*Highway)(nil)

// Open opens and configures both PCMs. The card's clocks must be able to
// run at 8 kHz with Slots channels of S16_LE.
func Open(o Opts) (*Highway, error) {
	if o.Slots < 1 || o.Slots > 64 {
		return nil, fmt.Errorf("pcm/alsa: %d slots, want 1-64", o.Slots)
	}
	if o.Periods == 0 {
		o.Periods = 4
	}
	if o.Prime == 0 {
		o.Prime = 2
	}
	if o.Periods < 2 || o.Prime < 1 || o.Prime >= o.Periods {
		return nil, fmt.Errorf("pcm/alsa: %d periods with %d primed, want periods >= 2 and 1 <= prime < periods", o.Periods, o.Prime)
	}
	play := o.Device
	if o.PlaybackDevice != nil {
		play = *o.PlaybackDevice
	}
	cfg := &galsa.Config{
		Channels:       uint32(o.Slots),
		Rate:           pcm.SampleRate,
		PeriodSize:     pcm.FrameSamples,
		PeriodCount:    uint32(o.Periods),
		Format:         galsa.SNDRV_PCM_FORMAT_S16_LE,
		StartThreshold: pcm.FrameSamples,
	}
	c, err := galsa.PcmOpen(o.Card, o.Device, galsa.PCM_IN|galsa.PCM_NORESTART, cfg)
	if err != nil {
		return nil, fmt.Errorf("pcm/alsa: capture hw:%d,%d: %w", o.Card, o.Device, err)
	}
	p, err := galsa.PcmOpen(o.Card, play, galsa.PCM_OUT|galsa.PCM_NORESTART, cfg)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("pcm/alsa: playback hw:%d,%d: %w", o.Card, play, err)
	}
	h := &Highway{cap: c, play: p, slots: o.Slots, now: o.Now, prime: o.Prime,
		capBuf: make([]int16, o.Slots*pcm.FrameSamples), playBuf: make([]int16, o.Slots*pcm.FrameSamples)}
	if h.now == nil {
		h.now = time.Now
	}
	h.capAny, h.playAny = h.capBuf, h.playBuf
	h.silAny = make([]int16, o.Slots*pcm.FrameSamples)
	return h, nil
}

// Slots implements pcm.Highway.
func (h *Highway) Slots() int { return h.slots }

// Exchange implements pcm.Highway: it writes tx interleaved to the playback
// PCM, then blocks reading one frame from the capture PCM into rx.
func (h *Highway) Exchange(ctx context.Context, tx, rx [][]int16) (uint64, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return h.clock.seq, 0, err
	}
	Interleave(h.playBuf, tx, h.slots)
	for try := 1; ; try++ {
		err := h.write()
		if err == nil {
			break
		}
		if !isXrun(err) || try == maxXrunTries {
			return h.clock.seq, 0, err
		}
		// Underrun: prepare, prime again, retry.
		h.playXruns++
		h.primed = false
		if err := h.play.Prepare(); err != nil {
			return h.clock.seq, 0, fmt.Errorf("pcm/alsa: playback xrun: %w", err)
		}
	}
	restarted := false
	for try := 1; ; try++ {
		_, err := h.cap.Read(h.capAny)
		if err == nil {
			break
		}
		if !isXrun(err) || try == maxXrunTries {
			return h.clock.seq, 0, fmt.Errorf("pcm/alsa: read: %w", err)
		}
		// Overrun: the frames the kernel dropped are lost; restart.
		h.capXruns++
		restarted = true
		if err := h.cap.Prepare(); err != nil {
			return h.clock.seq, 0, fmt.Errorf("pcm/alsa: capture xrun: %w", err)
		}
	}
	Deinterleave(rx, h.capBuf, h.slots)
	seq, late := h.clock.tick(h.now(), restarted)
	return seq, late, nil
}

// write sends the playback frame, after the silence prime when the
// stream is (re)starting.
func (h *Highway) write() error {
	if !h.primed {
		for range h.prime {
			if _, err := h.play.Write(h.silAny); err != nil {
				return fmt.Errorf("pcm/alsa: write: %w", err)
			}
		}
		h.primed = true
	}
	if _, err := h.play.Write(h.playAny); err != nil {
		return fmt.Errorf("pcm/alsa: write: %w", err)
	}
	return nil
}

// isXrun reports an underrun or overrun (EPIPE) or a suspended stream
// (ESTRPIPE): both recover with PREPARE.
func isXrun(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ESTRPIPE)
}

// Xruns returns how many capture overruns and playback underruns Exchange
// has recovered from.
func (h *Highway) Xruns() (capture, playback int) { return h.capXruns, h.playXruns }

// Close closes both PCMs.
func (h *Highway) Close() error {
	return errors.Join(h.cap.Close(), h.play.Close())
}

// Interleave writes slot s's samples to dst[i*slots+s]; a nil or short slot
// sends silence.
func Interleave(dst []int16, src [][]int16, slots int) {
	n := len(dst) / slots
	for s := range slots {
		var in []int16
		if s < len(src) {
			in = src[s]
		}
		for i := range n {
			var v int16
			if i < len(in) {
				v = in[i]
			}
			dst[i*slots+s] = v
		}
	}
}

// Deinterleave splits src (frames of slots samples) into dst[slot]; nil
// slots are skipped.
func Deinterleave(dst [][]int16, src []int16, slots int) {
	n := len(src) / slots
	for s := 0; s < slots && s < len(dst); s++ {
		out := dst[s]
		for i := 0; i < n && i < len(out); i++ {
			out[i] = src[i*slots+s]
		}
	}
}
