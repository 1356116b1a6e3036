package media

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// Codec is an audio codec the stream carries.
type Codec uint8

// Codecs.
const (
	// PCMU is G.711 µ-law, static payload type 0.
	PCMU Codec = iota + 1
	// PCMA is G.711 A-law, static payload type 8.
	PCMA
	// G722 is G.722 at 64 kbit/s, static payload type 9: 16 kHz audio
	// whose RTP clock is 8000 (RFC 3551), so a 20 ms packet is 160 bytes
	// and advances the timestamp by 160, as G.711. The stream converts
	// between the loop's 8 kHz and the codec's 16 kHz with the half-band
	// resamplers of dsp (1.8 ms of delay each way).
	G722
)

// String returns the codec's SDP encoding name in lower case.
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "pcmu"
	case PCMA:
		return "pcma"
	case G722:
		return "g722"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// ParseCodec maps an encoding name ("pcmu", "PCMA") to a Codec.
func ParseCodec(name string) (Codec, error) {
	switch name {
	case "pcmu", "PCMU":
		return PCMU, nil
	case "pcma", "PCMA":
		return PCMA, nil
	case "g722", "G722":
		return G722, nil
	}
	return 0, fmt.Errorf("media: unsupported codec %q", name)
}

// errEncrypt is recorded when SRTP protection of an outgoing packet fails.
var errEncrypt = errors.New("media: srtp encryption failed")

// maxPTimeSamples bounds the samples per packet we send (ptime ≤ 60 ms).
const maxPTimeSamples = 480

// g722Chunk is how many G.722 bytes a received payload is decoded in at
// a time (16 kHz samples: twice that).
const g722Chunk = 160

// g722State is a stream's G.722 codec with its 8 ↔ 16 kHz converters,
// fixed storage, reset at each call's start.
type g722State struct {
	enc  dsp.G722Encoder
	dec  dsp.G722Decoder
	up   dsp.Upsampler2
	down dsp.Downsampler2
	// wide holds 16 kHz audio: a packet's worth on send, a chunk on receive.
	wide [2 * maxPTimeSamples]int16
}

func (g *g722State) reset() {
	g.enc.Reset()
	g.dec.Reset()
	g.up.Reset()
	g.down.Reset()
}

// encode writes the G.722 payload of n = len(pcm8) 8 kHz samples (n bytes).
func (g *g722State) encode(payload []byte, pcm8 []int16) {
	w := g.up.Process(g.wide[:], pcm8)
	g.enc.Encode(payload, g.wide[:w])
}

// decode turns a G.722 payload into len(payload) 8 kHz samples in out.
func (g *g722State) decode(out []int16, payload []byte) {
	for len(payload) > 0 {
		c := min(len(payload), g722Chunk)
		n := g.dec.Decode(g.wide[:2*c], payload[:c])
		m := g.down.Process(out[:c], g.wide[:n])
		clear(out[m:c])
		out, payload = out[c:], payload[c:]
	}
}

