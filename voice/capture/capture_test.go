package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var (
	gw   = netip.MustParseAddrPort("127.0.0.1:40000")
	peer = netip.MustParseAddrPort("127.0.0.2:30000")
)

func rtpPacket(seq uint16) []byte {
	b := make([]byte, 172)
	b[0], b[1] = 0x80, 0
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(b[8:], 0x1234)
	return b
}

// pcapRecords parses a classic pcap file: the link type and each
// packet's bytes.
func pcapRecords(t *testing.T, b []byte) (link uint32, pkts [][]byte) {
	t.Helper()
	if len(b) < pcapHeaderLen || binary.LittleEndian.Uint32(b) != pcapMagic {
		t.Fatalf("not a pcap file: % x", b[:min(len(b), 24)])
	}
	link = binary.LittleEndian.Uint32(b[20:])
	b = b[pcapHeaderLen:]
	for len(b) > 0 {
		if len(b) < pcapRecordLen {
			t.Fatalf("truncated record header")
		}
		n := int(binary.LittleEndian.Uint32(b[8:]))
		if orig := int(binary.LittleEndian.Uint32(b[12:])); orig != n || len(b) < pcapRecordLen+n {
			t.Fatalf("record length %d/%d, %d left", n, orig, len(b))
		}
		pkts = append(pkts, b[pcapRecordLen:pcapRecordLen+n])
		b = b[pcapRecordLen+n:]
	}
	return link, pkts
}

func TestStartOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		err  string
		want Options
	}{
		{"defaults", Options{}, "", Options{Duration: DefaultDuration, MaxBytes: DefaultMaxBytes}},
		{"port and decrypted", Options{Port: 2, Duration: 5 * time.Second, MaxBytes: MinMaxBytes, Decrypted: true}, "", Options{Port: 2, Duration: 5 * time.Second, MaxBytes: MinMaxBytes, Decrypted: true}},
		{"port out of range", Options{Port: -1}, "port -1", Options{}},
		{"too long", Options{Duration: time.Hour}, "duration 1h0m0s", Options{}},
		{"too short", Options{Duration: time.Millisecond}, "duration 1ms", Options{}},
		{"too big", Options{MaxBytes: MaxMaxBytes + 1}, "max bytes", Options{}},
		{"too small", Options{MaxBytes: 100}, "max bytes 100", Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(nil)
			st, err := c.Start(tc.o)
			if tc.err != "" {
				if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), tc.err) || c.Status().Running {
					t.Fatalf("err %v, running %v", err, c.Status().Running)
				}
				return
			}
			if err != nil || !st.Running || st.Options != tc.want || st.Bytes != pcapHeaderLen {
				t.Fatalf("%+v %v", st, err)
			}
		})
	}
}

// TestBounds: a capture ends when its time is up or its buffer is full,
// or when stopped, and keeps what it had.
func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       Options
		step    time.Duration
		packets int
		stop    bool
		ended   string
		kept    int
	}{
		{"time", Options{Duration: 10 * time.Second}, time.Second, 20, false, "time", 10},
		{"full", Options{MaxBytes: MinMaxBytes}, time.Millisecond, 1000, false, "full", (MinMaxBytes - pcapHeaderLen) / (pcapRecordLen + ipv4Len + udpLen + 172)},
		{"stopped", Options{}, time.Millisecond, 5, true, "stopped", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1700000000, 0)}
			c := New(clk.now)
			if _, err := c.Start(tc.o); err != nil {
				t.Fatal(err)
			}
			for i := range tc.packets {
				clk.t = clk.t.Add(tc.step)
				c.RTP(1, gw, peer, rtpPacket(uint16(i)), nil)
			}
			if tc.stop {
				c.Stop()
				c.RTP(1, gw, peer, rtpPacket(99), nil)
			}
			st := c.Status()
			if st.Running || st.Ended != tc.ended || st.Packets != tc.kept || st.Bytes > st.Options.MaxBytes {
				t.Fatalf("status %+v, want ended %s with %d", st, tc.ended, tc.kept)
			}
			var buf bytes.Buffer
			if err := c.WritePcap(&buf); err != nil || buf.Len() != st.Bytes {
				t.Fatalf("pcap %d bytes, status %d, %v", buf.Len(), st.Bytes, err)
			}
		})
	}
}

