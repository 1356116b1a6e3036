package media

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/pion/rtcp"
)

// RTCP (RFC 3550) on the RTP port + 1, SRTCP on SRTP calls. Every ~5 s
// (randomised 0.5-1.5×, RFC 3550 6.2) the loop sends a compound packet: a
// sender report (our packet and octet counts, NTP and RTP time) with one
// reception report about the far end's stream (fraction and cumulative
// loss, extended highest sequence number, interarrival jitter, LSR/DLSR),
// and an SDES CNAME. It is marshalled by hand into fixed buffers and
// encrypted with the call's SRTP context on the loop — the one goroutine
// that context belongs to — so sending allocates nothing. A reader
// goroutine on the RTCP socket decrypts and parses (by hand, without
// allocating) what the far end sends: the last
// sender report's time for our next LSR/DLSR, the round-trip time from the
// far end's report about our stream (arrival - LSR - DLSR), and its view
// of our stream's loss and jitter.

// rtcpIntervalFrames is the mean report interval in frames (5 s).
const rtcpIntervalFrames = 500

// rtcpMax bounds our compound packet (SR with one block: 52 bytes, SDES
// with a CNAME of at most 40 bytes).
const rtcpMax = 128

// srtcpOverhead is what SRTCP adds: the 4-byte index and a tag of up to
// 16 bytes.
const srtcpOverhead = 4 + 16

// ntpEpochOffset is the seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// ntpTime converts t to a 64-bit NTP timestamp.
func ntpTime(t time.Time) uint64 {
	ns := t.UnixNano()
	sec := uint64(ns/1e9) + ntpEpochOffset
	frac := (uint64(ns%1e9) << 32) / 1e9
	return sec<<32 | frac
}

// ntpShort is the middle 32 bits of an NTP timestamp (1/65536 s units).
func ntpShort(t time.Time) uint32 { return uint32(ntpTime(t) >> 16) }

// listenPair binds an RTP socket on an even port and the RTCP socket on
// the next one. A given non-zero port is used as it is (and +1). With raw,
// the RTP socket is made outside Go's network poller (socket_linux.go) when
// the system can.
func listenPair(addr netip.AddrPort, raw bool) (rtpc rtpConn, rtcpc *net.UDPConn, err error) {
	for range 32 {
		rtpc, err = listenRTP(addr, raw)
		if err != nil {
			return nil, nil, fmt.Errorf("media: rtp socket on %s: %w", addr, err)
		}
		p := rtpc.LocalAddr().(*net.UDPAddr).AddrPort()
		if addr.Port() == 0 && p.Port()%2 == 1 {
			rtpc.Close()
			continue
		}
		rtcpc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Addr(), p.Port()+1)))
		if err == nil {
			return rtpc, rtcpc, nil
		}
		rtpc.Close()
		if addr.Port() != 0 {
			return nil, nil, fmt.Errorf("media: rtcp socket on port %d: %w", p.Port()+1, err)
		}
	}
	return nil, nil, errors.New("media: no free even/odd port pair for rtp and rtcp")
}

// rtpConn is what a stream uses of its RTP socket: a *net.UDPConn, or on
// Linux for a polled stream a socket outside Go's network poller (rawUDP).
type rtpConn interface {
	LocalAddr() net.Addr
	Close() error
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	SyscallConn() (syscall.RawConn, error)
}

// listenRTP binds the RTP socket: raw when asked and possible, else a
// *net.UDPConn.
func listenRTP(addr netip.AddrPort, raw bool) (rtpConn, error) {
	if raw {
		c, err := listenRaw(addr)
		if err == nil || !errors.Is(err, errors.ErrUnsupported) {
			return c, err
		}
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return c, nil
}

// newCNAME returns a random CNAME for a stream.
func newCNAME() []byte {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return []byte("loopstart-" + hex.EncodeToString(b[:]))
}

// rtcpTick is called by Send every frame; it sends a report when due.
func (s *Stream) rtcpTick() {
	s.rtcpWait--
	if s.rtcpWait > 0 {
		return
	}
	// Next one in 0.5-1.5 × the interval (a small LCG: no allocation).
	s.rtcpRand = s.rtcpRand*1664525 + 1013904223
	s.rtcpWait = rtcpIntervalFrames/2 + int(s.rtcpRand>>16)%rtcpIntervalFrames
	s.sendRTCP(time.Now())
}

// sendRTCP builds and sends one compound SR + SDES packet.
func (s *Stream) sendRTCP(now time.Time) {
	b := s.rtcpBuf[:0]
	blocks := 0
	if s.haveFar {
		blocks = 1
	}
	// Sender report.
	srWords := 6 + 6*blocks // length in 32-bit words minus one
	b = append(b, 0x80|byte(blocks), 200)
	b = binary.BigEndian.AppendUint16(b, uint16(srWords))
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	b = binary.BigEndian.AppendUint64(b, ntpTime(now))
	b = binary.BigEndian.AppendUint32(b, s.ts+uint32(s.accN))
	b = binary.BigEndian.AppendUint32(b, uint32(s.sent.Load()))
	b = binary.BigEndian.AppendUint32(b, s.octets)
	if blocks == 1 {
		j := &s.jb
		exp := j.expected
		rx := s.received.Load() - j.dups
		var lost uint64
		if exp > rx {
			lost = exp - rx
		}
		expInt, rxInt := exp-s.rrExpected, rx-s.rrReceived
		s.rrExpected, s.rrReceived = exp, rx
		frac := uint32(0)
		if expInt > rxInt && expInt > 0 {
			frac = uint32((expInt - rxInt) * 256 / expInt)
		}
		lsr, dlsr := uint32(0), uint32(0)
		if at := s.farSRAt.Load(); at != 0 {
			lsr = s.farSR.Load()
			dlsr = uint32(now.Sub(s.epoch.Add(time.Duration(at))) * 65536 / time.Second)
		}
		b = binary.BigEndian.AppendUint32(b, s.farSSRC)
		b = binary.BigEndian.AppendUint32(b, min(frac, 255)<<24|uint32(min(lost, 0x7fffff)))
		b = binary.BigEndian.AppendUint32(b, j.cycles<<16|uint32(j.maxSeq))
		b = binary.BigEndian.AppendUint32(b, uint32(j.jitter()))
		b = binary.BigEndian.AppendUint32(b, lsr)
		b = binary.BigEndian.AppendUint32(b, dlsr)
	}
	// SDES with our CNAME, padded to a 32-bit boundary (at least one
	// zero byte ends the item list).
	start := len(b)
	b = append(b, 0x81, 202, 0, 0)
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	b = append(b, 1, byte(len(s.cname)))
	b = append(b, s.cname...)
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16((len(b)-start)/4-1))

	out := b
	if s.txc != nil {
		enc, err := s.txc.tx.EncryptRTCP(s.rtcpEnc[:0], b, &s.rtcpHdr)
		if err != nil || len(enc) > len(s.rtcpEnc) {
			s.noteWriteError(errEncrypt)
			return
		}
		out = enc
	}
	if _, err := s.rtcpConn.WriteToUDPAddrPort(out, s.rtcpRemote); err != nil {
		s.noteWriteError(err)
		return
	}
	s.rtcpSent.Add(1)
}

