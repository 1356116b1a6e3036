package media

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// captureOnWire starts a stream with sess (Remote set here) towards a
// plain socket, runs start on it, sends signal and returns the decoded
// audio and the telephone-events (payload type 101) that arrived.
func captureOnWire(t *testing.T, signal []int16, sess Session, start func(*Stream)) (audio []int16, events []wireEvent) {
	t.Helper()
	a, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	wire, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(loopback))
	if err != nil {
		t.Fatal(err)
	}
	defer wire.Close()
	sess.Remote = wire.LocalAddr().(*net.UDPAddr).AddrPort()
	a.Start(sess)
	if start != nil {
		start(a)
	}
	for off := 0; off+pcm.FrameSamples <= len(signal); off += pcm.FrameSamples {
		a.Send(signal[off : off+pcm.FrameSamples])
	}
	buf := make([]byte, 1500)
	var hdr rtp.Header
	for range a.Stats().PacketsSent {
		_ = wire.SetReadDeadline(time.Now().Add(time.Second))
		n, err := wire.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		hl, err := hdr.Unmarshal(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		p := buf[hl:n]
		switch hdr.PayloadType {
		case 0:
			s := make([]int16, len(p))
			dsp.DecodeMulaw(s, p)
			audio = append(audio, s...)
		case 101:
			events = append(events, wireEvent{code: p[0], end: p[1]&0x80 != 0, mark: hdr.Marker,
				dur: binary.BigEndian.Uint16(p[2:]), ts: hdr.Timestamp})
		default:
			t.Fatalf("payload type %d", hdr.PayloadType)
		}
	}
	return audio, events
}

// TestSendEventFlash: a flash relayed as RFC 4733 event 16 goes out as
// a digit does — marker first, one timestamp, three final packets with
// the E bit and the asked length — while the audio keeps flowing.
func TestSendEventFlash(t *testing.T) {
	tests := []struct {
		name    string
		dtmfPT  uint8
		d       time.Duration
		ok      bool
		wantDur uint16
	}{
		{"flash-200ms", 101, 200 * time.Millisecond, true, 1600},
		{"short-raised-to-40ms", 101, time.Millisecond, true, 320},
		{"no-telephone-event", 0, 200 * time.Millisecond, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ok bool
			silence := make([]int16, 8*500)
			audio, events := captureOnWire(t, silence, Session{Codec: PCMU, DTMFPT: tt.dtmfPT},
				func(s *Stream) { ok = s.SendEvent(EventFlash, tt.d) })
			if ok != tt.ok {
				t.Fatalf("SendEvent = %v, want %v", ok, tt.ok)
			}
			if len(audio) != len(silence) {
				t.Errorf("%d audio samples sent, want %d (audio goes on)", len(audio), len(silence))
			}
			if !tt.ok {
				if len(events) != 0 {
					t.Fatalf("events without telephone-event: %+v", events)
				}
				return
			}
			if len(events) < 4 {
				t.Fatalf("%d event packets: %+v", len(events), events)
			}
			for i, e := range events {
				if e.code != EventFlash || e.ts != events[0].ts || e.mark != (i == 0) {
					t.Errorf("event %d: %+v", i, e)
				}
				if want := i >= len(events)-3; e.end != want {
					t.Errorf("event %d: end %v, want %v", i, e.end, want)
				}
			}
			if d := events[len(events)-1].dur; d != tt.wantDur {
				t.Errorf("final duration %d samples, want %d", d, tt.wantDur)
			}
		})
	}
}

