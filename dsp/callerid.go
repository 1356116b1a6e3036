package dsp

import (
	"errors"
	"fmt"
	"strings"
)

// Caller ID messages (Telcordia GR-30-CORE "CLASS" and ETSI EN 300 659-3
// "CLIP"): a message type byte, a length byte, the body and a checksum that
// is the two's complement of the modulo-256 sum of all other bytes. SDMF
// bodies are fixed fields; MDMF bodies are parameters of (type, length,
// value).

// Caller ID message types.
const (
	CIDTypeSDMF     = 0x04 // single data message format: date/time and number
	CIDTypeSDMFVMWI = 0x06 // SDMF message waiting
	CIDTypeMDMF     = 0x80 // multiple data message format (ETSI: call setup)
	CIDTypeMDMFVMWI = 0x82 // MDMF message waiting
)

// MDMF parameter types.
const (
	CIDParamDateTime     = 0x01 // MMDDhhmm, eight ASCII digits
	CIDParamNumber       = 0x02 // calling line number
	CIDParamNumberAbsent = 0x04 // 'O' unavailable (out of area), 'P' private
	CIDParamName         = 0x07 // calling name
	CIDParamNameAbsent   = 0x08 // 'O' or 'P'
	CIDParamVMWI         = 0x0B // visual message waiting: 0xFF on, 0x00 off
)

// Errors returned (wrapped) by the caller ID codec.
var (
	ErrCIDChecksum = errors.New("dsp: caller id checksum mismatch")
	ErrCIDFormat   = errors.New("dsp: malformed caller id message")
)

// CallerID is a decoded caller ID or message-waiting message.
type CallerID struct {
	// Type is the message type (CIDTypeSDMF, CIDTypeMDMF, ...).
	Type byte
	// Time is the date and time as MMDDhhmm ("" when absent).
	Time string
	// Number is the calling number; NumberAbsent, when non-zero, is the
	// reason it is missing ('O' unavailable, 'P' private).
	Number       string
	NumberAbsent byte
	// Name is the calling name; NameAbsent as NumberAbsent.
	Name       string
	NameAbsent byte
	// MessageWaiting is set for VMWI messages: Waiting tells on or off.
	MessageWaiting bool
	Waiting        bool
}

// Marshal encodes m as a complete message: type, length, body, checksum.
// SDMF carries Time and Number (or NumberAbsent); MDMF carries every
// non-empty field in parameter order 01, 02/04, 07/08, 0B.
func (m *CallerID) Marshal() ([]byte, error) {
	var body []byte
	switch m.Type {
	case CIDTypeSDMF:
		if len(m.Time) != 8 || !isDigits(m.Time) {
			return nil, fmt.Errorf("sdmf time %q: %w", m.Time, ErrCIDFormat)
		}
		body = append(body, m.Time...)
		switch {
		case m.NumberAbsent != 0:
			body = append(body, m.NumberAbsent)
		default:
			body = append(body, m.Number...)
		}
	case CIDTypeSDMFVMWI:
		c := byte(0x6F)
		if m.Waiting {
			c = 0x42
		}
		body = []byte{c, c, c}
	case CIDTypeMDMF, CIDTypeMDMFVMWI:
		param := func(t byte, v []byte) error {
			if len(v) > 255 {
				return fmt.Errorf("mdmf parameter %#02x of %d bytes: %w", t, len(v), ErrCIDFormat)
			}
			body = append(body, t, byte(len(v)))
			body = append(body, v...)
			return nil
		}
		if m.Time != "" {
			if len(m.Time) != 8 || !isDigits(m.Time) {
				return nil, fmt.Errorf("mdmf time %q: %w", m.Time, ErrCIDFormat)
			}
			_ = param(CIDParamDateTime, []byte(m.Time))
		}
		var err error
		if m.Number != "" {
			err = errors.Join(err, param(CIDParamNumber, []byte(m.Number)))
		} else if m.NumberAbsent != 0 {
			err = errors.Join(err, param(CIDParamNumberAbsent, []byte{m.NumberAbsent}))
		}
		if m.Name != "" {
			err = errors.Join(err, param(CIDParamName, []byte(m.Name)))
		} else if m.NameAbsent != 0 {
			err = errors.Join(err, param(CIDParamNameAbsent, []byte{m.NameAbsent}))
		}
		if m.MessageWaiting || m.Type == CIDTypeMDMFVMWI {
			v := byte(0)
			if m.Waiting {
				v = 0xFF
			}
			err = errors.Join(err, param(CIDParamVMWI, []byte{v}))
		}
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("caller id message type %#02x: %w", m.Type, ErrCIDFormat)
	}
	if len(body) > 255 {
		return nil, fmt.Errorf("caller id body of %d bytes: %w", len(body), ErrCIDFormat)
	}
	out := append([]byte{m.Type, byte(len(body))}, body...)
	return append(out, cidChecksum(out)), nil
}

