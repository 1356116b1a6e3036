package media

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/dsp"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

func newPair(t *testing.T, codec Codec) (a, b *Stream) {
	t.Helper()
	return newPairEcho(t, codec, EchoOpts{})
}

// newPairEcho is newPair with the streams' echo options.
func newPairEcho(t *testing.T, codec Codec, echo EchoOpts) (a, b *Stream) {
	t.Helper()
	return newPairOpts(t, codec, echo, StreamOpts{})
}

// readerModes are the ways a stream can read its socket.
var readerModes = []struct {
	name string
	opts StreamOpts
}{{"polled", StreamOpts{}}, {"reader", StreamOpts{Reader: true}}}

// newPairOpts is newPairEcho with the streams' options.
func newPairOpts(t *testing.T, codec Codec, echo EchoOpts, opts StreamOpts) (a, b *Stream) {
	t.Helper()
	var err error
	if a, err = NewStreamWith(loopback, opts); err != nil {
		t.Fatal(err)
	}
	if b, err = NewStreamWith(loopback, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	pt := staticPT(codec)
	a.Start(Session{Remote: b.LocalAddr(), Codec: codec, PT: pt, Echo: echo})
	b.Start(Session{Remote: a.LocalAddr(), Codec: codec, PT: pt, Echo: echo})
	return a, b
}

// bindPair binds two unstarted streams on loopback, a with aOpts and b
// with the defaults, closed when the test ends.
func bindPair(t *testing.T, aOpts StreamOpts) (a, b *Stream) {
	t.Helper()
	var err error
	if a, err = NewStreamWith(loopback, aOpts); err != nil {
		t.Fatal(err)
	}
	if b, err = NewStream(loopback); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// staticPT is a codec's static RTP payload type (RFC 3551).
func staticPT(c Codec) uint8 {
	switch c {
	case PCMA:
		return 8
	case G722:
		return dsp.G722PayloadType
	}
	return 0
}

func sine(buf []int16, hz, amp float64, phase *float64) {
	for i := range buf {
		buf[i] = int16(amp * math.Sin(*phase))
		*phase += 2 * math.Pi * hz / pcm.SampleRate
	}
}

// TestStreamCarriesAudio sends a tone each way in real time and checks what
// comes out of the other end's jitter buffer: its frequency and level (the
// tones lie in every codec's passband; G.722 goes through the 8 → 16 → 8 kHz
// resamplers as well). The streams have no line, so no echo canceller:
// each one's capture is a tone unrelated to what it plays.
func TestStreamCarriesAudio(t *testing.T) {
	for _, mode := range readerModes {
		for _, codec := range []Codec{PCMU, PCMA, G722} {
			t.Run(mode.name+"/"+codec.String(), func(t *testing.T) { testStreamCarriesAudio(t, codec, mode.opts) })
		}
	}
}

func testStreamCarriesAudio(t *testing.T, codec Codec, opts StreamOpts) {
	a, b := newPairOpts(t, codec, EchoOpts{Off: true}, opts)
	capA, heardA, heardB := talkBothWays(a, b, 100, 8000)
	if tones := dsp.DominantTones(heardB[len(heardB)-4000:], 2); len(tones) != 1 || math.Abs(tones[0]-700) > 2 {
		t.Errorf("b heard %v, want 700 Hz", tones)
	}
	if tones := dsp.DominantTones(heardA[len(heardA)-4000:], 2); len(tones) != 1 || math.Abs(tones[0]-1300) > 2 {
		t.Errorf("a heard %v, want 1300 Hz", tones)
	}
	// Sent at 8000 peak: −15.2 dBFS (RMS, full-scale sine 0 dB).
	want := dsp.LevelDBFS(capA)
	for name, heard := range map[string][]int16{"a": heardA, "b": heardB} {
		if got := dsp.LevelDBFS(heard[len(heard)-4000:]); math.Abs(got-want) > 0.5 {
			t.Errorf("%s heard %.2f dBFS, want %.2f ± 0.5", name, got, want)
		}
	}
	st := a.Stats()
	if st.PacketsSent != 50 || st.PacketsReceived < 45 {
		t.Errorf("stats %+v: want 50 sent, ~50 received", st)
	}
}

// talkBothWays runs frames of a call in real time, a sending 700 Hz and b
// 1300 Hz at peak amp, and returns a's last captured frame and what each
// side heard.
func talkBothWays(a, b *Stream, frames int, amp float64) (capA, heardA, heardB []int16) {
	capA, capB := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	outA, outB := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var pa, pb float64
	tick := time.NewTicker(pcm.FrameDuration)
	defer tick.Stop()
	for range frames {
		<-tick.C
		sine(capA, 700, amp, &pa)
		sine(capB, 1300, amp, &pb)
		a.Send(capA)
		b.Send(capB)
		a.Receive(outA)
		b.Receive(outB)
		heardA = append(heardA, outA...)
		heardB = append(heardB, outB...)
	}
	return capA, heardA, heardB
}

// TestStreamStopsAndRestarts: after Stop nothing is sent or played; a new
// Start works with a new SSRC.
func TestStreamStopsAndRestarts(t *testing.T) {
	a, b := newPair(t, PCMU)
	frame := make([]int16, pcm.FrameSamples)
	a.Stop()
	a.Send(frame)
	a.Send(frame)
	if a.Stats().PacketsSent != 0 {
		t.Fatal("stopped stream sent")
	}
	out := make([]int16, pcm.FrameSamples)
	for i := range out {
		out[i] = 1
	}
	a.Receive(out)
	for _, v := range out {
		if v != 0 {
			t.Fatal("stopped stream played audio")
		}
	}
	a.Start(Session{Remote: b.LocalAddr(), Codec: PCMU, PT: 0})
	a.Send(frame)
	a.Send(frame)
	if a.Stats().PacketsSent != 1 {
		t.Fatalf("sent %d packets after restart, want 1", a.Stats().PacketsSent)
	}
}

// TestSteadyCallAllocatesNothing runs 5000 frames of a call both ways —
// send, socket, reader, ring, jitter buffer, decode — and counts allocations.
func TestSteadyCallAllocatesNothing(t *testing.T) {
	for _, mode := range readerModes {
		for _, codec := range []Codec{PCMA, G722} {
			t.Run(mode.name+"/"+codec.String(), func(t *testing.T) { steadyCallAllocatesNothing(t, codec, mode.opts) })
		}
	}
}

func steadyCallAllocatesNothing(t *testing.T, codec Codec, opts StreamOpts) {
	a, b := newPairOpts(t, codec, EchoOpts{}, opts)
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var ph float64
	sine(frame, 1000, 8000, &ph)
	step := func() {
		a.Send(frame)
		b.Send(frame)
		// AllocsPerRun runs with GOMAXPROCS=1: let the socket readers run,
		// as the loop's frame wait does in the product.
		runtime.Gosched()
		a.Receive(out)
		b.Receive(out)
	}
	for range 200 { // warm up: sockets, ring, jitter buffer sync
		step()
	}
	if n := testing.AllocsPerRun(5000, step); n != 0 {
		t.Fatalf("%v allocations per frame in a steady call", n)
	}
	if a.Stats().PacketsReceived == 0 || b.Stats().PacketsReceived == 0 {
		t.Fatal("no packets flowed")
	}
}

type countChan struct {
	ticks int
	last  time.Duration
}

func (c *countChan) Tick(now time.Duration, capture, playout []int16) {
	c.ticks++
	c.last = now
	copy(playout, capture)
}

// TestLoopRunsChannelsAndCommands drives the loop on a gated virtual clock.
func TestLoopRunsChannelsAndCommands(t *testing.T) {
	clock := &simpcm.VirtualClock{}
	hw := simpcm.New(simpcm.Opts{Slots: 4, Clock: clock})
	l := NewLoop(hw, LoopOpts{QueueLen: 2})
	ch := &countChan{}
	if err := l.Add(1, ch); err != nil {
		t.Fatal(err)
	}
	if err := l.Add(1, ch); err == nil {
		t.Fatal("second channel on one slot accepted")
	}
	if err := l.Add(9, ch); err == nil {
		t.Fatal("slot outside the highway accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock.Allow(0)
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	if err := clock.Step(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if ch.ticks != 10 || ch.last != 9*pcm.FrameDuration {
		t.Fatalf("ticks %d last %v", ch.ticks, ch.last)
	}
	ran := false
	if err := l.Do(func() { ran = true }); err != nil {
		t.Fatal(err)
	}
	_ = l.Do(func() {})
	if err := l.Do(func() {}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third command in a queue of 2: %v", err)
	}
	if err := clock.Step(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Fatal("command did not run")
	}
	if st := l.Stats(); !st.Running || st.Ticks != 11 || st.Late != 0 {
		t.Fatalf("stats %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := l.Do(func() {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Do after stop: %v", err)
	}
}

// BenchmarkStreamFrame is the per-frame cost of one channel both ways:
// encode+send every other frame, drain+decode+playout every frame.
func BenchmarkStreamFrame(b *testing.B) {
	a, c := newPair(&testing.T{}, PCMU)
	defer a.Close()
	defer c.Close()
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		a.Send(frame)
		c.Receive(out)
	}
}

// BenchmarkStreamFrameG722 is BenchmarkStreamFrame with G.722: the 8 → 16 kHz
// converter and encoder on send, decoder and 16 → 8 kHz converter on receive.
func BenchmarkStreamFrameG722(b *testing.B) {
	a, c := newPair(&testing.T{}, G722)
	defer a.Close()
	defer c.Close()
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var ph float64
	sine(frame, 1000, 8000, &ph)
	b.ReportAllocs()
	for b.Loop() {
		a.Send(frame)
		c.Receive(out)
	}
}

// TestG722Wire: a G.722 stream sends payload type 9, 160 bytes per 20 ms
// packet and timestamps advancing by 160 (the 8000 Hz RTP clock of RFC
// 3551, although the audio is 16 kHz), and the payload is G.722 of the tone.
func TestG722Wire(t *testing.T) {
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
	a.Start(Session{Remote: wire.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: G722, PT: dsp.G722PayloadType})
	frame := make([]int16, pcm.FrameSamples)
	var ph float64
	var dec dsp.G722Decoder
	var wide []int16
	var lastTS uint32
	buf := make([]byte, 1500)
	for i := range 20 {
		for range 2 {
			sine(frame, 1000, 8000, &ph)
			a.Send(frame)
		}
		_ = wire.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := wire.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if p.PayloadType != dsp.G722PayloadType || len(p.Payload) != 160 {
			t.Fatalf("packet %d: payload type %d, %d bytes; want 9, 160", i, p.PayloadType, len(p.Payload))
		}
		if i > 0 && p.Timestamp-lastTS != 160 {
			t.Fatalf("packet %d: timestamp advanced by %d, want 160", i, p.Timestamp-lastTS)
		}
		lastTS = p.Timestamp
		out := make([]int16, 2*len(p.Payload))
		wide = append(wide, out[:dec.Decode(out, p.Payload)]...)
	}
	// The 16 kHz decode holds the 1 kHz tone: its zero crossings.
	cross := 0
	tail := wide[len(wide)/2:]
	for i := 1; i < len(tail); i++ {
		if (tail[i-1] < 0) != (tail[i] < 0) {
			cross++
		}
	}
	if want := 2 * 1000 * len(tail) / dsp.G722SampleRate; cross < want-2 || cross > want+2 {
		t.Errorf("%d zero crossings in the decoded 16 kHz audio, want %d (1 kHz)", cross, want)
	}
}