// Session describes one call's media as negotiated by SIP.
type Session struct {
	// Remote is where RTP goes.
	Remote netip.AddrPort
	// Codec is the negotiated codec and PT its payload type.
	Codec Codec
	PT    uint8
	// DTMFPT is the telephone-event payload type, 0 if none.
	DTMFPT uint8
	// PTime is the packet duration; 0 means 20 ms.
	PTime time.Duration
	// MaxDelay is the jitter buffer's largest delay; 0 means 200 ms.
	MaxDelay time.Duration
	// Crypto, when set, makes the stream SRTP: every packet sent is
	// encrypted and every packet received must authenticate (others are
	// dropped and counted in StreamStats.AuthFailures). Nil means clear RTP.
	Crypto *Crypto
	// Echo configures the line echo canceller and fax/modem pass-through
	// (echo.go); the zero value cancels with a 64 ms tail and switches to
	// pass-through on a fax or modem tone.
	Echo EchoOpts
	// TXGainDB is the gain on the line's audio sent to the network and
	// RXGainDB the gain on the network's audio played to the line, in dB
	// (MinGainDB..MaxGainDB, clamped); DTMF is detected before the TX gain
	// and regenerated after the RX gain, at its own level.
	TXGainDB, RXGainDB float64
	// Continue says the session goes on with the stream's current call
	// (early media that became the answer, a re-INVITE's new offer):
	// when the stream is active, its RTP source carries on — the same
	// SSRC, sequence numbers and timestamps continuing, RTCP's sender
	// counts kept — as RFC 3550 wants of one source, instead of a new
	// random start that a receiver keyed on the old one (baresip's
	// jitter buffer) would take for a stream of late packets and drop.
	// The echo canceller keeps what it has learnt of the line too, unless
	// Echo changes how it is set up.
	Continue bool
	// OnDigit, when set, takes the phone's DTMF digits instead of RFC 4733
	// events (SIP INFO relay): a detected digit is muted as with events
	// and reported with its length once its tone stops. It runs on the
	// loop goroutine and must not block.
	OnDigit func(key byte, d time.Duration)
}

// StreamStats are a stream's counters, readable from any goroutine.
type StreamStats struct {
	PacketsSent, PacketsReceived uint64
	// Dropped counts packets the reader could not queue (ring full), that
	// were not valid RTP, or that waited at a polled stream's socket while
	// the call's audio was not played for over 100 ms (held, a muted line).
	Dropped uint64
	// Late counts packets that arrived after their playout time.
	Late uint64
	// Concealed counts samples played as silence for lack of data while active.
	Concealed uint64
	// SSRCChanges counts changes of the far end's SSRC within a call.
	SSRCChanges uint64
	// SendErrors counts packets the socket refused; LastSendError is the latest reason.
	SendErrors    uint64
	LastSendError error
	// AuthFailures counts received packets dropped because they failed SRTP
	// authentication or replay checks (clear RTP on an SRTP call lands here).
	AuthFailures uint64
	// Duplicates counts packets received twice (dropped).
	Duplicates uint64
	// Lost counts packets never received: expected from the sequence
	// numbers minus received (RFC 3550 A.3), over the stream's life.
	Lost uint64
	// Slipped counts samples dropped to shrink the jitter buffer (excess
	// delay, a sender clock faster than ours); Stretched counts samples
	// of delay added when the buffer ran dry (late packets, a slower clock).
	Slipped, Stretched uint64
	// Resyncs counts restarts of the jitter buffer (new stream, SSRC
	// change, timestamp jump, run of late packets).
	Resyncs uint64
	// Jitter is the RFC 3550 interarrival jitter of received packets.
	Jitter time.Duration
	// BufferDelay is the jitter buffer's current delay (audio between
	// playout and the newest sample received).
	BufferDelay time.Duration
	// ComfortNoise counts samples of RFC 3389 comfort noise played.
	ComfortNoise uint64
	// DTMFSent and DTMFReceived count RFC 4733 telephone-events (digits)
	// sent and received.
	DTMFSent, DTMFReceived uint64
	// DTMFEchoes counts digits heard in the capture but not sent: taken
	// for the line's echo of what the far end played (the far end's own
	// digit, or its audio at the digit's frequencies).
	DTMFEchoes uint64
	// RTCPSent and RTCPReceived count RTCP compound packets; RTCPErrors
	// received ones that failed SRTCP authentication or did not parse.
	RTCPSent, RTCPReceived, RTCPErrors uint64
	// RTT is the round-trip time from the far end's last report about
	// our stream (0 until one came).
	RTT time.Duration
	// RemoteFractionLost and RemoteJitter are the far end's view of our
	// stream, from its last report (fraction 0..1 of its last interval);
	// RemoteLost its cumulative count of our packets lost.
	RemoteFractionLost float64
	RemoteLost         uint64
	RemoteJitter       time.Duration
	// Echo holds the current (or last) call's echo control figures.
	Echo EchoStats
}

