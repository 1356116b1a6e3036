// Package wav reads and writes the 16-bit PCM WAV files the project's tools
// exchange: what a virtual phone heard (the sim API's heard.wav), the DSP
// command's input and output, and the interop lab's recordings. It is the
// one WAV implementation in the tree; it imports only the standard library.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderSize is the size of the canonical RIFF/WAVE PCM header Write emits.
const HeaderSize = 44

// MaxSize bounds the input Read and ReadFirstChannel accept, in bytes.
const MaxSize = 64 << 20

// ErrBad is returned (wrapped) for input that is not a 16-bit PCM WAV file
// of the kind asked for.
var ErrBad = errors.New("not a 16-bit mono PCM WAV file")

// Write writes samples as a mono, 16-bit little-endian PCM WAV file at the
// given sample rate, with the canonical 44-byte RIFF header.
func Write(w io.Writer, samples []int16, rate int) error {
	if rate <= 0 {
		return fmt.Errorf("write wav: bad sample rate %d", rate)
	}
	if int64(len(samples)) > (1<<31-36)/2 { // the RIFF sizes are 32-bit
		return fmt.Errorf("write wav: %d samples is too many", len(samples))
	}
	dataLen := len(samples) * 2
	buf := make([]byte, HeaderSize+dataLen)
	le := binary.LittleEndian
	copy(buf[0:], "RIFF")
	le.PutUint32(buf[4:], uint32(36+dataLen))
	copy(buf[8:], "WAVE")
	copy(buf[12:], "fmt ")
	le.PutUint32(buf[16:], 16)             // fmt chunk size
	le.PutUint16(buf[20:], 1)              // PCM
	le.PutUint16(buf[22:], 1)              // mono
	le.PutUint32(buf[24:], uint32(rate))   // sample rate
	le.PutUint32(buf[28:], uint32(rate*2)) // byte rate
	le.PutUint16(buf[32:], 2)              // block align
	le.PutUint16(buf[34:], 16)             // bits per sample
	copy(buf[36:], "data")
	le.PutUint32(buf[40:], uint32(dataLen))
	for i, s := range samples {
		le.PutUint16(buf[HeaderSize+2*i:], uint16(s))
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	return nil
}

// Read parses a mono 16-bit PCM WAV file (as Write writes, tolerating
// extra chunks) and returns its samples and sample rate. Input is bounded
// to MaxSize.
func Read(r io.Reader) (samples []int16, rate int, err error) {
	return read(r, false)
}

// ReadFirstChannel is Read for recordings: files of any channel count (a
// recorder's stereo file, say), of which it returns the first channel, and
// a data chunk cut short (a recording still being written, whose header
// does not yet give the final size) yields the samples present.
func ReadFirstChannel(r io.Reader) (samples []int16, rate int, err error) {
	return read(r, true)
}

func read(r io.Reader, recording bool) (samples []int16, rate int, err error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read wav: %w", err)
	}
	if len(data) > MaxSize {
		return nil, 0, fmt.Errorf("read wav: larger than %d bytes: %w", MaxSize, ErrBad)
	}
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("read wav: no RIFF/WAVE header: %w", ErrBad)
	}
	le := binary.LittleEndian
	channels := 0
	for p := 12; p+8 <= len(data); {
		id := string(data[p : p+4])
		size := int(le.Uint32(data[p+4:]))
		body := data[p+8:]
		if id == "data" && recording {
			size = min(size, len(body))
		}
		if size < 0 || size > len(body) {
			return nil, 0, fmt.Errorf("read wav: chunk %q overruns the file: %w", id, ErrBad)
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, fmt.Errorf("read wav: short fmt chunk: %w", ErrBad)
			}
			format, ch, bits := le.Uint16(body[0:]), int(le.Uint16(body[2:])), le.Uint16(body[14:])
			if format != 1 || bits != 16 || ch < 1 || (ch != 1 && !recording) {
				return nil, 0, fmt.Errorf("read wav: format %d, %d channels, %d bits: %w", format, ch, bits, ErrBad)
			}
			rate = int(le.Uint32(body[4:]))
			if rate == 0 {
				return nil, 0, fmt.Errorf("read wav: sample rate 0: %w", ErrBad)
			}
			channels = ch
		case "data":
			if channels == 0 {
				return nil, 0, fmt.Errorf("read wav: data before fmt: %w", ErrBad)
			}
			frame := 2 * channels
			samples = make([]int16, size/frame)
			for i := range samples {
				samples[i] = int16(le.Uint16(body[frame*i:]))
			}
			return samples, rate, nil
		}
		p += 8 + size + size&1 // chunks are padded to even sizes
	}
	return nil, 0, fmt.Errorf("read wav: no data chunk: %w", ErrBad)
}