// TestPortFilter: RTP of other ports is left out, SIP never.
func TestPortFilter(t *testing.T) {
	c := New(nil)
	c.Start(Options{Port: 2})
	c.RTP(1, gw, peer, rtpPacket(1), nil)
	c.RTP(2, gw, peer, rtpPacket(2), nil)
	c.SIP("127.0.0.1:5060", "127.0.0.2:5060", []byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
	if st := c.Status(); st.Packets != 2 {
		t.Fatalf("kept %d, want port 2's RTP and the SIP message", st.Packets)
	}
}

// TestRTPNoAllocs: adding a packet (and its decrypted copy) allocates
// nothing, whether kept, filtered out or dropped as the buffer is full.
func TestRTPNoAllocs(t *testing.T) {
	c := New(nil)
	c.Start(Options{Decrypted: true, MaxBytes: MinMaxBytes})
	wire, plain := rtpPacket(1), rtpPacket(2)
	six := netip.MustParseAddrPort("[::1]:4000")
	if n := testing.AllocsPerRun(1000, func() {
		c.RTP(1, gw, peer, wire, plain)
		c.RTP(1, six, six, wire, nil)
	}); n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
	if st := c.Status(); st.Ended != "full" || st.Dropped == 0 {
		t.Errorf("status %+v", st)
	}
	var idle Capture
	if n := testing.AllocsPerRun(100, func() { idle.RTP(1, gw, peer, wire, nil) }); n != 0 {
		t.Errorf("idle: %v allocations", n)
	}
}

// TestPcapHeaders: the synthesized IPv4 and IPv6 headers are valid: IPv4
// header checksum, IPv6 UDP checksum, lengths, ports, TTL marks.
func TestPcapHeaders(t *testing.T) {
	c := New(nil)
	c.Start(Options{Decrypted: true})
	six1, six2 := netip.MustParseAddrPort("[2001:db8::1]:5060"), netip.MustParseAddrPort("[2001:db8::2]:5062")
	c.RTP(1, gw, peer, []byte("wire-bytes!"), []byte("plain"))
	c.SIP(six1.String(), six2.String(), []byte("odd"))
	c.SIP("[::ffff:10.0.0.1]:5060", "10.0.0.2:5060", []byte("INVITE"))
	var buf bytes.Buffer
	if err := c.WritePcap(&buf); err != nil {
		t.Fatal(err)
	}
	link, pkts := pcapRecords(t, buf.Bytes())
	if link != linkTypeRaw || len(pkts) != 4 {
		t.Fatalf("link %d, %d packets", link, len(pkts))
	}
	for i, tc := range []struct {
		v6      bool
		ttl     byte
		sport   uint16
		dport   uint16
		payload string
	}{
		{false, ttlWire, 40000, 30000, "wire-bytes!"},
		{false, ttlDecrypted, 40000, 30000, "plain"},
		{true, ttlWire, 5060, 5062, "odd"},
		{false, ttlWire, 5060, 5060, "INVITE"},
	} {
		p := pkts[i]
		hl := ipv4Len
		if tc.v6 {
			hl = ipv6Len
			if p[0]>>4 != 6 || p[7] != tc.ttl || int(binary.BigEndian.Uint16(p[4:])) != len(p)-ipv6Len {
				t.Errorf("packet %d: bad IPv6 header % x", i, p[:hl])
			}
			var sum uint32
			sum = add16(sum, p[8:40])
			sum += uint32(len(p)-hl) + 17
			if fold(add16(sum, p[hl:])) != 0 {
				t.Errorf("packet %d: UDP checksum does not verify", i)
			}
		} else if p[0] != 0x45 || p[8] != tc.ttl || int(binary.BigEndian.Uint16(p[2:])) != len(p) || fold(add16(0, p[:20])) != 0 {
			t.Errorf("packet %d: bad IPv4 header % x", i, p[:hl])
		}
		u := p[hl:]
		if binary.BigEndian.Uint16(u) != tc.sport || binary.BigEndian.Uint16(u[2:]) != tc.dport || int(binary.BigEndian.Uint16(u[4:])) != len(u) || string(u[8:]) != tc.payload {
			t.Errorf("packet %d: UDP % x", i, u)
		}
	}
}

// TestTshark: the real tshark reads the file and decodes its SIP and
// RTP.
func TestTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (tools/lab/install-peers.sh)")
	}
	c := New(nil)
	c.Start(Options{})
	invite := "INVITE sip:1002@127.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:1001@127.0.0.1>;tag=1\r\nTo: <sip:1002@127.0.0.2>\r\nCall-ID: cap-test\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	c.SIP("127.0.0.1:5060", "127.0.0.2:5060", []byte(invite))
	for i := range 5 {
		c.RTP(1, gw, peer, rtpPacket(uint16(i)), nil)
	}
	f := filepath.Join(t.TempDir(), "c.pcap")
	var buf bytes.Buffer
	c.WritePcap(&buf)
	if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-r", f, "-Y", "sip", "-T", "fields", "-e", "sip.Method", "-e", "sip.Call-ID").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "INVITE\tcap-test") {
		t.Fatalf("tshark sip: %v\n%s", err, out)
	}
	out, err = exec.Command("tshark", "-r", f, "-d", "udp.port==30000,rtp", "-Y", "rtp", "-T", "fields", "-e", "rtp.seq").Output()
	if err != nil || strings.Join(strings.Fields(string(out)), ",") != "0,1,2,3,4" {
		t.Fatalf("tshark rtp: %v\n%s", err, out)
	}
}

