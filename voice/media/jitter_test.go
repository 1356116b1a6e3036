package media

import (
	"math"
	"math/rand/v2"
	"net"
	"sort"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// simPkt is one packet of the simulated far end: 20 ms of a ramp whose
// sample values are the sender's sample index, so the output shows what was
// played, skipped or repeated.
type simPkt struct {
	seq uint16
	ts  uint32
	at  int64 // arrival, in samples of our clock
	idx int   // sender sample index of the first sample
}

// netSim describes the network and the far sender.
type netSim struct {
	packets  int
	clock    float64 // sender clock rate relative to ours (1.005 = 0.5 % fast)
	jitter   int64   // uniform extra delay 0..jitter samples
	loss     float64 // probability a packet is lost
	dup      bool    // every packet arrives twice
	reorder  bool    // pairs of packets arrive swapped
	jumpAt   int     // packet index where the sender's timestamps jump (0 = never)
	jumpBy   uint32
	maxDelay int32
	// spikeEvery > 0 delays every spikeEvery-th packet by spike samples
	// (a sender or network that is late now and then).
	spikeEvery int
	spike      int64
}

func (n netSim) run(t *testing.T) (j *jitterBuffer, out []int16, miss int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var pkts []simPkt
	ts := uint32(12345)
	for i := range n.packets {
		if n.jumpAt > 0 && i == n.jumpAt {
			ts += n.jumpBy
		}
		p := simPkt{seq: uint16(1000 + i), ts: ts, idx: i * 160}
		p.at = int64(float64(i*160)/n.clock) + 40
		if n.jitter > 0 {
			p.at += r.Int64N(n.jitter + 1)
		}
		if n.spikeEvery > 0 && i > 0 && i%n.spikeEvery == 0 {
			p.at += n.spike
		}
		ts += 160
		if n.loss > 0 && r.Float64() < n.loss {
			continue
		}
		pkts = append(pkts, p)
		if n.dup {
			d := p
			d.at += 3
			pkts = append(pkts, d)
		}
	}
	if n.reorder {
		for i := 0; i+1 < len(pkts); i += 2 {
			pkts[i].at, pkts[i+1].at = pkts[i+1].at+1, pkts[i].at
		}
	}
	sort.SliceStable(pkts, func(a, b int) bool { return pkts[a].at < pkts[b].at })
	j = &jitterBuffer{maxDelay: n.maxDelay}
	j.reset()
	frame := make([]int16, pcm.FrameSamples)
	flags := make([]bool, pcm.FrameSamples)
	next := 0
	last := pkts[len(pkts)-1].at
	for now := int64(0); now <= last+160; now += pcm.FrameSamples {
		j.clock(now)
		for next < len(pkts) && pkts[next].at <= now {
			p := pkts[next]
			next++
			if j.arrive(p.seq, p.ts, 160, p.at) {
				for k := range uint32(160) {
					j.put(p.ts+k, int16((p.idx+int(k))%30000))
				}
			}
		}
		miss += j.play(frame, flags)
		out = append(out, frame...)
	}
	return j, out, miss
}

// steps counts how the output ramp advances: +1 is normal playout, +2 a
// slipped sample, anything else a jump, repeat or concealment.
func steps(out []int16) (normal, slips, other int) {
	for i := 1; i < len(out); i++ {
		d := int(out[i]) - int(out[i-1])
		switch {
		case out[i] == 0 || out[i-1] == 0:
		case d == 1 || d == -29999:
			normal++
		case d == 2 || d == -29998:
			slips++
		default:
			other++
		}
	}
	return
}

func TestJitterBufferAdapts(t *testing.T) {
	tests := []struct {
		name string
		sim  netSim
		// checks
		maxMissPct   float64 // missing samples after the first second, percent
		maxLevel     int32   // delay at the end, samples
		wantSlipped  bool
		wantStretch  bool
		wantDups     uint64
		wantResyncs  uint64
		maxOtherJump int
	}{
		{name: "steady", sim: netSim{packets: 500, clock: 1}, maxLevel: 160, wantSlipped: true, wantResyncs: 1},
		{name: "reorder", sim: netSim{packets: 500, clock: 1, reorder: true}, maxLevel: 320, wantResyncs: 1, maxOtherJump: 4},
		{name: "duplicates", sim: netSim{packets: 500, clock: 1, dup: true}, maxLevel: 160, wantDups: 500, wantResyncs: 1},
		{name: "jitter 40 ms", sim: netSim{packets: 1000, clock: 1, jitter: 320}, maxMissPct: 3, maxLevel: 1000, wantResyncs: 1, maxOtherJump: 40},
		{name: "sender 0.5% fast", sim: netSim{packets: 1500, clock: 1.005}, maxLevel: 300, wantSlipped: true, wantResyncs: 1},
		{name: "sender 0.5% slow", sim: netSim{packets: 1500, clock: 0.995}, maxMissPct: 1, maxLevel: 300, wantStretch: true, wantResyncs: 1, maxOtherJump: 40},
		{name: "timestamp jump", sim: netSim{packets: 500, clock: 1, jumpAt: 200, jumpBy: 1_000_000}, maxLevel: 160, wantResyncs: 2, maxOtherJump: 2},
		{name: "loss 5%", sim: netSim{packets: 1000, clock: 1, loss: 0.05}, maxMissPct: 8, maxLevel: 160, wantResyncs: 1, maxOtherJump: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, out, _ := tt.sim.run(t)
			rest := out[pcm.SampleRate:]
			missing := 0
			for _, v := range rest {
				if v == 0 {
					missing++
				}
			}
			pct := 100 * float64(missing) / float64(len(rest))
			if pct > tt.maxMissPct+0.5 {
				t.Errorf("%.2f%% of samples missing after the first second, want ≤ %.1f%%", pct, tt.maxMissPct)
			}
			_, _, other := steps(rest)
			if other > tt.maxOtherJump {
				t.Errorf("%d discontinuities in the played ramp, want ≤ %d", other, tt.maxOtherJump)
			}
			// The level at the end of the run (the last packets were
			// played out): check the delay seen mid-run instead.
			if j.slipped > 0 != tt.wantSlipped && tt.wantSlipped {
				t.Errorf("slipped %d, want some", j.slipped)
			}
			if tt.wantStretch && j.stretched == 0 {
				t.Error("stretched 0, want some")
			}
			if j.dups != tt.wantDups {
				t.Errorf("dups %d, want %d", j.dups, tt.wantDups)
			}
			if j.resyncs != tt.wantResyncs {
				t.Errorf("resyncs %d, want %d", j.resyncs, tt.wantResyncs)
			}
		})
	}
}

