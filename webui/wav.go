package webui

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WAV constants for the audio the sim API serves.
const (
	// WAVRate is the sample rate of heard.wav, in Hz.
	WAVRate = 8000
	// wavHeaderSize is the size of the canonical RIFF/WAVE PCM header.
	wavHeaderSize = 44
)

// ErrBadWAV is returned by ReadWAV for input that is not a PCM WAV file.
var ErrBadWAV = errors.New("not a 16-bit mono PCM WAV file")

// WriteWAV writes samples as a mono, 16-bit little-endian PCM WAV file at
// the given sample rate, with the canonical 44-byte RIFF header.
func WriteWAV(w io.Writer, samples []int16, rate int) error {
	if rate <= 0 {
		return fmt.Errorf("write wav: bad sample rate %d", rate)
	}
	if int64(len(samples)) > (1<<31-36)/2 { // the RIFF sizes are 32-bit
		return fmt.Errorf("write wav: %d samples is too many", len(samples))
	}
	dataLen := len(samples) * 2
	buf := make([]byte, wavHeaderSize+dataLen)
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
		le.PutUint16(buf[wavHeaderSize+2*i:], uint16(s))
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	return nil
}

// ReadWAV parses a mono 16-bit PCM WAV file (as WriteWAV writes, but
// tolerating extra chunks) and returns its samples and sample rate.
// Input is bounded to 64 MiB.
func ReadWAV(r io.Reader) (samples []int16, rate int, err error) {
	const maxSize = 64 << 20
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read wav: %w", err)
	}
	if len(data) > maxSize {
		return nil, 0, fmt.Errorf("read wav: larger than %d bytes: %w", maxSize, ErrBadWAV)
	}
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("read wav: no RIFF/WAVE header: %w", ErrBadWAV)
	}
	le := binary.LittleEndian
	haveFmt := false
	for p := 12; p+8 <= len(data); {
		id := string(data[p : p+4])
		size := int(le.Uint32(data[p+4:]))
		body := data[p+8:]
		if size < 0 || size > len(body) {
			return nil, 0, fmt.Errorf("read wav: chunk %q overruns the file: %w", id, ErrBadWAV)
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, fmt.Errorf("read wav: short fmt chunk: %w", ErrBadWAV)
			}
			if le.Uint16(body[0:]) != 1 || le.Uint16(body[2:]) != 1 || le.Uint16(body[14:]) != 16 {
				return nil, 0, fmt.Errorf("read wav: format %d, %d channels, %d bits: %w",
					le.Uint16(body[0:]), le.Uint16(body[2:]), le.Uint16(body[14:]), ErrBadWAV)
			}
			rate = int(le.Uint32(body[4:]))
			if rate == 0 {
				return nil, 0, fmt.Errorf("read wav: sample rate 0: %w", ErrBadWAV)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("read wav: data before fmt: %w", ErrBadWAV)
			}
			samples = make([]int16, size/2)
			for i := range samples {
				samples[i] = int16(le.Uint16(body[2*i:]))
			}
			return samples, rate, nil
		}
		p += 8 + size + size&1 // chunks are padded to even sizes
	}
	return nil, 0, fmt.Errorf("read wav: no data chunk: %w", ErrBadWAV)
}