func FuzzPcapWrite(f *testing.F) {
	f.Add("127.0.0.1:5060", "[::1]:5", []byte("x"))
	f.Fuzz(func(t *testing.T, src, dst string, msg []byte) {
		c := New(nil)
		c.Start(Options{})
		c.SIP(src, dst, msg)
		var buf bytes.Buffer
		if err := c.WritePcap(&buf); err != nil || buf.Len() != c.Status().Bytes {
			t.Fatalf("%d bytes, status %+v, %v", buf.Len(), c.Status(), err)
		}
		pcapRecords(t, buf.Bytes())
	})
}

// BenchmarkRTP measures keeping one 20 ms G.711 packet.
func BenchmarkRTP(b *testing.B) {
	c := New(nil)
	pkt := rtpPacket(1)
	b.ReportAllocs()
	for b.Loop() {
		if !c.on.Load() {
			b.StopTimer()
			c.Start(Options{MaxBytes: MaxMaxBytes})
			b.StartTimer()
		}
		c.RTP(1, gw, peer, pkt, nil)
	}
}

// TestConcurrentUse: packets added from several goroutines while the
// file is downloaded and a new capture starts; every download is a
// well-formed pcap (run with -race).
func TestConcurrentUse(t *testing.T) {
	c := New(nil)
	c.Start(Options{})
	done := make(chan struct{})
	for g := range 3 {
		go func() {
			defer func() { done <- struct{}{} }()
			pkt := rtpPacket(uint16(g))
			for i := range 2000 {
				c.RTP(g+1, gw, peer, pkt, pkt)
				if i%100 == 0 {
					c.SIP("127.0.0.1:5060", "127.0.0.2:5060", []byte("OPTIONS"))
				}
			}
		}()
	}
	for i := range 20 {
		var buf bytes.Buffer
		if err := c.WritePcap(&buf); err != nil {
			t.Fatal(err)
		}
		pcapRecords(t, buf.Bytes())
		if i == 10 {
			c.Start(Options{Decrypted: true})
		}
	}
	for range 3 {
		<-done
	}
}
