// Package dsptool is `loopstart dsp`: signal tools for debugging a line
// (DTMF and caller ID decoding and encoding, call-progress tones, G.722)
// on WAV files, built on the dsp library. Main is the whole command, so
// its output and exit codes can be tested without a process.
package dsptool

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/loopstart/loopstart/dsp"
	"github.com/loopstart/loopstart/dsp/wav"
)

const dspUsage = `usage: loopstart dsp COMMAND [flags]

Signal tools for debugging a line; audio is 8 kHz mono 16-bit WAV.

commands:
  dtmf-detect FILE           print each DTMF digit with its time
  cid-decode FILE [--standard auto|bell202|v23|dtmf]
                             print the fields of the caller ID messages in FILE
  cid-encode --standard bell202|v23|dtmf --number N [--name X] [--time MMDDhhmm] -o FILE
                             write an on-hook caller ID signal (MDMF for FSK)
  tone --country C --tone dial|busy|ringback|congestion|callwaiting|stutter --seconds S -o FILE
                             write a call-progress tone of a country profile
  g722-encode FILE -o OUT    encode a 16 kHz mono WAV into raw G.722 (64 kbit/s)
  g722-decode FILE -o OUT    decode raw G.722 into a 16 kHz mono WAV
`

// Main runs "loopstart dsp ARGS..." (args without the leading "dsp") and
// returns the exit code: 0 on success, 1 when a command fails, 2 on a
// usage error. Reading "-" means standard input.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, dspUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "dtmf-detect":
		err = dspDTMFDetect(args[1:], stdout)
	case "cid-decode":
		err = dspCIDDecode(args[1:], stdout)
	case "cid-encode":
		err = dspCIDEncode(args[1:], stdout)
	case "tone":
		err = dspTone(args[1:], stdout)
	case "g722-encode":
		err = dspG722Encode(args[1:], stdout)
	case "g722-decode":
		err = dspG722Decode(args[1:], stdout)
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "loopstart dsp: %v\n", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(stderr, dspUsage)
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// parseInterspersed parses flags that may come before or after positional
// arguments and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func readWAV8k(name string) ([]int16, error) {
	var r io.Reader
	if name == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	x, rate, err := wav.Read(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if rate != dsp.SampleRate {
		return nil, fmt.Errorf("%s: sample rate %d Hz, want %d", name, rate, dsp.SampleRate)
	}
	return x, nil
}

func writeWAV8k(name string, x []int16, stdout io.Writer) error {
	var buf bytes.Buffer
	if err := wav.Write(&buf, x, dsp.SampleRate); err != nil {
		return err
	}
	if name == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

// dtmfDigit is a detected digit and the time at which it was confirmed.
type dtmfDigit struct {
	at    time.Duration
	digit byte
}

func detectDigits(x []int16) []dtmfDigit {
	d := dsp.NewDTMFDetector()
	var out []dtmfDigit
	var buf []byte
	for i := 0; i < len(x); i += 80 {
		end := min(i+80, len(x))
		buf = d.Process(x[i:end], buf[:0])
		for _, c := range buf {
			out = append(out, dtmfDigit{at: time.Duration(end) * time.Second / dsp.SampleRate, digit: c})
		}
	}
	return out
}

func dspDTMFDetect(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dtmf-detect", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: dtmf-detect FILE", errUsage)
	}
	x, err := readWAV8k(pos[0])
	if err != nil {
		return err
	}
	for _, d := range detectDigits(x) {
		fmt.Fprintf(stdout, "%8.3fs %c\n", d.at.Seconds(), d.digit)
	}
	return nil
}