// TestJitterBufferHoldsAfterLatePacket: a sender that is 15 ms late every
// 3 s costs one concealed stretch, when it first happens; the buffer then
// keeps the delay that covers it instead of shrinking (slipping samples)
// and running dry again at each spike.
func TestJitterBufferHoldsAfterLatePacket(t *testing.T) {
	sim := netSim{packets: 1500, clock: 1, spikeEvery: 150, spike: 120}
	j, out, _ := sim.run(t)
	if j.stretched == 0 || j.stretched > 2*120 {
		t.Errorf("buffer grew by %d samples in all, want one spike's worth (≤ 240)", j.stretched)
	}
	missing := 0
	rest := out[4*pcm.SampleRate:] // after the first spike
	for i := 1; i < len(rest); i++ {
		if rest[i] == 0 && rest[i-1] == 0 { // the ramp itself has single zeros
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d samples missing after the first spike, want 0", missing)
	}
}

// TestJitterBufferDelayBounded runs each scenario half way and checks the
// buffered delay: it converges to one frame plus what the jitter needs, and
// clock drift does not make it creep.
func TestJitterBufferDelayBounded(t *testing.T) {
	tests := []struct {
		name     string
		sim      netSim
		maxLevel int32
	}{
		{"steady converges to 10-20 ms", netSim{packets: 400, clock: 1}, 160 + 1},
		// A drifting sender's arrivals cross a frame boundary every 80
		// samples of drift: a frame more (fast) is buffered until it is
		// slipped away over the next seconds.
		{"fast sender does not creep", netSim{packets: 3000, clock: 1.002}, 160 + jbMinDelay},
		{"slow sender does not starve", netSim{packets: 3000, clock: 0.998}, 160 + jbMinDelay},
		{"jitter bounded by max", netSim{packets: 1000, clock: 1, jitter: 2400, maxDelay: 800}, 800 + 160},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := tt.sim
			sim.packets -= 10 // stop sending; the last arrivals set the level
			j, _, _ := sim.run(t)
			// run played everything out; replay the level bound through
			// the stats: the largest stretch must stay within max.
			if got := j.max(); got < jbMinDelay {
				t.Fatalf("max %d", got)
			}
			lvl := tt.sim.levelAt(t, tt.sim.packets*160*9/10)
			if lvl > tt.maxLevel {
				t.Errorf("delay %d samples (%.1f ms) at 90%% of the run, want ≤ %d", lvl, float64(lvl)/8, tt.maxLevel)
			}
		})
	}
}

