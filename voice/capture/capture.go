// Package capture keeps a bounded packet capture of SIP and RTP and
// writes it as a classic libpcap file. Packets are copied into buffers
// allocated when a capture starts, so adding one (from the media loop)
// allocates nothing and holds a lock only for the copy.
package capture

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of one capture.
const (
	// DefaultDuration is how long a capture runs when none is asked.
	DefaultDuration = 60 * time.Second
	// MaxDuration bounds a capture's duration.
	MaxDuration = 10 * time.Minute
	// DefaultMaxBytes is the pcap size a capture stops at when none is asked.
	DefaultMaxBytes = 1 << 20
	// MinMaxBytes and MaxMaxBytes bound the pcap size asked for.
	MinMaxBytes, MaxMaxBytes = 64 << 10, 8 << 20
	// avgRecord is the smallest average record (pcap, IP and UDP headers
	// and a 20 ms G.711 RTP packet) the record table is sized for.
	avgRecord = 128
)

// Options says what to capture.
type Options struct {
	// Port limits RTP to one port's calls; 0 captures every port. SIP
	// is captured whole: its messages carry no port.
	Port int
	// Duration is how long the capture runs; 0 means DefaultDuration.
	Duration time.Duration
	// MaxBytes bounds the pcap file; 0 means DefaultMaxBytes.
	MaxBytes int
	// Decrypted adds, after each SRTP packet as sent or received, the
	// same packet decrypted (IP TTL 1 marks those copies).
	Decrypted bool
}

// Status describes the capture running or last run.
type Status struct {
	// Running is true until the capture's time is up, its buffer is
	// full or it is stopped.
	Running bool
	// Options are the capture's settings, defaults filled in.
	Options Options
	// Started and Until are when it started and when its time is up.
	Started, Until time.Time
	// Packets and Bytes count what was kept (Bytes is the pcap size).
	Packets, Bytes int
	// Dropped counts packets that found the buffer full.
	Dropped int
	// Ended says why it ended: "time", "full", "stopped" ("" while
	// running or before the first capture).
	Ended string
}

// Record kinds: what a packet is, for the IP header written with it.
const (
	ttlWire      = 64
	ttlDecrypted = 1
)

type record struct {
	off, n   int32
	at       int64 // Unix nanoseconds
	src, dst netip.AddrPort
	ttl      uint8
}

// Capture is one capture buffer; a gateway has one. The zero value is
// not usable: call New.
type Capture struct {
	on   atomic.Bool
	port atomic.Int32
	dec  atomic.Bool
	now  func() time.Time

	// dl is held shared by pcap writers and exclusively by Start, which
	// replaces the buffers.
	dl sync.RWMutex

	mu      sync.Mutex
	st      Status
	data    []byte
	recs    []record
	used    int // bytes of data in use
	nrec    int
	size    int // pcap size so far
	dropped int
}

// New makes an idle capture; now is the clock (nil means time.Now).
func New(now func() time.Time) *Capture {
	if now == nil {
		now = time.Now
	}
	return &Capture{now: now}
}

// ErrBadOptions wraps every refusal of Start's options.
var ErrBadOptions = errors.New("bad capture options")

// Start begins a new capture, dropping the last one's packets; it
// allocates the buffers (never on the media path).
func (c *Capture) Start(o Options) (Status, error) {
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	switch {
	case o.Port < 0 || o.Port > 64:
		return Status{}, fmt.Errorf("%w: port %d is out of range 0..64", ErrBadOptions, o.Port)
	case o.Duration < time.Second || o.Duration > MaxDuration:
		return Status{}, fmt.Errorf("%w: duration %v is out of range 1s..%v", ErrBadOptions, o.Duration, MaxDuration)
	case o.MaxBytes < MinMaxBytes || o.MaxBytes > MaxMaxBytes:
		return Status{}, fmt.Errorf("%w: max bytes %d is out of range %d..%d", ErrBadOptions, o.MaxBytes, MinMaxBytes, MaxMaxBytes)
	}
	c.on.Store(false)
	c.dl.Lock() // no pcap writer reads the old buffers any more
	defer c.dl.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if cap(c.data) >= o.MaxBytes {
		c.data = c.data[:o.MaxBytes]
	} else {
		c.data = make([]byte, o.MaxBytes)
	}
	if n := o.MaxBytes / avgRecord; cap(c.recs) >= n {
		c.recs = c.recs[:n]
	} else {
		c.recs = make([]record, n)
	}
	c.used, c.nrec, c.size, c.dropped = 0, 0, pcapHeaderLen, 0
	t := c.now()
	c.st = Status{Running: true, Options: o, Started: t, Until: t.Add(o.Duration)}
	c.port.Store(int32(o.Port))
	c.dec.Store(o.Decrypted)
	c.on.Store(true)
	return c.statusLocked(), nil
}