func dspCIDDecode(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cid-decode", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	std := fs.String("standard", "auto", "auto, bell202, v23 or dtmf")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: cid-decode FILE", errUsage)
	}
	x, err := readWAV8k(pos[0])
	if err != nil {
		return err
	}
	var stds []string
	switch *std {
	case "auto":
		// Each FSK receiver also decodes the other modem's signal (their
		// frequencies are 100 Hz apart), so pick the one whose tones
		// carry more energy.
		fsk := "bell202"
		if tonePower(x, 1300)+tonePower(x, 2100) > tonePower(x, 1200)+tonePower(x, 2200) {
			fsk = "v23"
		}
		stds = []string{fsk, "dtmf"}
	case "bell202", "v23", "dtmf":
		stds = []string{*std}
	default:
		return fmt.Errorf("%w: unknown standard %q", errUsage, *std)
	}
	found := 0
	for _, s := range stds {
		if s == "dtmf" {
			var digits strings.Builder
			for _, d := range detectDigits(x) {
				digits.WriteByte(d.digit)
			}
			if digits.Len() == 0 {
				continue
			}
			m, err := dsp.ParseCallerIDDTMF(digits.String())
			if err != nil {
				if *std == "dtmf" {
					return fmt.Errorf("digits %q: %w", digits.String(), err)
				}
				continue
			}
			fmt.Fprintf(stdout, "dtmf: %s\n", m)
			found++
			continue
		}
		fsk := dsp.Bell202
		if s == "v23" {
			fsk = dsp.V23
		}
		rx, err := dsp.NewCIDRx(fsk)
		if err != nil {
			return err
		}
		for _, raw := range rx.Process(x, nil) {
			m, err := dsp.ParseCallerID(raw)
			if err != nil {
				fmt.Fprintf(stdout, "%s: % x (%v)\n", s, raw, err)
				continue
			}
			fmt.Fprintf(stdout, "%s: %s\n", s, m)
			found++
		}
	}
	if found == 0 {
		return errors.New("no caller id message found")
	}
	return nil
}

func dspCIDEncode(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cid-encode", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	std := fs.String("standard", "bell202", "bell202, v23 or dtmf")
	number := fs.String("number", "", "calling number")
	name := fs.String("name", "", "calling name (FSK only)")
	when := fs.String("time", "", "date and time MMDDhhmm (FSK only)")
	out := fs.String("o", "", "output WAV file (- for stdout)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *out == "" || *number == "" {
		return fmt.Errorf("%w: cid-encode needs --number and -o", errUsage)
	}
	m := &dsp.CallerID{Type: dsp.CIDTypeMDMF, Number: *number, Name: *name, Time: *when}
	lead := make([]int16, dsp.SampleRate/5)
	var x []int16
	switch *std {
	case "dtmf":
		digits, err := dsp.EncodeCallerIDDTMF(m)
		if err != nil {
			return err
		}
		var g dsp.DTMFGen
		if err := g.Queue(digits, 70*time.Millisecond, 70*time.Millisecond, -8); err != nil {
			return err
		}
		x = make([]int16, len(digits)*140*dsp.SampleRate/1000)
		g.Fill(x)
	case "bell202", "v23":
		fsk := dsp.Bell202
		if *std == "v23" {
			fsk = dsp.V23
		}
		b, err := m.Marshal()
		if err != nil {
			return err
		}
		if x, err = dsp.EncodeCallerIDFSK(fsk, b, dsp.CIDOnHook, dsp.CIDLevel); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: unknown standard %q", errUsage, *std)
	}
	x = append(lead, x...)
	x = append(x, lead...)
	return writeWAV8k(*out, x, stdout)
}

func dspTone(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tone", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	country := fs.String("country", "us", "country profile: "+strings.Join(dsp.Countries(), ", "))
	which := fs.String("tone", "dial", "dial, busy, ringback, congestion, callwaiting or stutter")
	seconds := fs.Float64("seconds", 5, "duration")
	out := fs.String("o", "", "output WAV file (- for stdout)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *out == "" {
		return fmt.Errorf("%w: tone needs -o", errUsage)
	}
	if !(*seconds > 0 && *seconds <= 3600) {
		return fmt.Errorf("%w: --seconds %v out of range (0, 3600]", errUsage, *seconds)
	}
	p, err := dsp.LookupProfile(*country)
	if err != nil {
		return err
	}
	var t *dsp.Tone
	switch *which {
	case "dial":
		t = &p.Dial
	case "busy":
		t = &p.Busy
	case "ringback":
		t = &p.Ringback
	case "congestion", "reorder":
		t = &p.Reorder
	case "callwaiting":
		t = &p.CallWaiting
	case "stutter":
		t = &p.Stutter
	default:
		return fmt.Errorf("%w: unknown tone %q", errUsage, *which)
	}
	var g dsp.ToneGen
	g.Play(t)
	x := make([]int16, int(*seconds*dsp.SampleRate))
	g.Fill(x)
	return writeWAV8k(*out, x, stdout)
}

// tonePower returns the Goertzel power of x at f Hz.
func tonePower(x []int16, f float64) float64 {
	c := 2 * math.Cos(2*math.Pi*f/dsp.SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	return s1*s1 + s2*s2 - c*s1*s2
}