// cidChecksum returns the two's complement of the byte sum of b.
func cidChecksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseCallerID decodes a complete message (type, length, body, checksum);
// trailing bytes after the checksum are ignored. Unknown MDMF parameters are
// skipped.
func ParseCallerID(b []byte) (*CallerID, error) {
	if len(b) < 3 {
		return nil, fmt.Errorf("caller id of %d bytes: %w", len(b), ErrCIDFormat)
	}
	n := int(b[1])
	if len(b) < n+3 {
		return nil, fmt.Errorf("caller id length %d with %d bytes: %w", n, len(b)-3, ErrCIDFormat)
	}
	b = b[:n+3]
	if cidChecksum(b[:n+2]) != b[n+2] {
		return nil, fmt.Errorf("caller id checksum %#02x, want %#02x: %w", b[n+2], cidChecksum(b[:n+2]), ErrCIDChecksum)
	}
	m := &CallerID{Type: b[0]}
	body := b[2 : n+2]
	switch m.Type {
	case CIDTypeSDMF:
		if len(body) < 8 {
			return nil, fmt.Errorf("sdmf body of %d bytes: %w", len(body), ErrCIDFormat)
		}
		m.Time = string(body[:8])
		rest := body[8:]
		if len(rest) == 1 && (rest[0] == 'O' || rest[0] == 'P') {
			m.NumberAbsent = rest[0]
		} else {
			m.Number = string(rest)
		}
	case CIDTypeSDMFVMWI:
		if len(body) != 3 || body[0] != body[1] || body[1] != body[2] || (body[0] != 0x42 && body[0] != 0x6F) {
			return nil, fmt.Errorf("sdmf vmwi body % x: %w", body, ErrCIDFormat)
		}
		m.MessageWaiting, m.Waiting = true, body[0] == 0x42
	case CIDTypeMDMF, CIDTypeMDMFVMWI:
		for p := 0; p < len(body); {
			if p+2 > len(body) || p+2+int(body[p+1]) > len(body) {
				return nil, fmt.Errorf("mdmf parameter at %d overruns the body: %w", p, ErrCIDFormat)
			}
			t, v := body[p], body[p+2:p+2+int(body[p+1])]
			p += 2 + len(v)
			switch t {
			case CIDParamDateTime:
				m.Time = string(v)
			case CIDParamNumber:
				m.Number = string(v)
			case CIDParamNumberAbsent:
				if len(v) > 0 {
					m.NumberAbsent = v[0]
				}
			case CIDParamName:
				m.Name = string(v)
			case CIDParamNameAbsent:
				if len(v) > 0 {
					m.NameAbsent = v[0]
				}
			case CIDParamVMWI:
				if len(v) != 1 {
					return nil, fmt.Errorf("mdmf vmwi of %d bytes: %w", len(v), ErrCIDFormat)
				}
				m.MessageWaiting, m.Waiting = true, v[0] != 0
			}
		}
	default:
		return nil, fmt.Errorf("caller id message type %#02x: %w", m.Type, ErrCIDFormat)
	}
	return m, nil
}

// String renders the fields for people ("time=... number=... name=...").
func (m *CallerID) String() string {
	var parts []string
	parts = append(parts, fmt.Sprintf("type=%#02x", m.Type))
	if m.Time != "" {
		parts = append(parts, "time="+m.Time)
	}
	if m.Number != "" {
		parts = append(parts, fmt.Sprintf("number=%q", m.Number))
	}
	if m.NumberAbsent != 0 {
		parts = append(parts, fmt.Sprintf("number-absent=%c", m.NumberAbsent))
	}
	if m.Name != "" {
		parts = append(parts, fmt.Sprintf("name=%q", m.Name))
	}
	if m.NameAbsent != 0 {
		parts = append(parts, fmt.Sprintf("name-absent=%c", m.NameAbsent))
	}
	if m.MessageWaiting {
		parts = append(parts, fmt.Sprintf("message-waiting=%v", m.Waiting))
	}
	return strings.Join(parts, " ")
}

// CIDTiming is the bit layout around an FSK caller ID message.
type CIDTiming struct {
	// Seizure is the number of channel seizure bits (alternating 0/1).
	Seizure int
	// Marks is the number of mark bits between seizure and message.
	Marks int
	// Trailer is the number of mark bits after the message.
	Trailer int
}

// On-hook (type I) timings: GR-30-CORE and EN 300 659-1 both specify 300
// seizure bits and 180 mark bits (ETSI allows 180 ± 25). Off-hook (type II,
// after CAS) sends no seizure and 80 marks.
var (
	CIDOnHook  = CIDTiming{Seizure: 300, Marks: 180, Trailer: 4}
	CIDOffHook = CIDTiming{Seizure: 0, Marks: 80, Trailer: 4}
)