// Stream is one channel's RTP endpoint: a UDP socket bound for the life of
// the gateway, read on the loop at each frame of a call (or by a reader
// goroutine: StreamOpts) into a fixed ring, and send/playout state owned
// by the loop goroutine. Start, Stop, Send and Receive must be
// called on the loop goroutine.
type Stream struct {
	conn rtpConn
	// rtcpConn is the RTCP socket on conn's port + 1 (rtcp.go).
	rtcpConn *net.UDPConn
	cname    []byte
	ring     packetRing
	// poll is set on a polled stream (the default: StreamOpts), which has no
	// reader goroutine; phdr is its header scratch for SRTP.
	poll *poller
	phdr rtp.Header
	wg   sync.WaitGroup

	accepting atomic.Bool
	closing   atomic.Bool
	realtime  atomic.Bool // the reader runs in the real-time class
	// rxc is the call's crypto for the reader goroutine (nil = clear RTP).
	rxc atomic.Pointer[Crypto]
	// txGain and rxGain are the call's gains (Session.TXGainDB, RXGainDB).
	txGain, rxGain gain
	// tap and remoteCap serve a packet capture (capture.go).
	tap       atomic.Pointer[streamTap]
	remoteCap remoteAddr

	// Loop-owned state.
	active    bool
	sess      Session
	ssrc      uint32
	seq       uint16
	ts        uint32
	first     bool
	perPacket int
	acc       [maxPTimeSamples]int16
	accN      int
	pkt       [12 + maxPTimeSamples]byte
	enc       [12 + maxPTimeSamples + srtpOverhead]byte
	ehdr      rtp.Header
	txc       *Crypto
	hdr       rtp.Header
	// batch, when set, holds each packet until the frame's others are
	// made (sendbatch.go): s.enc[:held] waits there (0: none).
	batch     *SendBatch
	held      int
	rhdr      rtp.Header
	farSSRC   uint32
	haveFar   bool
	jb        jitterBuffer
	decodeBuf [maxPacket]int16
	plc       dsp.PLC
	g722      g722State
	miss      [pcm.FrameSamples]bool
	conceal   [pcm.FrameSamples]int16
	cnLevel   int    // -dBov of the last RFC 3389 comfort noise packet; <0 = none
	cnSeed    uint32 // comfort noise generator state
	dtmf      dtmfState
	echo      echoState
	epoch     time.Time

	// RTCP, loop-owned (rtcp.go).
	rtcpRemote             netip.AddrPort
	latched                atomic.Uint64 // symmetric.go
	rtcpBuf                [rtcpMax]byte
	rtcpEnc                [rtcpMax + srtcpOverhead]byte
	rtcpHdr                rtcp.Header
	rtcpWait               int
	rtcpRand               uint32
	octets                 uint32
	rrExpected, rrReceived uint64
	// RTCP, written by the RTCP reader.
	ssrcPub, farSR, remoteFrac, remoteJitter   atomic.Uint32
	remoteLost                                 atomic.Uint32
	farSRAt, rttNS                             atomic.Int64
	rtcpSent, rtcpRecv, rtcpBad, rtcpAuthFails atomic.Uint64

	// Published copies of loop-owned jitter buffer figures.
	dups, lost, slipped, stretched, resyncs, cnSamples atomic.Uint64
	dtmfSent, dtmfRecv, dtmfEchoes                     atomic.Uint64
	jitterQ, bufLevel                                  atomic.Int64

	sent, received, dropped, late, concealed, ssrcChanges atomic.Uint64
	writeErrs, authFails                                  atomic.Uint64
	lastWriteErr                                          atomic.Pointer[error]
}

// NewStream binds a UDP socket on addr (port 0 picks one) with the default
// options. Close releases it.
func NewStream(addr netip.AddrPort) (*Stream, error) {
	return NewStreamWith(addr, StreamOpts{})
}

