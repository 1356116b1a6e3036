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

	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/voice/dsp"
)

// Codec is an audio codec the stream carries.
type Codec uint8

// Codecs.
const (
	// PCMU is G.711 µ-law, static payload type 0.
	PCMU Codec = iota + 1
	// PCMA is G.711 A-law, static payload type 8.
	PCMA
)

// String returns the codec's SDP encoding name in lower case.
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "pcmu"
	case PCMA:
		return "pcma"
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
	}
	return 0, fmt.Errorf("media: unsupported codec %q", name)
}

// maxPTimeSamples bounds the samples per packet we send (ptime ≤ 60 ms).
const maxPTimeSamples = 480

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
}

// StreamStats are a stream's counters, readable from any goroutine.
type StreamStats struct {
	PacketsSent, PacketsReceived uint64
	// Dropped counts packets the reader could not queue (ring full) or that
	// were not valid RTP.
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
}

// Stream is one channel's RTP endpoint: a UDP socket bound for the life of
// the gateway, a reader goroutine feeding a fixed ring, and send/playout
// state owned by the loop goroutine. Start, Stop, Send and Receive must be
// called on the loop goroutine.
type Stream struct {
	conn *net.UDPConn
	ring packetRing
	wg   sync.WaitGroup

	accepting atomic.Bool

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
	hdr       rtp.Header
	rhdr      rtp.Header
	farSSRC   uint32
	haveFar   bool
	jb        jitterBuffer
	decodeBuf [maxPacket]int16

	sent, received, dropped, late, concealed, ssrcChanges atomic.Uint64
	writeErrs                                             atomic.Uint64
	lastWriteErr                                          atomic.Pointer[error]
}

// NewStream binds a UDP socket on addr (port 0 picks one) and starts its
// reader. Close releases both.
func NewStream(addr netip.AddrPort) (*Stream, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("media: rtp socket on %s: %w", addr, err)
	}
	s := &Stream{conn: conn}
	s.jb.target = 160
	s.wg.Add(1)
	go s.read()
	return s, nil
}

// LocalAddr returns the socket's address.
func (s *Stream) LocalAddr() netip.AddrPort {
	return s.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Close stops the reader and closes the socket.
func (s *Stream) Close() error {
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

func (s *Stream) read() {
	defer s.wg.Done()
	var scratch [maxPacket]byte
	for {
		slot := s.ring.reserve()
		buf := scratch[:]
		if slot != nil {
			buf = slot.data[:]
		}
		n, _, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if slot == nil || !s.accepting.Load() || n < 12 {
			if s.accepting.Load() {
				s.dropped.Add(1)
			}
			continue
		}
		slot.n = n
		s.ring.commit()
	}
}

// Start begins a call's media with sess.
func (s *Stream) Start(sess Session) {
	if sess.PTime <= 0 {
		sess.PTime = 20 * time.Millisecond
	}
	s.sess = sess
	s.perPacket = min(int(sess.PTime/(time.Second/pcm.SampleRate)), maxPTimeSamples)
	s.perPacket -= s.perPacket % pcm.FrameSamples
	if s.perPacket == 0 {
		s.perPacket = pcm.FrameSamples
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	s.ssrc = binary.BigEndian.Uint32(b[0:])
	s.seq = binary.BigEndian.Uint16(b[4:])
	s.ts = uint32(b[6])<<8 | uint32(b[7])
	s.first = true
	s.accN = 0
	s.haveFar = false
	s.jb.reset()
	s.ring.drain()
	s.active = true
	s.accepting.Store(true)
}

// Stop ends the call's media; the socket stays bound for the next call.
func (s *Stream) Stop() {
	s.active = false
	s.accepting.Store(false)
	s.ring.drain()
	s.jb.reset()
}

// Active reports whether a call's media runs.
func (s *Stream) Active() bool { return s.active }

// Send takes one captured frame; every ptime it encodes and sends a packet.
func (s *Stream) Send(capture []int16) {
	if !s.active {
		return
	}
	n := copy(s.acc[s.accN:s.perPacket], capture)
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
	default:
		dsp.EncodeMulaw(payload, s.acc[:s.perPacket])
	}
	s.seq++
	s.ts += uint32(s.perPacket)
	if _, err := s.conn.WriteToUDPAddrPort(s.pkt[:hl+s.perPacket], s.sess.Remote); err != nil {
		s.noteWriteError(err)
		return
	}
	s.sent.Add(1)
}

// Receive drains arrived packets into the jitter buffer and fills playout
// with the next frame.
func (s *Stream) Receive(playout []int16) {
	if !s.active {
		clear(playout)
		return
	}
	for slot := s.ring.peek(); slot != nil; slot = s.ring.peek() {
		s.accept(slot.data[:slot.n])
		s.ring.release()
	}
	if s.haveFar {
		s.concealed.Add(uint64(s.jb.play(playout)))
	} else {
		clear(playout)
	}
}

func (s *Stream) accept(b []byte) {
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
	if s.rhdr.PayloadType != s.sess.PT {
		// telephone-event, comfort noise and the rest come with the secure media work.
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
	payload := b[hl:end]
	ok, late := s.jb.place(s.rhdr.Timestamp, len(payload))
	if !ok {
		if late {
			s.late.Add(1)
		}
		return
	}
	pcmOut := s.decodeBuf[:len(payload)]
	switch s.sess.Codec {
	case PCMA:
		dsp.DecodeAlaw(pcmOut, payload)
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
	}
	if e := s.lastWriteErr.Load(); e != nil {
		st.LastSendError = *e
	}
	return st
}
