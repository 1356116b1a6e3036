package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestArrivedPacketSizes checks which datagram sizes the reader queues for
// the loop: a ring slot holds maxSlotPacket bytes of clear (or decrypted)
// RTP; shorter than a header or longer than a slot is dropped and counted,
// and an SRTP packet that decrypts into a full slot allocates nothing.
func TestArrivedPacketSizes(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	packet := func(t *testing.T, size int) []byte {
		t.Helper()
		h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 7, Timestamp: 160, SSRC: 0x1234}
		b, err := h.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if size < len(b) {
			return b[:size]
		}
		return append(b, make([]byte, size-len(b))...)
	}
	for _, suite := range append([]string{""}, allSuites...) {
		tests := []struct {
			name   string
			size   int // clear RTP bytes
			queued bool
		}{
			{"shorter than a header", 11, false},
			{"header only", 12, true},
			{"20 ms of G.711", 172, true},
			{"a full slot", maxSlotPacket, true},
			{"one byte over a slot", maxSlotPacket + 1, false},
			{"an Ethernet MTU", 1400, false},
		}
		for _, tc := range tests {
			if suite != "" && tc.size < 12 {
				continue // SRTP needs a header to protect
			}
			name := "clear/" + tc.name
			if suite != "" {
				name = suite + "/" + tc.name
			}
			t.Run(name, func(t *testing.T) {
				s := &Stream{epoch: time.Now()}
				s.accepting.Store(true)
				b := packet(t, tc.size)
				var tx *Crypto
				encrypt := func(p []byte) []byte {
					enc, err := tx.tx.EncryptRTP(nil, p, nil)
					if err != nil {
						t.Fatal(err)
					}
					return enc
				}
				if suite != "" {
					var rx *Crypto
					tx, rx = cryptoPair(t, suite)
					s.rxc.Store(rx)
					b = encrypt(b)
				}
				var hdr rtp.Header
				s.arrived(b, &hdr, from, int64(time.Since(s.epoch)))
				slot := s.ring.peek()
				if got := slot != nil; got != tc.queued {
					t.Fatalf("%d-byte packet (%d on the wire) queued %v, want %v (dropped %d, auth failures %d)",
						tc.size, len(b), got, tc.queued, s.dropped.Load(), s.authFails.Load())
				}
				if !tc.queued {
					if s.dropped.Load() != 1 {
						t.Fatalf("dropped = %d, want 1", s.dropped.Load())
					}
					return
				}
				if slot.n != tc.size || slot.from != from {
					t.Fatalf("slot holds %d bytes from %v, want %d from %v", slot.n, slot.from, tc.size, from)
				}
				if suite == "" {
					return
				}
				// Decrypting a full-size packet into its slot allocates
				// nothing (each packet with its own sequence number:
				// replay protection is on).
				encs := make([][]byte, 51)
				for i := range encs {
					p := packet(t, tc.size)
					p[2], p[3] = 0, byte(8+i)
					encs[i] = encrypt(p)
				}
				i := 0
				allocs := testing.AllocsPerRun(50, func() {
					s.ring.drain()
					s.arrived(encs[i], &hdr, from, int64(time.Since(s.epoch)))
					i++
				})
				if allocs != 0 || s.ring.peek() == nil {
					t.Fatalf("decrypting a %d-byte packet into its slot: %.1f allocations, queued %v", tc.size, allocs, s.ring.peek() != nil)
				}
			})
		}
	}
}