// Stop ends the capture; its packets stay for download.
func (c *Capture) Stop() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLocked("stopped")
	return c.statusLocked()
}

// Status reports on the capture running or last run.
func (c *Capture) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Running && c.now().After(c.st.Until) {
		c.endLocked("time")
	}
	return c.statusLocked()
}

func (c *Capture) statusLocked() Status {
	s := c.st
	s.Packets, s.Bytes, s.Dropped = c.nrec, c.size, c.dropped
	return s
}

func (c *Capture) endLocked(why string) {
	if !c.st.Running {
		return
	}
	c.on.Store(false)
	c.st.Running = false
	c.st.Ended = why
}

// Wants reports whether a packet of port (0 for SIP) would be kept now:
// the cheap test callers make before preparing a packet.
func (c *Capture) Wants(port int) bool {
	if c == nil || !c.on.Load() {
		return false
	}
	p := int(c.port.Load())
	return p == 0 || port == 0 || p == port
}

// WantsDecrypted reports whether decrypted copies of SRTP packets are
// asked for.
func (c *Capture) WantsDecrypted() bool { return c != nil && c.dec.Load() }

// RTP keeps one RTP packet of port as it went over the wire (SRTP
// encrypted on a secure call) and, when plain is not nil and the
// capture asks for it, the decrypted packet after it. It allocates
// nothing.
func (c *Capture) RTP(port int, src, dst netip.AddrPort, wire, plain []byte) {
	if !c.Wants(port) {
		return
	}
	at := c.now().UnixNano()
	c.mu.Lock()
	c.addLocked(at, src, dst, wire, ttlWire)
	if plain != nil && c.dec.Load() {
		c.addLocked(at, src, dst, plain, ttlDecrypted)
	}
	c.mu.Unlock()
}

// SIP keeps one SIP message. The addresses are as sipgo reports them
// ("ip:port"); one that does not parse is written as 0.0.0.0:0.
func (c *Capture) SIP(src, dst string, msg []byte) {
	if !c.Wants(0) {
		return
	}
	s, _ := netip.ParseAddrPort(src)
	d, _ := netip.ParseAddrPort(dst)
	at := c.now().UnixNano()
	c.mu.Lock()
	c.addLocked(at, s, d, msg, ttlWire)
	c.mu.Unlock()
}

// addLocked copies one packet in, or counts it dropped.
func (c *Capture) addLocked(at int64, src, dst netip.AddrPort, b []byte, ttl uint8) {
	if !c.st.Running {
		return
	}
	if at > c.st.Until.UnixNano() {
		c.endLocked("time")
		return
	}
	n := len(b)
	if n > maxPayload {
		n = maxPayload
	}
	size := recordLen(src, dst, n)
	if c.nrec == len(c.recs) || c.used+n > len(c.data) || c.size+size > c.st.Options.MaxBytes {
		c.dropped++
		c.endLocked("full")
		return
	}
	copy(c.data[c.used:], b[:n])
	c.recs[c.nrec] = record{off: int32(c.used), n: int32(n), at: at, src: src, dst: dst, ttl: ttl}
	c.used += n
	c.nrec++
	c.size += size
}

// Decrypted keeps the decrypted copy of a received SRTP packet when the
// capture asks for such copies (its wire form went to RTP first). It
// allocates nothing.
func (c *Capture) Decrypted(port int, src, dst netip.AddrPort, plain []byte) {
	if !c.Wants(port) || !c.dec.Load() {
		return
	}
	at := c.now().UnixNano()
	c.mu.Lock()
	c.addLocked(at, src, dst, plain, ttlDecrypted)
	c.mu.Unlock()
}
