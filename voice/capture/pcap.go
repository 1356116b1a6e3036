package capture

import (
	"bufio"
	"encoding/binary"
	"io"
	"net/netip"
)

// The classic libpcap format with LINKTYPE_RAW: each packet is an IPv4 or
// IPv6 header, a UDP header and the payload, synthesized from the
// addresses the packet was sent from and to.
const (
	pcapMagic     = 0xa1b2c3d4 // microsecond timestamps
	pcapHeaderLen = 24
	pcapRecordLen = 16
	linkTypeRaw   = 101
	snapLen       = 65535
	ipv4Len       = 20
	ipv6Len       = 40
	udpLen        = 8
	// maxPayload keeps every synthesized packet within snapLen and the
	// IP length fields.
	maxPayload = snapLen - ipv6Len - udpLen
)

// family decides the IP version of a packet: IPv6 when either end is
// (IPv4-mapped addresses count as IPv4).
func family(src, dst netip.AddrPort) (v6 bool) {
	return src.Addr().Unmap().Is6() || dst.Addr().Unmap().Is6()
}

// recordLen is the pcap bytes one packet of n payload bytes takes.
func recordLen(src, dst netip.AddrPort, n int) int {
	if family(src, dst) {
		return pcapRecordLen + ipv6Len + udpLen + n
	}
	return pcapRecordLen + ipv4Len + udpLen + n
}

// WritePcap writes the packets kept so far as a pcap file. It may run
// while the capture goes on: the packets added meanwhile are left out.
func (c *Capture) WritePcap(w io.Writer) error {
	c.dl.RLock()
	defer c.dl.RUnlock()
	c.mu.Lock()
	recs, data := c.recs[:c.nrec], c.data // records below nrec never change
	c.mu.Unlock()
	bw := bufio.NewWriterSize(w, 32<<10)
	var h [pcapHeaderLen]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], pcapMagic)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], snapLen)
	le.PutUint32(h[20:], linkTypeRaw)
	if _, err := bw.Write(h[:]); err != nil {
		return err
	}
	var hdr [pcapRecordLen + ipv6Len + udpLen]byte
	for i, r := range recs {
		payload := data[r.off : r.off+r.n]
		ip := appendIPUDP(hdr[pcapRecordLen:pcapRecordLen], r, uint16(i), payload)
		total := len(ip) + len(payload)
		le.PutUint32(hdr[0:], uint32(r.at/1e9))
		le.PutUint32(hdr[4:], uint32(r.at%1e9/1e3))
		le.PutUint32(hdr[8:], uint32(total))
		le.PutUint32(hdr[12:], uint32(total))
		if _, err := bw.Write(hdr[:pcapRecordLen+len(ip)]); err != nil {
			return err
		}
		if _, err := bw.Write(payload); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// appendIPUDP appends the IP and UDP headers of one packet to b.
func appendIPUDP(b []byte, r record, id uint16, payload []byte) []byte {
	be := binary.BigEndian
	src, dst := r.src.Addr().Unmap(), r.dst.Addr().Unmap()
	ulen := udpLen + len(payload)
	if family(r.src, r.dst) {
		s16, d16 := as16(src), as16(dst)
		b = be.AppendUint32(b, 6<<28)
		b = be.AppendUint16(b, uint16(ulen))
		b = append(b, 17, r.ttl)
		b = append(b, s16[:]...)
		b = append(b, d16[:]...)
		u := len(b)
		b = be.AppendUint16(b, r.src.Port())
		b = be.AppendUint16(b, r.dst.Port())
		b = be.AppendUint16(b, uint16(ulen))
		b = be.AppendUint16(b, 0)
		// The UDP checksum is mandatory over IPv6: pseudo-header, UDP
		// header and payload.
		var sum uint32
		sum = add16(sum, s16[:])
		sum = add16(sum, d16[:])
		sum += uint32(ulen) + 17
		sum = add16(sum, b[u:u+udpLen])
		sum = add16(sum, payload)
		cs := fold(sum)
		if cs == 0 {
			cs = 0xffff
		}
		be.PutUint16(b[u+6:], cs)
		return b
	}
	s4, d4 := as4(src), as4(dst)
	start := len(b)
	b = append(b, 0x45, 0)
	b = be.AppendUint16(b, uint16(ipv4Len+ulen))
	b = be.AppendUint16(b, id)
	b = be.AppendUint16(b, 0x4000) // don't fragment
	b = append(b, r.ttl, 17, 0, 0)
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	be.PutUint16(b[start+10:], fold(add16(0, b[start:start+ipv4Len])))
	b = be.AppendUint16(b, r.src.Port())
	b = be.AppendUint16(b, r.dst.Port())
	b = be.AppendUint16(b, uint16(ulen))
	b = be.AppendUint16(b, 0) // no UDP checksum over IPv4
	return b
}

func as16(a netip.Addr) [16]byte {
	if !a.IsValid() {
		return [16]byte{}
	}
	return a.As16()
}

func as4(a netip.Addr) [4]byte {
	if !a.Is4() {
		return [4]byte{}
	}
	return a.As4()
}

// add16 adds b as big-endian 16-bit words (odd length padded with zero).
func add16(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// fold finishes an Internet checksum.
func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
