package model

import (
	"fmt"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// byteSink is a chip, or a chain of chips, that takes bytes.
type byteSink interface {
	cycle(b byte) byte
	abort()
	takeFailure() bool
	String() string
}

func (c *Chip) takeFailure() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failSPI > 0 {
		c.failSPI--
		return true
	}
	return false
}

// Connect implements spi.Port: mode 3, 8 bits, at most MaxSpeed (0 means
// the maximum).
func (c *Chip) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	return connect(c, &c.speedLimit, &c.mu, f, mode, bits)
}

// LimitSpeed implements spi.PortCloser.
func (c *Chip) LimitSpeed(f physic.Frequency) error {
	if f <= 0 {
		return fmt.Errorf("si3050 model: invalid speed limit %s", f)
	}
	c.mu.Lock()
	c.speedLimit = f
	c.mu.Unlock()
	return nil
}

// Close implements spi.PortCloser.
func (c *Chip) Close() error { return nil }

var _ spi.PortCloser = (*Chip)(nil)

type locker interface {
	Lock()
	Unlock()
}

func connect(s byteSink, limit *physic.Frequency, mu locker, f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	if mode != spi.Mode3 {
		return nil, fmt.Errorf("si3050 model: SPI mode %s not supported, need Mode3", mode)
	}
	if bits != 8 {
		return nil, fmt.Errorf("si3050 model: %d bits per word not supported, need 8", bits)
	}
	if f < 0 {
		return nil, fmt.Errorf("si3050 model: invalid frequency %s", f)
	}
	mu.Lock()
	l := *limit
	mu.Unlock()
	if f == 0 {
		f = MaxSpeed
	}
	if l != 0 && l < f {
		f = l
	}
	if f > MaxSpeed {
		return nil, fmt.Errorf("si3050 model: SCLK %s above the chip's %s", f, MaxSpeed)
	}
	return &spiConn{s: s, f: f}, nil
}

type spiConn struct {
	s byteSink
	f physic.Frequency
}

var (
	_ spi.Conn    = (*spiConn)(nil)
	_ conn.Limits = (*spiConn)(nil)
)

func (s *spiConn) String() string      { return s.s.String() + "@" + s.f.String() }
func (s *spiConn) Duplex() conn.Duplex { return conn.Full }

// MaxTxSize implements conn.Limits.
func (s *spiConn) MaxTxSize() int { return 4096 }

// Tx is one chip-select cycle of any number of bytes (a whole frame, or one
// byte of it).
func (s *spiConn) Tx(w, r []byte) error {
	if len(w) != 0 && len(r) != 0 && len(w) != len(r) {
		return fmt.Errorf("si3050 model: bad Tx lengths w=%d r=%d", len(w), len(r))
	}
	if s.s.takeFailure() {
		s.s.abort()
		return ErrInjected
	}
	n := max(len(w), len(r))
	for i := range n {
		var b byte
		if i < len(w) {
			b = w[i]
		}
		out := s.s.cycle(b)
		if i < len(r) {
			r[i] = out
		}
	}
	return nil
}

// TxPackets runs the packets in order; chip select may rise between them or
// not, the DAA frames by byte count.
func (s *spiConn) TxPackets(p []spi.Packet) error {
	for i := range p {
		if p[i].BitsPerWord != 0 && p[i].BitsPerWord != 8 {
			return fmt.Errorf("si3050 model: packet %d: %d bits per word, need 8", i, p[i].BitsPerWord)
		}
		if len(p[i].W) != 0 && len(p[i].R) != 0 && len(p[i].W) != len(p[i].R) {
			return fmt.Errorf("si3050 model: packet %d: bad lengths w=%d r=%d", i, len(p[i].W), len(p[i].R))
		}
	}
	if s.s.takeFailure() {
		s.s.abort()
		return ErrInjected
	}
	for i := range p {
		n := max(len(p[i].W), len(p[i].R))
		for k := range n {
			var b byte
			if k < len(p[i].W) {
				b = p[i].W[k]
			}
			out := s.s.cycle(b)
			if k < len(p[i].R) {
				p[i].R[k] = out
			}
		}
	}
	return nil
}

// Bus is several DAAs daisy-chained on one chip select: every chip sees
// every byte, and SDO is the wired combination of the chips' outputs (a
// chip not addressed releases it, reading 0xFF).
type Bus struct {
	chips      []*Chip
	speedLimit physic.Frequency
}

// NewBus chains chips on one chip select. Their Opts.Chain must differ.
func NewBus(chips ...*Chip) (*Bus, error) {
	seen := map[int]bool{}
	for _, c := range chips {
		if seen[c.opts.Chain] {
			return nil, fmt.Errorf("si3050 model: two chips at chain position %d", c.opts.Chain)
		}
		seen[c.opts.Chain] = true
	}
	return &Bus{chips: chips}, nil
}

func (b *Bus) String() string { return "si3050-model-chain" }

func (b *Bus) cycle(x byte) byte {
	out := byte(0xFF)
	for _, c := range b.chips {
		out &= c.cycle(x)
	}
	return out
}

func (b *Bus) abort() {
	for _, c := range b.chips {
		c.abort()
	}
}

func (b *Bus) takeFailure() bool {
	f := false
	for _, c := range b.chips {
		f = c.takeFailure() || f
	}
	return f
}

type nopLocker struct{}

func (nopLocker) Lock()   {}
func (nopLocker) Unlock() {}

// Connect implements spi.Port for the chain.
func (b *Bus) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	return connect(b, &b.speedLimit, nopLocker{}, f, mode, bits)
}

// LimitSpeed implements spi.PortCloser.
func (b *Bus) LimitSpeed(f physic.Frequency) error {
	if f <= 0 {
		return fmt.Errorf("si3050 model: invalid speed limit %s", f)
	}
	b.speedLimit = f
	return nil
}

// Close implements spi.PortCloser.
func (b *Bus) Close() error { return nil }

var _ spi.PortCloser = (*Bus)(nil)
