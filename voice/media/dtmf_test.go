package media

import (
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// dtmfSignal is lead of silence, digit key for on, then tail of silence,
// as 8 kHz samples at -10 dBm0.
func dtmfSignal(t testing.TB, key string, lead, on, tail time.Duration) []int16 {
	t.Helper()
	var g dsp.DTMFGen
	if err := g.Queue(key, on, 0, -10); err != nil {
		t.Fatal(err)
	}
	n := func(d time.Duration) int { return int(d / (time.Second / pcm.SampleRate)) }
	x := make([]int16, n(lead)+n(on)+n(tail))
	g.Fill(x[n(lead) : n(lead)+n(on)])
	return x
}

type wireEvent struct {
	code      uint8
	end, mark bool
	dur       uint16
	ts        uint32
}

// sendToWire sends signal through a stream (telephone-event PT dtmfPT, 0 =
// none) to a plain socket and returns the decoded audio and the events.
func sendToWire(t *testing.T, signal []int16, dtmfPT uint8) (audio []int16, events []wireEvent, st StreamStats) {
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
	a.Start(Session{Remote: wire.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, PT: 0, DTMFPT: dtmfPT})
	for off := 0; off+pcm.FrameSamples <= len(signal); off += pcm.FrameSamples {
		a.Send(signal[off : off+pcm.FrameSamples])
	}
	st = a.Stats()
	buf := make([]byte, 1500)
	var hdr rtp.Header
	lastSeq := -1
	for range st.PacketsSent {
		_ = wire.SetReadDeadline(time.Now().Add(time.Second))
		n, err := wire.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		hl, err := hdr.Unmarshal(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if lastSeq >= 0 && hdr.SequenceNumber != uint16(lastSeq+1) {
			t.Errorf("sequence %d after %d", hdr.SequenceNumber, lastSeq)
		}
		lastSeq = int(hdr.SequenceNumber)
		p := buf[hl:n]
		switch hdr.PayloadType {
		case 0:
			s := make([]int16, len(p))
			dsp.DecodeMulaw(s, p)
			audio = append(audio, s...)
		case dtmfPT:
			if len(p) != 4 {
				t.Fatalf("event payload %x", p)
			}
			events = append(events, wireEvent{code: p[0], end: p[1]&0x80 != 0, mark: hdr.Marker,
				dur: binary.BigEndian.Uint16(p[2:]), ts: hdr.Timestamp})
		default:
			t.Fatalf("payload type %d", hdr.PayloadType)
		}
	}
	return audio, events, st
}

// TestDTMFSentAsEvents: a digit on the capture becomes RFC 4733 events
// (marker on the first, updates, the final packet three times with the E
// bit and the tone's duration) and is taken out of the audio, where a
// detector no longer finds it; without telephone-event it stays in band.
func TestDTMFSentAsEvents(t *testing.T) {
	for _, key := range []string{"7", "#", "D"} {
		t.Run(key, func(t *testing.T) {
			signal := dtmfSignal(t, key, 200*time.Millisecond, 120*time.Millisecond, 200*time.Millisecond)
			audio, events, st := sendToWire(t, signal, 101)
			if st.DTMFSent != 1 {
				t.Errorf("DTMFSent %d, want 1", st.DTMFSent)
			}
			if len(events) < 5 {
				t.Fatalf("%d event packets: %+v", len(events), events)
			}
			code := uint8(eventCode(key[0]))
			for i, e := range events {
				if e.code != code || e.ts != events[0].ts {
					t.Errorf("event %d: %+v, want code %d ts %d", i, e, code, events[0].ts)
				}
				if e.mark != (i == 0) {
					t.Errorf("event %d: marker %v", i, e.mark)
				}
				if want := i >= len(events)-3; e.end != want {
					t.Errorf("event %d: end %v, want %v", i, e.end, want)
				}
			}
			// The tone lasted 120 ms: detected ~30 ms in, ended ~20 ms
			// after it stopped.
			if d := events[len(events)-1].dur; d < 80*8 || d > 140*8 {
				t.Errorf("final duration %d samples (%v ms), want about 90-120 ms", d, d/8)
			}
			if got := dsp.NewDTMFDetector().Process(audio, nil); len(got) != 0 {
				t.Errorf("in-band DTMF %q still in the sent audio", got)
			}
		})
	}
	t.Run("any-onset-phase", func(t *testing.T) {
		// The digit may start anywhere in a frame and in a packet: the
		// in-band leak stays below what a detector accepts.
		for k := range 16 {
			lead := 200*time.Millisecond + time.Duration(k)*1250*time.Microsecond
			signal := dtmfSignal(t, "5", lead, 100*time.Millisecond, 200*time.Millisecond)
			audio, events, _ := sendToWire(t, signal, 101)
			if len(events) == 0 {
				t.Fatalf("lead %v: no events", lead)
			}
			if got := dsp.NewDTMFDetector().Process(audio, nil); len(got) != 0 {
				t.Errorf("lead %v: in-band DTMF %q in the sent audio", lead, got)
			}
		}
	})
	t.Run("plain-tone-not-muted", func(t *testing.T) {
		tone := make([]int16, 8000)
		var ph float64
		sine(tone, 1000, 8000, &ph)
		audio, events, _ := sendToWire(t, tone, 101)
		if len(events) != 0 {
			t.Fatalf("events for a 1 kHz tone: %+v", events)
		}
		for off := 0; off+pcm.FrameSamples <= len(audio); off += pcm.FrameSamples {
			var e float64
			for _, v := range audio[off : off+pcm.FrameSamples] {
				e += float64(v) * float64(v)
			}
			if e < 1e6 {
				t.Fatalf("frame at sample %d muted in a plain tone", off)
			}
		}
	})
	t.Run("dialing-tail-at-start", func(t *testing.T) {
		// The # that ended dialing still sounds as the call starts:
		// muted, not sent as an event.
		signal := dtmfSignal(t, "#", 0, 80*time.Millisecond, 300*time.Millisecond)
		audio, events, st := sendToWire(t, signal, 101)
		if len(events) != 0 || st.DTMFSent != 0 {
			t.Errorf("dialing tail sent as events: %+v", events)
		}
		if got := dsp.NewDTMFDetector().Process(audio, nil); len(got) != 0 {
			t.Errorf("in-band DTMF %q in the sent audio", got)
		}
	})
	t.Run("no-telephone-event", func(t *testing.T) {
		signal := dtmfSignal(t, "7", 200*time.Millisecond, 120*time.Millisecond, 200*time.Millisecond)
		audio, events, st := sendToWire(t, signal, 0)
		if len(events) != 0 || st.DTMFSent != 0 {
			t.Fatalf("events sent without telephone-event: %+v", events)
		}
		if got := string(dsp.NewDTMFDetector().Process(audio, nil)); got != "7" {
			t.Fatalf("in-band audio carries %q, want the digit 7", got)
		}
	})
}

// TestDTMFReceivedPlayed: events sent by a far end (a start, updates, three
// final packets, between silent audio packets) are played to the phone as
// the digit's tones, and counted; the events' sequence numbers are not
// counted as lost audio.
func TestDTMFReceivedPlayed(t *testing.T) {
	b, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	far, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(b.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	b.Start(Session{Remote: netip.MustParseAddrPort("127.0.0.1:9"), Codec: PCMU, PT: 0, DTMFPT: 96})
	seq, ts := uint16(100), uint32(1000)
	send := func(pt uint8, mark bool, pts uint32, payload []byte) {
		h := rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: pts, SSRC: 42, Marker: mark}
		seq++
		pkt, _ := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
		if _, err := far.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	silence := make([]byte, 160)
	for i := range silence {
		silence[i] = 0xff // µ-law zero
	}
	var heard []int16
	out := make([]int16, pcm.FrameSamples)
	evTS := uint32(0)
	for frame := range 80 { // 800 ms
		if frame%2 == 0 {
			n := frame / 2
			switch {
			case n >= 10 && n < 16: // 120 ms of event '5' (code 5)
				if n == 10 {
					evTS = ts
				}
				dur := uint16((n - 9) * 160)
				send(96, n == 10, evTS, []byte{5, 10, byte(dur >> 8), byte(dur)})
			case n >= 16 && n < 19:
				send(96, false, evTS, []byte{5, 0x80 | 10, 0x03, 0xc0}) // end, 960 samples
			}
			send(0, false, ts, silence)
			ts += 160
		}
		time.Sleep(2 * time.Millisecond) // the reader goroutine queues them
		b.Receive(out)
		heard = append(heard, out...)
	}
	if got := string(dsp.NewDTMFDetector().Process(heard, nil)); got != "5" {
		t.Fatalf("phone heard DTMF %q, want 5", got)
	}
	st := b.Stats()
	if st.DTMFReceived != 1 || st.Lost != 0 {
		t.Fatalf("DTMFReceived %d (want 1), lost %d (want 0)", st.DTMFReceived, st.Lost)
	}
}

// TestDTMFCallAllocatesNothing runs a call with telephone-event both ways
// and a digit every 400 ms: detection, events, muting and playing the
// received events allocate nothing.
func TestDTMFCallAllocatesNothing(t *testing.T) {
	a, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	a.Start(Session{Remote: b.LocalAddr(), Codec: PCMU, PT: 0, DTMFPT: 101})
	b.Start(Session{Remote: a.LocalAddr(), Codec: PCMU, PT: 0, DTMFPT: 101})
	signal := dtmfSignal(t, "1", 200*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond)
	out := make([]int16, pcm.FrameSamples)
	off := 0
	step := func() {
		a.Send(signal[off : off+pcm.FrameSamples])
		off = (off + pcm.FrameSamples) % len(signal)
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond) // the reader queues what a sent
		b.Receive(out)
	}
	for range 200 {
		step()
	}
	if n := testing.AllocsPerRun(2000, step); n != 0 {
		t.Fatalf("%v allocations per frame", n)
	}
	if sent, recv := a.Stats().DTMFSent, b.Stats().DTMFReceived; sent < 5 || recv < sent*3/4 {
		t.Fatalf("sent %d, received %d events (b: %+v)", a.Stats().DTMFSent, b.Stats().DTMFReceived, b.Stats())
	}
}

// FuzzDTMFReceive feeds arbitrary telephone-event payloads (outside input)
// to a stream and plays frames: no panic, nothing played beyond a digit.
func FuzzDTMFReceive(f *testing.F) {
	f.Add([]byte{5, 10, 0, 160}, uint32(1000))
	f.Add([]byte{5, 0x8a, 3, 0xc0}, uint32(1000))
	f.Add([]byte{16, 10, 0, 160}, uint32(0))
	f.Add([]byte{1}, uint32(7))
	f.Fuzz(func(t *testing.T, payload []byte, ts uint32) {
		var s Stream
		s.sess.DTMFPT = 101
		s.dtmf.reset()
		out := make([]int16, pcm.FrameSamples)
		for i := range 3 {
			s.dtmfReceive(payload, ts+uint32(i%2)*160)
			s.dtmfPlay(out)
		}
	})
}

// TestDTMFReceivedBackToBack: a second event that begins while the first
// one's tone still plays (the same key twice, its end and the next start
// close together) is played after a pause, so the phone hears two keys.
func TestDTMFReceivedBackToBack(t *testing.T) {
	s, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start(Session{Remote: netip.MustParseAddrPort("127.0.0.1:9"), Codec: PCMU, PT: 0, DTMFPT: 96})
	out := make([]int16, pcm.FrameSamples)
	var heard []int16
	play := func(frames int) {
		for range frames {
			clear(out)
			s.dtmfPlay(out)
			heard = append(heard, out...)
		}
	}
	for _, ts := range []uint32{1000, 2000} {
		s.dtmfReceive([]byte{5, 10, 0, 160}, ts)
		play(4)
		s.dtmfReceive([]byte{5, 0x80 | 10, 0x02, 0x80}, ts) // end, 640 samples
	}
	play(40)
	if got := string(dsp.NewDTMFDetector().Process(heard, nil)); got != "55" {
		t.Fatalf("phone heard DTMF %q, want 55", got)
	}
}

// TestLooksLikeDTMF: the one-pass test decides as eight toneShare calls
// do, on digits, single tones, speech-like noise and silence.
func TestLooksLikeDTMF(t *testing.T) {
	slow := func(x []int16) bool {
		var lo, hi float64
		for i, c := range dtmfCoef {
			if i < 4 {
				lo = max(lo, toneShare(x, c))
			} else {
				hi = max(hi, toneShare(x, c))
			}
		}
		return lo > 0.15 && hi > 0.15 && lo+hi > 0.6
	}
	var frames [][]int16
	var yes int
	for _, key := range "0123456789*#ABCD" {
		x := dtmfSignal(t, string(key), 0, 100*time.Millisecond, 0)
		for f := 0; f+pcm.FrameSamples <= len(x); f += pcm.FrameSamples {
			frames = append(frames, x[f:f+pcm.FrameSamples])
		}
	}
	var g dsp.ToneGen
	for _, hz := range []float64{350, 440, 697, 1209, 1000, 2100} {
		x := make([]int16, pcm.FrameSamples)
		g.PlayFreqs([]float64{hz}, -10)
		g.Fill(x)
		frames = append(frames, x)
	}
	seed := uint32(1)
	for range 200 {
		x := make([]int16, pcm.FrameSamples)
		for i := range x {
			seed = seed*1664525 + 1013904223
			x[i] = int16(seed>>16) >> uint(seed%9)
		}
		frames = append(frames, x)
	}
	frames = append(frames, make([]int16, pcm.FrameSamples))
	for i, x := range frames {
		got, want := looksLikeDTMF(x), slow(x)
		if got != want {
			t.Fatalf("frame %d: looksLikeDTMF %v, toneShare says %v", i, got, want)
		}
		if got {
			yes++
		}
	}
	if yes < 16*9 {
		t.Fatalf("only %d of the digits' frames look like DTMF", yes)
	}
}