// levelAt replays the simulation up to our sample clock `at` and returns
// the buffer level there, measured just before a frame plays.
func (n netSim) levelAt(t *testing.T, at int) int32 {
	t.Helper()
	m := n
	m.packets = at / 160
	r := rand.New(rand.NewPCG(1, 2))
	var pkts []simPkt
	ts := uint32(777)
	for i := range n.packets {
		p := simPkt{seq: uint16(i), ts: ts, idx: i * 160}
		p.at = int64(float64(i*160)/n.clock) + 40
		if n.jitter > 0 {
			p.at += r.Int64N(n.jitter + 1)
		}
		if n.spikeEvery > 0 && i > 0 && i%n.spikeEvery == 0 {
			p.at += n.spike
		}
		ts += 160
		pkts = append(pkts, p)
	}
	sort.SliceStable(pkts, func(a, b int) bool { return pkts[a].at < pkts[b].at })
	j := &jitterBuffer{maxDelay: n.maxDelay}
	j.reset()
	frame := make([]int16, pcm.FrameSamples)
	flags := make([]bool, pcm.FrameSamples)
	next := 0
	var lvl int32
	for now := int64(0); now <= int64(at); now += pcm.FrameSamples {
		j.clock(now)
		for next < len(pkts) && pkts[next].at <= now {
			p := pkts[next]
			next++
			if j.arrive(p.seq, p.ts, 160, p.at) {
				for k := range uint32(160) {
					j.put(p.ts+k, 1)
				}
			}
		}
		lvl = j.level()
		j.play(frame, flags)
	}
	return lvl
}

// TestStreamSSRCChangeMidCall: the far end changes SSRC, sequence numbers
// and timestamps in the middle of a call; audio resumes at once.
func TestStreamSSRCChangeMidCall(t *testing.T) {
	s, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	far, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	s.Start(Session{Remote: far.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, PT: 0})
	var ph float64
	pcmBuf := make([]int16, 160)
	pkt := make([]byte, 12+160)
	out := make([]int16, pcm.FrameSamples)
	var heard []int16
	h := rtp.Header{Version: 2, PayloadType: 0, SSRC: 1111, SequenceNumber: 100, Timestamp: 5000}
	for i := range 100 {
		if i == 50 {
			h.SSRC, h.SequenceNumber, h.Timestamp = 2222, 60000, 3_000_000_000
		}
		sine(pcmBuf, 800, 8000, &ph)
		hl, _ := h.MarshalTo(pkt)
		dsp.EncodeMulaw(pkt[hl:], pcmBuf)
		if _, err := far.Write(pkt[:hl+160]); err != nil {
			t.Fatal(err)
		}
		h.SequenceNumber++
		h.Timestamp += 160
		for range 2 {
			time.Sleep(time.Millisecond)
			s.Receive(out)
			heard = append(heard, out...)
		}
	}
	st := s.Stats()
	if st.SSRCChanges != 1 {
		t.Fatalf("ssrc changes %d", st.SSRCChanges)
	}
	after := heard[len(heard)-6000:]
	if tones := dsp.DominantTones(after, 2); len(tones) != 1 || math.Abs(tones[0]-800) > 3 {
		t.Fatalf("after the SSRC change heard %v", tones)
	}
	// Gaps: runs of 8 or more zero samples (a tone has isolated zeros).
	silent, run := 0, 0
	for _, v := range heard[len(heard)/2+400:] {
		if v == 0 {
			run++
			if run == 8 {
				silent += 8
			} else if run > 8 {
				silent++
			}
		} else {
			run = 0
		}
	}
	if silent > 160 {
		t.Fatalf("%d silent samples after the change: %+v", silent, st)
	}
}

// TestStreamComfortNoise: after an RFC 3389 packet the gap is filled with
// noise at its level instead of concealment; audio ends it.
func TestStreamComfortNoise(t *testing.T) {
	s, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	far, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	s.Start(Session{Remote: far.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, PT: 0})
	h := rtp.Header{Version: 2, PayloadType: 0, SSRC: 7, SequenceNumber: 1, Timestamp: 800}
	pkt := make([]byte, 12+160)
	send := func(pt uint8, payload []byte) {
		h.PayloadType = pt
		hl, _ := h.MarshalTo(pkt)
		n := copy(pkt[hl:], payload)
		if _, err := far.Write(pkt[:hl+n]); err != nil {
			t.Fatal(err)
		}
		h.SequenceNumber++
		h.Timestamp += 160
		time.Sleep(2 * time.Millisecond)
	}
	out := make([]int16, pcm.FrameSamples)
	silence := make([]byte, 160)
	for i := range silence {
		silence[i] = 0xff // µ-law zero
	}
	for range 5 {
		send(0, silence)
		s.Receive(out)
		s.Receive(out)
	}
	send(payloadCN, []byte{40}) // -40 dBov
	var heard []int16
	for range 30 {
		s.Receive(out)
		heard = append(heard, out...)
	}
	st := s.Stats()
	if st.ComfortNoise == 0 {
		t.Fatalf("no comfort noise played: %+v", st)
	}
	lvl := dsp.LevelDBFS(heard[len(heard)/2:])
	if lvl < -50 || lvl > -34 {
		t.Fatalf("comfort noise at %.1f dBFS, want about -40", lvl)
	}
}