// StreamOpts configures NewStreamWith.
type StreamOpts struct {
	// Priority, when above 0, runs the RTP reader on its own OS thread in
	// the SCHED_FIFO class at that priority, waiting for packets in the
	// kernel (poll on that thread) rather than through Go's network
	// poller: a packet's arrival time is then taken when it arrives, not
	// when a busy Go scheduler gets round to it. Failure (no
	// CAP_SYS_NICE, not Linux) falls back to a reader goroutine.
	Priority int
	// Spare marks a stream that seldom carries a call (a port's second
	// call, for call waiting): its line echo canceller (84 000 bytes) is
	// made at its first call, on the loop goroutine, instead of now.
	// Other streams make it now, off the loop, so that a call's start
	// allocates nothing on the loop.
	Spare bool
	// Reader keeps a reader goroutine that waits for the socket in Go's
	// network poller, as every stream had before. By default (Linux, no
	// Priority) a stream is polled instead: each Receive of an active
	// stream reads, without blocking, what arrived since the last frame
	// (at most 64 datagrams), and the kernel stamps each datagram's
	// arrival for the jitter buffer, so a call costs no thread wake-up per
	// packet; between calls the socket is not read at all (Start discards
	// what waited); SRTP packets are decrypted by whoever ticks the
	// channel (the loop goroutine or its helper).
	Reader bool
	// Batch, when set, is the loop's SendBatch (Loop.SendBatch): the
	// stream's packets are sent with the frame's others rather than one
	// at a time. Set it only for a stream whose Send and Stop run on
	// that loop's goroutine or its workers.
	Batch *SendBatch
}

// NewStreamWith is NewStream with options.
func NewStreamWith(addr netip.AddrPort, o StreamOpts) (*Stream, error) {
	polled := o.Priority <= 0 && !o.Reader // where the system can (initPoll)
	conn, rtcpConn, err := listenPair(addr, polled)
	if err != nil {
		return nil, err
	}
	s := &Stream{conn: conn, rtcpConn: rtcpConn, cname: newCNAME(), epoch: time.Now(), cnLevel: -1, cnSeed: 22222, batch: o.Batch}
	if !o.Spare {
		s.echo.init()
	}
	s.wg.Add(1)
	go s.readRTCP()
	switch {
	case o.Priority > 0:
		s.wg.Add(1)
		go s.readRealtime(min(o.Priority, 99))
	case polled && s.initPoll():
	default:
		s.wg.Add(1)
		go s.read()
	}
	return s, nil
}

