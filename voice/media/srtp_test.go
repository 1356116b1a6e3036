package media

import (
	"bytes"
	"crypto/rand"
	"math"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

var allSuites = []string{SuiteAESCM128SHA1_80, SuiteAESCM128SHA1_32, SuiteAEADAES128GCM}

// cryptoPair makes the two ends' Crypto for suite with fresh keys.
func cryptoPair(t testing.TB, suite string) (a, b *Crypto) {
	t.Helper()
	ka, kb := make([]byte, 30), make([]byte, 30)
	_, _ = rand.Read(ka)
	_, _ = rand.Read(kb)
	var err error
	if a, err = NewCrypto(suite, ka, kb); err != nil {
		t.Fatal(err)
	}
	if b, err = NewCrypto(suite, kb, ka); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func newSRTPPair(t testing.TB, codec Codec, suite string) (a, b *Stream) {
	t.Helper()
	var err error
	if a, err = NewStream(loopback); err != nil {
		t.Fatal(err)
	}
	if b, err = NewStream(loopback); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	ca, cb := cryptoPair(t, suite)
	pt := staticPT(codec)
	a.Start(Session{Remote: b.LocalAddr(), Codec: codec, PT: pt, Crypto: ca, Echo: EchoOpts{Off: true}})
	b.Start(Session{Remote: a.LocalAddr(), Codec: codec, PT: pt, Crypto: cb, Echo: EchoOpts{Off: true}})
	return a, b
}

func TestNewCryptoErrors(t *testing.T) {
	k := make([]byte, 30)
	if _, err := NewCrypto("AES_256_CM_HMAC_SHA1_80", k, k); err == nil {
		t.Fatal("unknown suite accepted")
	}
	if _, err := NewCrypto(SuiteAESCM128SHA1_80, k[:20], k); err == nil {
		t.Fatal("short key accepted")
	}
}

// TestSRTPStreamCarriesAudio: tones both ways over every suite, and the
// bytes on the wire are not the clear G.711 the tone encodes to.
func TestSRTPStreamCarriesAudio(t *testing.T) {
	for _, suite := range allSuites {
		t.Run(suite, func(t *testing.T) {
			a, b := newSRTPPair(t, PCMU, suite)
			capA, capB := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			outA, outB := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			var heardA, heardB []int16
			var pa, pb float64
			for range 60 {
				sine(capA, 700, 8000, &pa)
				sine(capB, 1300, 8000, &pb)
				a.Send(capA)
				b.Send(capB)
				time.Sleep(2 * time.Millisecond)
				a.Receive(outA)
				b.Receive(outB)
				heardA = append(heardA, outA...)
				heardB = append(heardB, outB...)
			}
			if tones := dsp.DominantTones(heardB[len(heardB)-3200:], 2); len(tones) != 1 || math.Abs(tones[0]-700) > 2 {
				t.Errorf("b heard %v, want 700 Hz", tones)
			}
			if tones := dsp.DominantTones(heardA[len(heardA)-3200:], 2); len(tones) != 1 || math.Abs(tones[0]-1300) > 2 {
				t.Errorf("a heard %v, want 1300 Hz", tones)
			}
			if st := b.Stats(); st.AuthFailures != 0 || st.PacketsReceived < 25 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestSRTPWireIsEncrypted sniffs what a sends: the payload must not be the
// µ-law of the tone, and must carry the suite's tag.
func TestSRTPWireIsEncrypted(t *testing.T) {
	for _, suite := range allSuites {
		t.Run(suite, func(t *testing.T) {
			sniff, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(loopback))
			if err != nil {
				t.Fatal(err)
			}
			defer sniff.Close()
			a, err := NewStream(loopback)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			ca, _ := cryptoPair(t, suite)
			a.Start(Session{Remote: sniff.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, PT: 0, Crypto: ca})
			frame := make([]int16, pcm.FrameSamples)
			var ph float64
			var clear [160]byte
			sine(frame, 1000, 8000, &ph)
			a.Send(frame)
			dsp.EncodeMulaw(clear[:80], frame)
			sine(frame, 1000, 8000, &ph)
			a.Send(frame)
			dsp.EncodeMulaw(clear[80:], frame)
			buf := make([]byte, 1500)
			_ = sniff.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := sniff.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			var h rtp.Header
			hl, err := h.Unmarshal(buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			tag := map[string]int{SuiteAESCM128SHA1_80: 10, SuiteAESCM128SHA1_32: 4, SuiteAEADAES128GCM: 16}[suite]
			if n != hl+160+tag {
				t.Fatalf("packet %d bytes, want %d", n, hl+160+tag)
			}
			if bytes.Equal(buf[hl:hl+160], clear[:]) {
				t.Fatal("payload went out in the clear")
			}
		})
	}
}

// TestSRTPRefusesClearAndForged: clear RTP and packets under another key
// reach neither the jitter buffer nor the phone.
func TestSRTPRefusesClearAndForged(t *testing.T) {
	a, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	clearSender, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer clearSender.Close()
	forger, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	ca, _ := cryptoPair(t, SuiteAESCM128SHA1_80)
	_, cf := cryptoPair(t, SuiteAESCM128SHA1_80)
	a.Start(Session{Remote: clearSender.LocalAddr(), Codec: PCMU, PT: 0, Crypto: ca})
	clearSender.Start(Session{Remote: a.LocalAddr(), Codec: PCMU, PT: 0})
	forger.Start(Session{Remote: a.LocalAddr(), Codec: PCMU, PT: 0, Crypto: cf})
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var ph float64
	for range 40 {
		sine(frame, 1000, 8000, &ph)
		clearSender.Send(frame)
		forger.Send(frame)
	}
	deadline := time.Now().Add(2 * time.Second)
	for a.Stats().AuthFailures < 40 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for range 10 {
		a.Receive(out)
		for _, v := range out {
			if v != 0 {
				t.Fatalf("unauthenticated audio played: %+v", a.Stats())
			}
		}
	}
	if st := a.Stats(); st.AuthFailures != 40 || st.PacketsReceived != 0 {
		t.Fatalf("stats %+v: want 40 auth failures, nothing received", st)
	}
}

// TestSRTPSteadyCallAllocatesNothing: the SRTP path both ways (encrypt on
// the loop, decrypt in the reader) allocates nothing per frame.
func TestSRTPSteadyCallAllocatesNothing(t *testing.T) {
	if raceDetector {
		t.Skip("SKIP: allocation counts mean nothing under the race detector")
	}
	type run struct {
		codec Codec
		suite string
	}
	var runs []run
	for _, suite := range allSuites {
		runs = append(runs, run{PCMA, suite})
	}
	runs = append(runs, run{G722, allSuites[0]})
	for _, r := range runs {
		t.Run(r.codec.String()+"/"+r.suite, func(t *testing.T) {
			a, b := newSRTPPair(t, r.codec, r.suite)
			frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			var ph float64
			sine(frame, 1000, 8000, &ph)
			step := func() {
				a.Send(frame)
				b.Send(frame)
				runtime.Gosched()
				a.Receive(out)
				b.Receive(out)
			}
			for range 200 {
				step()
			}
			if n := testing.AllocsPerRun(3000, step); n != 0 {
				t.Fatalf("%v allocations per frame in a steady SRTP call", n)
			}
			if a.Stats().PacketsReceived == 0 || b.Stats().AuthFailures != 0 {
				t.Fatalf("a %+v b %+v", a.Stats(), b.Stats())
			}
		})
	}
}

// BenchmarkSRTPStreamFrame is BenchmarkStreamFrame with SRTP (AES_CM_128_HMAC_SHA1_80).
func BenchmarkSRTPStreamFrame(b *testing.B) {
	for _, suite := range allSuites {
		b.Run(suite, func(b *testing.B) {
			a, c := newSRTPPair(b, PCMU, suite)
			frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			b.ReportAllocs()
			for b.Loop() {
				a.Send(frame)
				c.Receive(out)
			}
		})
	}
}

// BenchmarkSRTPProtect is the crypto alone for one 20 ms G.711 packet:
// protect on our side and unprotect on the far side, in fixed buffers.
func BenchmarkSRTPProtect(b *testing.B) {
	for _, suite := range allSuites {
		b.Run(suite, func(b *testing.B) {
			ca, cb := cryptoPair(b, suite)
			h := rtp.Header{Version: 2, PayloadType: 0, SSRC: 42}
			var pkt [12 + 160]byte
			var enc, dec [12 + 160 + srtpOverhead]byte
			var eh, dh rtp.Header
			b.ReportAllocs()
			for b.Loop() {
				h.SequenceNumber++
				h.Timestamp += 160
				hl, _ := h.MarshalTo(pkt[:])
				out, err := ca.tx.EncryptRTP(enc[:0], pkt[:hl+160], &eh)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := cb.rxRTP.DecryptRTP(dec[:0], out, &dh); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
