package wav

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
)

func TestWriteWAVHeader(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, []int16{1, -2}, 8000); err != nil {
		t.Fatal(err)
	}
	want := "52494646" + "28000000" + "57415645" + // RIFF, 36+4, WAVE
		"666d7420" + "10000000" + "0100" + "0100" + // "fmt ", 16, PCM, mono
		"401f0000" + "803e0000" + "0200" + "1000" + // 8000 Hz, 16000 B/s, align 2, 16 bits
		"64617461" + "04000000" + // data, 4 bytes
		"0100" + "feff" // 1, -2
	if got := hex.EncodeToString(b.Bytes()); got != want {
		t.Errorf("wav =\n%s\nwant\n%s", got, want)
	}
	if err := Write(&b, nil, 0); err == nil {
		t.Error("rate 0 accepted")
	}
}

func TestWAVRoundTrip(t *testing.T) {
	for _, samples := range [][]int16{{}, {0}, {32767, -32768, 5, -5}} {
		var b bytes.Buffer
		if err := Write(&b, samples, 16000); err != nil {
			t.Fatal(err)
		}
		got, rate, err := Read(&b)
		if err != nil || rate != 16000 || !reflect.DeepEqual(got, samples) {
			t.Errorf("%v: got %v %d %v", samples, got, rate, err)
		}
	}
}

func TestReadWAVExtraChunk(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, []int16{7, 8}, 8000); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	// Insert an odd-sized LIST chunk (padded) between fmt and data.
	extra := []byte("LIST\x03\x00\x00\x00abc\x00")
	in := append(append(append([]byte{}, raw[:36]...), extra...), raw[36:]...)
	got, _, err := Read(bytes.NewReader(in))
	if err != nil || !reflect.DeepEqual(got, []int16{7, 8}) {
		t.Errorf("got %v %v", got, err)
	}
}

func TestReadWAVBad(t *testing.T) {
	var good bytes.Buffer
	Write(&good, []int16{1, 2, 3}, 8000)
	g := good.Bytes()
	stereo := append([]byte{}, g...)
	stereo[22] = 2
	bad := map[string][]byte{
		"empty":      nil,
		"not riff":   []byte("RIFX\x00\x00\x00\x00WAVE"),
		"no chunks":  []byte("RIFF\x04\x00\x00\x00WAVE"),
		"stereo":     stereo,
		"truncated":  g[:len(g)-2],
		"data first": append([]byte("RIFF\x00\x00\x00\x00WAVE"), g[36:]...),
		"short fmt":  []byte("RIFF\x00\x00\x00\x00WAVEfmt \x02\x00\x00\x00\x01\x00"),
	}
	for name, in := range bad {
		if _, _, err := Read(bytes.NewReader(in)); !errors.Is(err, ErrBad) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzReadWAV(f *testing.F) {
	var b bytes.Buffer
	Write(&b, []int16{1, 2, 3}, 8000)
	f.Add(b.Bytes())
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		samples, rate, err := Read(bytes.NewReader(in))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Write(&out, samples, rate); err != nil {
			t.Fatal(err)
		}
		back, r2, err := Read(&out)
		if err != nil || r2 != rate || len(back) != len(samples) {
			t.Fatalf("rewrite: %v %d %v", len(back), r2, err)
		}
	})
}

func TestReadFirstChannel(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, []int16{1, 100, 2, 200, 3, 300}, 8000); err != nil {
		t.Fatal(err)
	}
	stereo := b.Bytes()
	stereo[22] = 2 // channels
	got, rate, err := ReadFirstChannel(bytes.NewReader(stereo))
	if err != nil || rate != 8000 || !reflect.DeepEqual(got, []int16{1, 2, 3}) {
		t.Errorf("got %v %d %v", got, rate, err)
	}
	if _, _, err := Read(bytes.NewReader(stereo)); !errors.Is(err, ErrBad) {
		t.Errorf("Read took stereo: %v", err)
	}
}
