// Package oracle builds and runs a small C program linked against spandsp
// (Debian libspandsp-dev), the reference telephony DSP library, so that
// dsp's tests can cross-check their results against it. It is imported
// only by _test.go files; the firmware never links C.
//
// The program is compiled once per source version (internal/oraclebuild).
// When gcc or spandsp is missing, New skips the test loudly — or fails it
// when LOOPSTART_REQUIRE_PEERS=1, as `make test` sets.
package oracle

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/internal/oraclebuild"
)

//go:embed csrc/oracle.c
var source []byte

// Oracle runs the compiled spandsp program.
type Oracle struct {
	bin string
}

// New returns an Oracle, building the program when needed. It skips tb when
// gcc or libspandsp-dev is unavailable, and fails it instead when the
// environment variable LOOPSTART_REQUIRE_PEERS is "1".
func New(tb testing.TB) *Oracle {
	tb.Helper()
	return &Oracle{bin: oraclebuild.Require(tb, "oracle", source)}
}

// Run runs the oracle with args, feeding stdin, and returns its stdout.
func (o *Oracle) Run(stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(o.bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("oracle %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// PCM encodes samples as little-endian int16 bytes.
func PCM(x []int16) []byte {
	b := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

// Samples decodes little-endian int16 bytes.
func Samples(b []byte) []int16 {
	x := make([]int16, len(b)/2)
	for i := range x {
		x[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return x
}

// Encode runs spandsp's G.711 encoder (law is "ulaw" or "alaw").
func (o *Oracle) Encode(law string, x []int16) ([]byte, error) {
	return o.Run(PCM(x), law+"-enc")
}

// Decode runs spandsp's G.711 decoder (law is "ulaw" or "alaw").
func (o *Oracle) Decode(law string, codes []byte) ([]int16, error) {
	b, err := o.Run(codes, law+"-dec")
	return Samples(b), err
}

// Digit is one digit reported by spandsp's DTMF receiver, with the sample
// positions (10 ms resolution) at which it started and ended; End is -1
// when the input ended during the digit.
type Digit struct {
	Digit      byte
	Start, End int
}

// DTMF runs spandsp's dtmf_rx over x with its default parameters.
func (o *Oracle) DTMF(x []int16) ([]Digit, error) {
	b, err := o.Run(PCM(x), "dtmf-rx")
	if err != nil {
		return nil, err
	}
	var out []Digit
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "digit" || len(f[1]) != 1 {
			return nil, fmt.Errorf("oracle dtmf-rx: bad line %q", sc.Text())
		}
		s, err1 := strconv.Atoi(f[2])
		e, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("oracle dtmf-rx: bad line %q", sc.Text())
		}
		out = append(out, Digit{Digit: f[1][0], Start: s, End: e})
	}
	return out, nil
}

// Digits returns just the digit characters of ds.
func Digits(ds []Digit) string {
	var sb strings.Builder
	for _, d := range ds {
		sb.WriteByte(d.Digit)
	}
	return sb.String()
}

// ADSI standards, as spandsp numbers them.
const (
	StandardCLASS    = 1 // Bell 202, Telcordia
	StandardCLIP     = 2 // V.23, ETSI
	StandardACLIP    = 3
	StandardJCLIP    = 4
	StandardCLIPDTMF = 5
)

// ADSITx returns the audio of spandsp's adsi_tx sending msg: for FSK
// standards type, length and body without the checksum (spandsp appends it
// and rewrites the length byte); for CLIP_DTMF the digit string.
func (o *Oracle) ADSITx(standard int, msg []byte) ([]int16, error) {
	b, err := o.Run(msg, "adsi-tx", strconv.Itoa(standard))
	return Samples(b), err
}

// ADSIRx returns the messages spandsp's adsi_rx finds in x. For FSK
// standards spandsp verifies and strips the checksum: each message is type,
// length and body; for CLIP_DTMF it is the digit string.
func (o *Oracle) ADSIRx(standard int, x []int16) ([][]byte, error) {
	b, err := o.Run(PCM(x), "adsi-rx", strconv.Itoa(standard))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 1 || f[0] != "msg" {
			return nil, fmt.Errorf("oracle adsi-rx: bad line %q", sc.Text())
		}
		var m []byte
		if len(f) > 1 {
			if m, err = hex.DecodeString(f[1]); err != nil {
				return nil, fmt.Errorf("oracle adsi-rx: %w", err)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Time runs kernel over input reps times inside the oracle and returns the
// nanoseconds it spent per 10 ms frame of the kernel's input. Kernels:
// ulaw-enc, alaw-enc (input int16), ulaw-dec, alaw-dec (input codes),
// dtmf-rx, adsi-rx-<standard> (input int16), g722-enc (16 kHz int16),
// g722-dec (codes).
func (o *Oracle) Time(kernel string, input []byte, reps int) (float64, error) {
	b, err := o.Run(input, "time", kernel, strconv.Itoa(reps))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || f[0] != "ns_per_frame" {
		return 0, fmt.Errorf("oracle time: bad output %q", b)
	}
	return strconv.ParseFloat(f[1], 64)
}

// PLC runs spandsp's packet loss concealer over x cut into frames of flen
// samples: frames whose lost flag is set are replaced by plc_fillin, the
// others pass through plc_rx (which may blend their start after a loss).
func (o *Oracle) PLC(x []int16, flen int, lost []bool) ([]int16, error) {
	if flen <= 0 || len(x) < len(lost)*flen {
		return nil, fmt.Errorf("oracle plc: %d samples for %d frames of %d", len(x), len(lost), flen)
	}
	in := make([]byte, 4, 4+len(lost)+2*len(lost)*flen)
	binary.LittleEndian.PutUint32(in, uint32(len(lost)))
	for _, l := range lost {
		if l {
			in = append(in, 1)
		} else {
			in = append(in, 0)
		}
	}
	in = append(in, PCM(x[:len(lost)*flen])...)
	b, err := o.Run(in, "plc", strconv.Itoa(flen))
	return Samples(b), err
}

// Echo canceller modes of spandsp's echo_can_init.
const (
	EchoAdaption = 0x01
	EchoNLP      = 0x02
	EchoCNG      = 0x04
)

// Echo runs spandsp's echo canceller (taps long, mode a combination of
// Echo*) over the reference tx and the line signal rx and returns the
// cleaned rx.
func (o *Oracle) Echo(tx, rx []int16, taps, mode int) ([]int16, error) {
	n := min(len(tx), len(rx))
	pairs := make([]int16, 2*n)
	for i := range n {
		pairs[2*i], pairs[2*i+1] = tx[i], rx[i]
	}
	b, err := o.Run(PCM(pairs), "echo", strconv.Itoa(taps), strconv.Itoa(mode))
	return Samples(b), err
}