// TestJitterBufferZeroJitterDelay: at zero jitter the delay from a packet's
// arrival to its first sample leaving settles within one frame (10 ms)
// whatever the phase between arrivals and frame boundaries — buffered
// samples short of a frame protect against nothing and are shed — and a
// sender late now and then still keeps the delay that covers it.
func TestJitterBufferZeroJitterDelay(t *testing.T) {
	tests := []struct {
		name     string
		phase    int64 // arrival offset before the next frame boundary, samples
		spike    int64 // every 100th packet (from the 6th) this much late
		scatter  int64 // each packet late by 0..scatter samples
		maxDelay int64 // samples, after the first 3 s
		minDelay int64
	}{
		// Within 1 ms of the boundary a frame more is kept.
		{"arrives just before the boundary", 2, 0, 0, pcm.FrameSamples + jbHysteresis, 0},
		{"mid-frame", 40, 0, 0, pcm.FrameSamples, 0},
		{"just after the boundary", 79, 0, 0, pcm.FrameSamples, 0},
		// Every 100th packet 3 ms late, the first while the buffer still
		// converges: arriving early in the frame the
		// phase covers it with no extra delay; arriving late in it the
		// buffer keeps 3 ms of slack.
		{"late by 3 ms now and then, early phase", 70, 24, 0, pcm.FrameSamples + 1, 70 - 24},
		{"late by 3 ms now and then, late phase", 10, 24, 0, pcm.FrameSamples + 24, 24},
		// The sender's clock scatters by up to 1 ms (a Go ticker): the
		// goal is one frame plus that.
		{"1 ms scatter, mid-frame", 40, 0, 8, pcm.FrameSamples + 8, 0},
		{"1 ms scatter, just after the boundary", 78, 0, 8, pcm.FrameSamples + 8, 0},
		// Arriving closer to the boundary than the scatter: the frame
		// after it covers the packets that cross it (no concealment).
		{"1 ms scatter, just before the boundary", 3, 0, 8, pcm.FrameSamples + 8, pcm.FrameSamples - 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &jitterBuffer{}
			j.reset()
			frame := make([]int16, pcm.FrameSamples)
			flags := make([]bool, pcm.FrameSamples)
			arrivals := map[uint32]int64{}
			var worst, least int64 = 0, 1 << 30
			missing := 0
			ts := uint32(999)
			next := int64(13*pcm.FrameSamples - tt.phase)
			seq := uint16(0)
			r := rand.New(rand.NewPCG(3, 4))
			lateBy := r.Int64N(tt.scatter + 1)
			for now := int64(0); now < 10*pcm.SampleRate; now += pcm.FrameSamples {
				j.clock(now)
				for ; next <= now; next += 160 {
					at := next + lateBy
					if tt.spike > 0 && seq%100 == 5 {
						at += tt.spike
					}
					if at > now {
						break // arrives at a later frame: left for then
					}
					if j.arrive(seq, ts, 160, at) {
						for k := range uint32(160) {
							j.put(ts+k, 1)
						}
					}
					arrivals[ts] = at
					lateBy = r.Int64N(tt.scatter + 1)
					seq++
					ts += 160
				}
				start := j.playTS
				if m := j.play(frame, flags); now >= 3*pcm.SampleRate {
					missing += m
				}
				for pts, at := range arrivals {
					if off := int32(pts - start); off >= 0 && off < pcm.FrameSamples {
						if now >= 3*pcm.SampleRate {
							d := now + int64(off) - at
							worst, least = max(worst, d), min(least, d)
						}
						delete(arrivals, pts)
					}
				}
			}
			if worst > tt.maxDelay || least < tt.minDelay {
				t.Errorf("delay %d..%d samples after 3 s, want %d..%d", least, worst, tt.minDelay, tt.maxDelay)
			}
			if missing > 0 {
				t.Errorf("%d samples missing after 3 s, want 0", missing)
			}
		})
	}
}

// BenchmarkJitterPlay is one frame's play-out from a buffer that holds it
// whole: a steady call's usual frame.
func BenchmarkJitterPlay(b *testing.B) {
	j := &jitterBuffer{}
	j.reset()
	frame := make([]int16, pcm.FrameSamples)
	flags := make([]bool, pcm.FrameSamples)
	ts, seq, now := uint32(7), uint16(0), int64(0)
	for b.Loop() {
		if now%160 == 0 {
			if j.arrive(seq, ts, 160, now) {
				for k := range uint32(160) {
					j.put(ts+k, int16(k))
				}
			}
			seq++
			ts += 160
		}
		j.clock(now)
		j.play(frame, flags)
		now += pcm.FrameSamples
	}
}