// CIDLevel is the default caller ID transmit level in dBm0.
const CIDLevel = -13.5

// EncodeCallerIDFSK returns the samples of msg (a complete message from
// Marshal) sent with std at level dBm0 with the given timing. It allocates.
func EncodeCallerIDFSK(std FSKStandard, msg []byte, timing CIDTiming, level float64) ([]int16, error) {
	tx, err := NewFSKTx(std, level)
	if err != nil {
		return nil, err
	}
	tx.QueueSeizure(timing.Seizure)
	tx.QueueMarks(timing.Marks)
	tx.QueueBytes(msg, 1)
	tx.QueueMarks(timing.Trailer)
	out := make([]int16, tx.Remaining())
	tx.Fill(out)
	return out, nil
}

// CIDRx finds caller ID messages in FSK audio: it demodulates characters,
// assembles type, length, body and checksum, and reports each message whose
// checksum is right. Characters arriving after a pause of more than about
// 10 bit times start a new message.
type CIDRx struct {
	fsk  *FSKRx
	buf  [258]byte
	n    int
	idle int // samples since the last character
	tmp  [8]byte
}

// NewCIDRx returns a receiver for std.
func NewCIDRx(std FSKStandard) (*CIDRx, error) {
	f, err := NewFSKRx(std)
	if err != nil {
		return nil, err
	}
	return &CIDRx{fsk: f}, nil
}

// Reset forgets any partial message.
func (r *CIDRx) Reset() { r.fsk.Reset(); r.n = 0; r.idle = 0 }

// Process consumes samples and appends each complete, checksum-valid
// message (type through checksum; a fresh slice) to out. It allocates only
// when it finds a message.
func (r *CIDRx) Process(samples []int16, out [][]byte) [][]byte {
	for len(samples) > 0 {
		k := min(len(samples), 8)
		chars := r.fsk.Process(samples[:k], r.tmp[:0])
		samples = samples[k:]
		if len(chars) == 0 {
			r.idle += k
			if r.n > 0 && (r.idle > 20*SampleRate/FSKBaud || !r.fsk.carrier) {
				r.n = 0
			}
			continue
		}
		r.idle = 0
		for _, c := range chars {
			r.buf[r.n] = c
			r.n++
			if r.n >= 2 && r.n == int(r.buf[1])+3 {
				if cidChecksum(r.buf[:r.n-1]) == r.buf[r.n-1] {
					out = append(out, append([]byte(nil), r.buf[:r.n]...))
				}
				r.n = 0
			}
		}
	}
	return out
}

// DTMF caller ID (ETSI ES 200 778-1 annex B / EN 300 659 variants as used in
// Denmark, the Netherlands, Sweden, Finland, Brazil, India ...):
// "A<number>C", "B00C" (number unavailable) or "B10C" (private). The "#"
// terminated variant ("A<number>#", "D1#" private, "D2#" and "D3#"
// unavailable) is accepted when parsing.

// EncodeCallerIDDTMF returns the DTMF digit string for m.
func EncodeCallerIDDTMF(m *CallerID) (string, error) {
	switch {
	case m.Number != "":
		for i := range len(m.Number) {
			if m.Number[i] < '0' || m.Number[i] > '9' {
				return "", fmt.Errorf("dtmf caller id number %q: %w", m.Number, ErrCIDFormat)
			}
		}
		return "A" + m.Number + "C", nil
	case m.NumberAbsent == 'P':
		return "B10C", nil
	default:
		return "B00C", nil
	}
}

// ParseCallerIDDTMF decodes a DTMF caller ID digit string.
func ParseCallerIDDTMF(digits string) (*CallerID, error) {
	d := strings.ToUpper(digits)
	if len(d) < 2 {
		return nil, fmt.Errorf("dtmf caller id %q: %w", digits, ErrCIDFormat)
	}
	end := d[len(d)-1]
	if end != 'C' && end != '#' {
		return nil, fmt.Errorf("dtmf caller id %q: no terminator: %w", digits, ErrCIDFormat)
	}
	body := d[:len(d)-1]
	m := &CallerID{Type: CIDTypeMDMF}
	switch {
	case body == "B00" || body == "D2" || body == "D3":
		m.NumberAbsent = 'O'
	case body == "B10" || body == "D1":
		m.NumberAbsent = 'P'
	case body != "" && (body[0] == 'A' || body[0] == 'D') && isDigits(body[1:]) && len(body) > 1:
		m.Number = body[1:]
	case end == '#' && isDigits(body) && body != "":
		m.Number = body
	default:
		return nil, fmt.Errorf("dtmf caller id %q: %w", digits, ErrCIDFormat)
	}
	return m, nil
}