// readRTCP is the RTCP reader goroutine.
func (s *Stream) readRTCP() {
	defer s.wg.Done()
	var buf, dec [maxPacket]byte
	var hdr rtcp.Header
	for {
		n, _, err := s.rtcpConn.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !s.accepting.Load() {
			continue
		}
		at := time.Now()
		pkt := buf[:n]
		if c := s.rxc.Load(); c != nil {
			out, err := c.rxRTCP.DecryptRTCP(dec[:0], pkt, &hdr)
			if err != nil {
				s.rtcpAuthFails.Add(1)
				continue
			}
			pkt = out
		}
		s.takeRTCP(pkt, at)
	}
}

// takeRTCP reads the reports in one (decrypted) compound packet that
// arrived at at. It parses by hand: no allocation, bad input counted.
func (s *Stream) takeRTCP(pkt []byte, at time.Time) {
	if !validCompound(pkt) {
		s.rtcpBad.Add(1)
		return
	}
	s.rtcpRecv.Add(1)
	ours := s.ssrcPub.Load()
	for len(pkt) >= 4 {
		count := int(pkt[0] & 0x1f)
		pt := pkt[1]
		size := 4 * (int(binary.BigEndian.Uint16(pkt[2:])) + 1)
		body := pkt[4:size]
		pkt = pkt[size:]
		var blocks []byte
		switch {
		case pt == 200 && len(body) >= 24: // SR: SSRC, NTP, RTP ts, counts
			ntp := binary.BigEndian.Uint64(body[4:])
			s.farSR.Store(uint32(ntp >> 16))
			s.farSRAt.Store(int64(at.Sub(s.epoch)))
			blocks = body[24:]
		case pt == 201 && len(body) >= 4: // RR: SSRC
			blocks = body[4:]
		default:
			continue
		}
		for k := 0; k < count && len(blocks) >= 24; k++ {
			b := blocks[:24]
			blocks = blocks[24:]
			if binary.BigEndian.Uint32(b) != ours {
				continue
			}
			s.remoteFrac.Store(uint32(b[4]))
			s.remoteLost.Store(binary.BigEndian.Uint32(b[4:]) & 0xffffff)
			s.remoteJitter.Store(binary.BigEndian.Uint32(b[12:]))
			lsr, dlsr := binary.BigEndian.Uint32(b[16:]), binary.BigEndian.Uint32(b[20:])
			if lsr == 0 {
				continue
			}
			// RFC 3550 6.4.1: RTT = arrival - LSR - DLSR, in 1/65536 s.
			// A round trip shorter than that resolution (loopback) reads as
			// one unit, 15 µs: 0 means no round trip measured yet.
			if rtt := int64(int32(ntpShort(at) - lsr - dlsr)); rtt >= 0 {
				s.rttNS.Store(max(rtt, 1) * int64(time.Second) / 65536)
			}
		}
	}
}

// validCompound checks an RTCP compound packet's framing (RFC 3550 6.1):
// version 2 throughout, lengths that add up exactly, and a first packet
// that is an SR or RR.
func validCompound(pkt []byte) bool {
	if len(pkt) < 8 || pkt[1] != 200 && pkt[1] != 201 {
		return false
	}
	for len(pkt) > 0 {
		if len(pkt) < 4 || pkt[0]>>6 != 2 {
			return false
		}
		size := 4 * (int(binary.BigEndian.Uint16(pkt[2:])) + 1)
		if size > len(pkt) {
			return false
		}
		pkt = pkt[size:]
	}
	return true
}