// LocalAddr returns the socket's address.
func (s *Stream) LocalAddr() netip.AddrPort {
	return s.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Close stops the reader and closes the socket.
func (s *Stream) Close() error {
	s.closing.Store(true)
	err := s.conn.Close()
	if e := s.rtcpConn.Close(); err == nil {
		err = e
	}
	s.wg.Wait()
	return err
}

// read is the RTP reader goroutine: it copies datagrams into the ring, and
// for SRTP calls authenticates and decrypts them first, so that neither the
// wait for the network nor the crypto of received packets runs on the loop.
func (s *Stream) read() {
	defer s.wg.Done()
	var scratch [maxPacket]byte
	var hdr rtp.Header
	for {
		// Read into scratch: whether the call is SRTP is decided after
		// the datagram arrived, never before the wait.
		n, from, err := s.conn.ReadFromUDPAddrPort(scratch[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.arrived(scratch[:n], &hdr, from, int64(time.Since(s.epoch)))
	}
}

// arrived queues one received datagram for the loop (decrypting it first
// on an SRTP call), at its arrival in nanoseconds since the stream's
// epoch; it runs on the reader goroutine, or for a polled stream in
// Receive.
func (s *Stream) arrived(b []byte, hdr *rtp.Header, from netip.AddrPort, at int64) {
	tap := s.tap.Load()
	if tap != nil && s.accepting.Load() {
		s.captureReceived(tap, b)
	}
	c := s.rxc.Load()
	limit := maxSlotPacket // what a slot holds
	if c != nil {
		limit += c.tag // decrypted into the slot
	}
	slot := s.ring.reserve()
	if slot == nil || !s.accepting.Load() || len(b) < 12 || len(b) > limit {
		if s.accepting.Load() {
			s.dropped.Add(1)
		}
		return
	}
	n := len(b)
	if c != nil {
		out, err := c.rxRTP.DecryptRTP(slot.data[:0], b, hdr)
		if err != nil || len(out) > len(slot.data) {
			s.authFails.Add(1)
			return
		}
		n = len(out)
		if tap != nil {
			s.captureDecrypted(tap, out)
		}
	} else {
		copy(slot.data[:], b)
	}
	slot.n = n
	slot.at = at
	slot.from = from
	s.ring.commit()
}

// Start begins a call's media with sess.
func (s *Stream) Start(sess Session) {
	s.sendHeld() // the last call's, to its remote
	if sess.PTime <= 0 {
		sess.PTime = 20 * time.Millisecond
	}
	s.sess = sess
	s.remoteCap.store(sess.Remote)
	s.perPacket = min(int(sess.PTime/(time.Second/pcm.SampleRate)), maxPTimeSamples)
	s.perPacket -= s.perPacket % pcm.FrameSamples
	if s.perPacket == 0 {
		s.perPacket = pcm.FrameSamples
	}
	cont := sess.Continue && s.active
	if !cont {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.ssrc = binary.BigEndian.Uint32(b[0:])
		s.seq = binary.BigEndian.Uint16(b[4:])
		s.ts = uint32(b[6])<<8 | uint32(b[7])
		s.first = true
		s.rtcpRand = s.ssrc
		s.rtcpWait = rtcpIntervalFrames / 2
		s.octets = 0
		s.ssrcPub.Store(s.ssrc)
	}
	s.rrExpected, s.rrReceived = 0, 0 // the jitter buffer's counts restart below
	s.accN = 0
	s.haveFar = false
	s.rtcpRemote = netip.AddrPortFrom(sess.Remote.Addr(), sess.Remote.Port()+1)
	s.farSRAt.Store(0)
	s.rttNS.Store(0)
	s.remoteFrac.Store(0)
	s.remoteLost.Store(0)
	s.remoteJitter.Store(0)
	s.jb.reset()
	s.jb.maxDelay = int32(sess.MaxDelay / (time.Second / pcm.SampleRate))
	s.plc.Reset()
	s.g722.reset()
	s.cnLevel = -1
	s.dtmf.reset()
	if !cont || !s.echo.carryOn(sess.Echo) {
		s.echo.start(sess.Echo)
	}
	s.txGain, s.rxGain = newGain(sess.TXGainDB), newGain(sess.RXGainDB)
	s.txc = sess.Crypto
	s.rxc.Store(sess.Crypto)
	if s.poll != nil {
		s.pollFlush()
	}
	s.ring.drain()
	s.active = true
	s.accepting.Store(true)
}

// Stop ends the call's media; the socket stays bound for the next call.
func (s *Stream) Stop() {
	s.sendHeld()
	s.active = false
	s.accepting.Store(false)
	s.txc = nil
	s.rxc.Store(nil)
	s.ring.drain()
	s.jb.reset()
}

// RealtimeReader reports whether the stream's reader runs on its own
// real-time thread (StreamOpts.Priority granted).
func (s *Stream) RealtimeReader() bool { return s.realtime.Load() }

// Active reports whether a call's media runs.
func (s *Stream) Active() bool { return s.active }

// Send takes one captured frame; every ptime it encodes and sends a packet.
func (s *Stream) Send(capture []int16) {
	if !s.active {
		return
	}
	s.rtcpTick()
	s.send(s.echo.cancel(capture))
}

// CancelEcho returns capture with the line echo taken out by the stream's
// canceller, as Send would: for a frame the caller mixes with other audio
// before SendCancelled (a conference). The result is the stream's buffer,
// valid until the next call.
func (s *Stream) CancelEcho(capture []int16) []int16 {
	if !s.active {
		return capture
	}
	return s.echo.cancel(capture)
}

// CancelEchoLinear is CancelEcho that also returns the frame with the echo
// subtracted by the canceller's linear filter only, before its non-linear
// processor: what a line supervisor must hear, since the non-linear
// processor suppresses a near-end tone quieter than the echo (an office's
// busy tone under the far end's voice). Both results are the stream's
// buffers (or capture), valid until the next call.
func (s *Stream) CancelEchoLinear(capture []int16) (out, linear []int16) {
	if !s.active {
		return capture, capture
	}
	out = s.echo.cancel(capture)
	return out, s.echo.linear(capture)
}

// SetEchoReference makes playout, what the line really played this frame
// (a conference's mix of several streams), the canceller's reference in
// place of the stream's own output.
func (s *Stream) SetEchoReference(playout []int16) {
	if s.active {
		s.echo.setRef(playout)
	}
}

// SendCancelled is Send for a frame whose line echo was already taken out
// (CancelEcho): the stream's canceller does not run on it again.
func (s *Stream) SendCancelled(frame []int16) {
	if !s.active {
		return
	}
	s.rtcpTick()
	s.send(frame)
}

// send packetizes one frame of the phone's side.
func (s *Stream) send(capture []int16) {
	if (s.sess.DTMFPT != 0 || s.sess.OnDigit != nil) && !s.echo.passing() {
		capture = s.dtmfCapture(capture)
	}
	n := copy(s.acc[s.accN:s.perPacket], capture)
	s.txGain.apply(s.acc[s.accN : s.accN+n])
	s.accN += n
	if s.accN < s.perPacket {
		return
	}
	s.accN = 0
	s.hdr.Version = 2
	s.hdr.PayloadType = s.sess.PT
	s.hdr.SequenceNumber = s.seq
	s.hdr.Timestamp = s.ts
	s.hdr.SSRC = s.ssrc
	s.hdr.Marker = s.first
	s.first = false
	hl, err := s.hdr.MarshalTo(s.pkt[:])
	if err != nil {
		return
	}
	payload := s.pkt[hl : hl+s.perPacket]
	switch s.sess.Codec {
	case PCMA:
		dsp.EncodeAlaw(payload, s.acc[:s.perPacket])
	case G722:
		s.g722.encode(payload, s.acc[:s.perPacket])
	default:
		dsp.EncodeMulaw(payload, s.acc[:s.perPacket])
	}
	s.seq++
	s.ts += uint32(s.perPacket)
	s.octets += uint32(s.perPacket)
	s.transmit(s.pkt[:hl+s.perPacket])
}

// transmit encrypts (on an SRTP call) and sends one packet, or holds it
// in s.enc for the stream's SendBatch.
func (s *Stream) transmit(out []byte) {
	// A packet still held uses s.enc: it leaves first.
	s.sendHeld()
	plain := out
	if s.txc != nil {
		// Append-style into a fixed buffer: no allocation. A failure
		// sends nothing rather than clear media.
		enc, err := s.txc.tx.EncryptRTP(s.enc[:0], out, &s.ehdr)
		if err != nil || len(enc) > len(s.enc) {
			s.noteWriteError(errEncrypt)
			return
		}
		out = enc
	}
	if t := s.tap.Load(); t != nil {
		if s.txc == nil {
			plain = nil
		}
		s.captureSent(t, out, plain)
	}
	if s.holding() {
		if s.txc == nil {
			copy(s.enc[:], out)
		}
		s.held = len(out)
		s.batch.hold(s)
		return
	}
	s.write(out, s.sess.Remote)
}

// Receive drains arrived packets into the jitter buffer and fills playout
// with the next frame.
func (s *Stream) Receive(playout []int16) {
	if !s.active {
		clear(playout)
		return
	}
	s.receive(playout)
	// What goes to the line is the echo canceller's reference.
	s.echo.played(playout)
}

func (s *Stream) receive(playout []int16) {
	s.jb.frozen = s.echo.passing()
	s.jb.clock(int64(time.Since(s.epoch) / (time.Second / pcm.SampleRate)))
	if s.poll != nil {
		s.pollReceive()
	}
	for slot := s.ring.peek(); slot != nil; slot = s.ring.peek() {
		s.latch(slot.data[:slot.n], slot.from) // symmetric.go
		s.accept(slot.data[:slot.n], slot.at)
		s.ring.release()
	}
	if !s.haveFar {
		clear(playout)
		s.dtmfPlay(playout)
		return
	}
	miss := s.miss[:len(playout)]
	switch missing := s.jb.play(playout, miss); {
	case missing == 0:
		s.plc.Good(playout)
	case s.echo.passing():
		// Fax and modem pass-through: no concealment, no comfort noise
		// (the missing samples stay silent).
		s.concealed.Add(uint64(missing))
	case s.cnLevel >= 0:
		// The sender is in a silence period (RFC 3389): comfort noise.
		s.comfortNoise(playout, miss)
		s.cnSamples.Add(uint64(missing))
		s.plc.Good(playout)
	default:
		// Loss: G.711 Appendix I style concealment for the missing
		// samples, the real ones kept.
		c := s.conceal[:len(playout)]
		s.plc.Conceal(c)
		for k, m := range miss {
			if m {
				playout[k] = c[k]
			}
		}
		s.concealed.Add(uint64(missing))
	}
	s.rxGain.apply(playout)
	s.dtmfPlay(playout)
	s.publish()
}

// publish copies the loop-owned jitter buffer figures for Stats.
func (s *Stream) publish() {
	j := &s.jb
	s.dups.Store(j.dups)
	s.slipped.Store(j.slipped)
	s.stretched.Store(j.stretched)
	s.resyncs.Store(j.resyncs)
	s.jitterQ.Store(int64(j.jitterQ4))
	s.bufLevel.Store(int64(j.level()))
	if rx := s.received.Load() - j.dups; j.expected > rx {
		s.lost.Store(j.expected - rx)
	} else {
		s.lost.Store(0)
	}
}

// comfortNoise fills the missing samples with white noise at the level of
// the last RFC 3389 packet (its spectral envelope, if any, is not used).
func (s *Stream) comfortNoise(out []int16, miss []bool) {
	// -dBov to a peak amplitude: 0 dBov is a full-scale square wave.
	amp := int32(32767 * dbovScale(s.cnLevel) * 1.7) // uniform noise: peak ≈ √3 × RMS
	for k, m := range miss {
		if !m {
			continue
		}
		s.cnSeed = s.cnSeed*1664525 + 1013904223
		out[k] = int16((int32(s.cnSeed>>16) - 32768) * amp >> 15)
	}
}

// dbovScale is 10^(-level/20) for levels 0..127 from a table.
func dbovScale(level int) float64 {
	if level < 0 || level >= len(dbovTable) {
		return 0
	}
	return dbovTable[level]
}

// payloadCN is the static RTP payload type of RFC 3389 comfort noise.
const payloadCN = 13

func (s *Stream) accept(b []byte, at int64) {
	hl, err := s.rhdr.Unmarshal(b)
	if err != nil || s.rhdr.Version != 2 {
		s.dropped.Add(1)
		return
	}
	end := len(b)
	if s.rhdr.Padding && end > hl {
		end -= int(b[end-1])
	}
	if end < hl {
		s.dropped.Add(1)
		return
	}
	if s.rhdr.PayloadType == payloadCN && end > hl {
		s.cnLevel = int(b[hl] & 0x7f)
		return
	}
	if s.rhdr.PayloadType == s.sess.DTMFPT && s.sess.DTMFPT != 0 {
		// Events share the sequence space with the audio: count them,
		// or they would look like lost audio packets.
		if s.jb.duplicate(s.rhdr.SequenceNumber) {
			s.jb.dups++
			return
		}
		s.received.Add(1)
		s.dtmfReceive(b[hl:end], s.rhdr.Timestamp)
		return
	}
	if s.rhdr.PayloadType != s.sess.PT {
		return
	}
	s.received.Add(1)
	if !s.haveFar || s.rhdr.SSRC != s.farSSRC {
		if s.haveFar {
			s.ssrcChanges.Add(1)
		}
		s.farSSRC = s.rhdr.SSRC
		s.haveFar = true
		s.jb.reset()
	}
	s.cnLevel = -1 // audio again: the silence period is over
	payload := b[hl:end]
	if len(payload) > len(s.decodeBuf) {
		s.dropped.Add(1)
		return
	}
	late := s.jb.late
	if !s.jb.arrive(s.rhdr.SequenceNumber, s.rhdr.Timestamp, len(payload), at/int64(time.Second/pcm.SampleRate)) {
		if s.jb.late != late {
			s.late.Add(1)
		}
		return
	}
	pcmOut := s.decodeBuf[:len(payload)]
	switch s.sess.Codec {
	case PCMA:
		dsp.DecodeAlaw(pcmOut, payload)
	case G722:
		s.g722.decode(pcmOut, payload)
	default:
		dsp.DecodeMulaw(pcmOut, payload)
	}
	ts := s.rhdr.Timestamp
	for i, v := range pcmOut {
		s.jb.put(ts+uint32(i), v)
	}
}

// noteWriteError records a send failure; kept out of Send so that Send's
// error variable does not escape (and allocate) on the good path.
//
//go:noinline
func (s *Stream) noteWriteError(err error) {
	s.writeErrs.Add(1)
	s.lastWriteErr.Store(&err)
}

// Stats returns the stream's counters.
func (s *Stream) Stats() StreamStats {
	st := StreamStats{
		PacketsSent:     s.sent.Load(),
		PacketsReceived: s.received.Load(),
		Dropped:         s.dropped.Load(),
		Late:            s.late.Load(),
		Concealed:       s.concealed.Load(),
		SSRCChanges:     s.ssrcChanges.Load(),
		SendErrors:      s.writeErrs.Load(),
		AuthFailures:    s.authFails.Load(),
		Duplicates:      s.dups.Load(),
		Lost:            s.lost.Load(),
		Slipped:         s.slipped.Load(),
		Stretched:       s.stretched.Load(),
		Resyncs:         s.resyncs.Load(),
		Jitter:          time.Duration(s.jitterQ.Load()) * (time.Second / pcm.SampleRate) / 16,
		BufferDelay:     time.Duration(s.bufLevel.Load()) * (time.Second / pcm.SampleRate),
		ComfortNoise:    s.cnSamples.Load(),
		DTMFSent:        s.dtmfSent.Load(),
		DTMFReceived:    s.dtmfRecv.Load(),
		DTMFEchoes:      s.dtmfEchoes.Load(),
		RTCPSent:        s.rtcpSent.Load(),
		RTCPReceived:    s.rtcpRecv.Load(),
		RTCPErrors:      s.rtcpBad.Load() + s.rtcpAuthFails.Load(),
		RTT:             time.Duration(s.rttNS.Load()),

		RemoteFractionLost: float64(s.remoteFrac.Load()) / 256,
		RemoteLost:         uint64(s.remoteLost.Load()),
		RemoteJitter:       time.Duration(s.remoteJitter.Load()) * (time.Second / pcm.SampleRate),
		Echo:               s.echo.stats(),
	}
	if e := s.lastWriteErr.Load(); e != nil {
		st.LastSendError = *e
	}
	return st
}

// dbovTable[i] is 10^(-i/20).
var dbovTable = func() (t [128]float64) {
	v := 1.0
	step := 0.8912509381337456 // 10^(-1/20)
	for i := range t {
		t[i] = v
		v *= step
	}
	return t
}()