// TestOnDigitInsteadOfEvents: with OnDigit set (SIP INFO relay) a digit
// from the phone is reported once with its length, sent neither as an
// event nor in band, with or without telephone-event on the call.
func TestOnDigitInsteadOfEvents(t *testing.T) {
	for _, pt := range []uint8{0, 101} {
		var keys []byte
		var lens []time.Duration
		sess := Session{Codec: PCMU, DTMFPT: pt, OnDigit: func(k byte, d time.Duration) {
			keys = append(keys, k)
			lens = append(lens, d)
		}}
		signal := dtmfSignal(t, "9", 200*time.Millisecond, 150*time.Millisecond, 200*time.Millisecond)
		audio, events := captureOnWire(t, signal, sess, nil)
		if string(keys) != "9" {
			t.Fatalf("pt %d: OnDigit keys %q, want 9", pt, keys)
		}
		if lens[0] < 100*time.Millisecond || lens[0] > 170*time.Millisecond {
			t.Errorf("pt %d: digit length %v, want about 120-150 ms", pt, lens[0])
		}
		if len(events) != 0 {
			t.Errorf("pt %d: events sent: %+v", pt, events)
		}
		if got := dsp.NewDTMFDetector().Process(audio, nil); len(got) != 0 {
			t.Errorf("pt %d: in-band DTMF %q in the sent audio", pt, got)
		}
	}
}

// TestPlayDigit: a digit that came out of band plays to the phone as
// its tone pair, also on a call without telephone-event; other keys are
// refused.
func TestPlayDigit(t *testing.T) {
	b, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Start(Session{Remote: loopback, Codec: PCMU})
	if b.PlayDigit('R', 100*time.Millisecond) {
		t.Error("PlayDigit('R') accepted")
	}
	if !b.PlayDigit('#', 160*time.Millisecond) || !b.PlayDigit('4', 160*time.Millisecond) {
		t.Fatal("PlayDigit refused a digit")
	}
	var heard []int16
	out := make([]int16, pcm.FrameSamples)
	for range 60 {
		b.Receive(out)
		heard = append(heard, out...)
	}
	if got := string(dsp.NewDTMFDetector().Process(heard, nil)); got != "#4" {
		t.Fatalf("phone heard %q, want #4", got)
	}
}

// TestPlayedDigitEchoNotSent: a digit played to the phone (out of band
// or as an event) comes back in the capture as line echo; that echo is
// not the phone keying the digit, so it goes out neither as INFO
// (OnDigit) nor as an event, while a digit the phone keys after the
// echo has died still goes out.
func TestPlayedDigitEchoNotSent(t *testing.T) {
	tests := []struct {
		name   string
		dtmfPT uint8
		info   bool
	}{
		{"info", 0, true},
		{"info-with-events", 101, true},
		{"events", 101, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var keys []byte
			// No canceller: the echo reaches the detector whole.
			sess := Session{Codec: PCMU, DTMFPT: tt.dtmfPT, Echo: EchoOpts{Off: true}}
			if tt.info {
				sess.OnDigit = func(k byte, d time.Duration) { keys = append(keys, k) }
			}
			later := dtmfSignal(t, "3", 100*time.Millisecond, 150*time.Millisecond, 200*time.Millisecond)
			_, events := captureOnWire(t, nil, sess, func(s *Stream) {
				quiet := make([]int16, pcm.FrameSamples)
				for range 20 { // past the call's first 100 ms
					s.Send(quiet)
				}
				if !s.PlayDigit('5', 160*time.Millisecond) {
					t.Fatal("PlayDigit refused 5")
				}
				// The phone's line returns what it hears 6 dB down, one
				// frame late, for 400 ms.
				play := make([]int16, pcm.FrameSamples)
				echo := make([]int16, pcm.FrameSamples)
				for range 40 {
					s.Send(echo)
					s.Receive(play)
					for i, v := range play {
						echo[i] = v / 2
					}
				}
				for off := 0; off+pcm.FrameSamples <= len(later); off += pcm.FrameSamples {
					s.Send(later[off : off+pcm.FrameSamples])
				}
			})
			var sent []byte
			for _, e := range events {
				if e.end && (len(sent) == 0 || sent[len(sent)-1] != dtmfEventKeys[e.code]) {
					sent = append(sent, dtmfEventKeys[e.code])
				}
			}
			if tt.info {
				sent = keys
			}
			if string(sent) != "3" {
				t.Errorf("digits sent %q, want only the keyed 3", sent)
			}
		})
	}
}
