package dsptool

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/loopstart/loopstart/dsp"
	"github.com/loopstart/loopstart/dsp/wav"
)

// readInput reads a whole file, or stdin for "-".
func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

// writeOutput writes b to a file, or to stdout for "-".
func writeOutput(name string, b []byte, stdout io.Writer) error {
	if name == "-" {
		_, err := stdout.Write(b)
		return err
	}
	return os.WriteFile(name, b, 0o644)
}

// dspG722Encode: 16 kHz mono 16-bit WAV in, raw G.722 (64 kbit/s, one byte
// per two samples, as RTP payload type 9 carries it) out.
func dspG722Encode(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("g722-encode", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "output raw G.722 file (- for stdout)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return fmt.Errorf("%w: g722-encode FILE.wav -o FILE.g722", errUsage)
	}
	b, err := readInput(pos[0])
	if err != nil {
		return err
	}
	x, rate, err := wav.Read(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if rate != dsp.G722SampleRate {
		return fmt.Errorf("%s: sample rate %d Hz, want %d", pos[0], rate, dsp.G722SampleRate)
	}
	var e dsp.G722Encoder
	codes := make([]byte, len(x)/2)
	codes = codes[:e.Encode(codes, x)]
	return writeOutput(*out, codes, stdout)
}

// dspG722Decode: raw G.722 in, 16 kHz mono 16-bit WAV out.
func dspG722Decode(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("g722-decode", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "output WAV file (- for stdout)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return fmt.Errorf("%w: g722-decode FILE.g722 -o FILE.wav", errUsage)
	}
	codes, err := readInput(pos[0])
	if err != nil {
		return err
	}
	var d dsp.G722Decoder
	x := make([]int16, 2*len(codes))
	x = x[:d.Decode(x, codes)]
	var buf bytes.Buffer
	if err := wav.Write(&buf, x, dsp.G722SampleRate); err != nil {
		return err
	}
	return writeOutput(*out, buf.Bytes(), stdout)
}
