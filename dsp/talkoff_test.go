package dsp

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/dsp/internal/oracle"
)

// Talk-off: speech synthesised with espeak-ng in several languages, voices
// and rates, plus music-like chords and noise, must not produce DTMF digits.

var talkoffTexts = map[string]string{
	"en": "Good morning, this is the automated attendant of the regional telephone cooperative. " +
		"Your call matters to us, so please stay on the line while we find somebody who can help. " +
		"Our offices are open from eight in the morning until six in the evening, Monday to Friday. " +
		"If you are calling about a fault on your line, have your account number ready, " +
		"and tell us when the problem started, whether you hear a dial tone, and whether the bell rings. " +
		"Seven, four, one, nine, three, zero, two, eight, five, six. Thank you for waiting, goodbye.",
	"de": "Guten Tag, Sie sind mit der Störungsannahme verbunden. Bitte bleiben Sie am Apparat, " +
		"der nächste freie Mitarbeiter ist gleich für Sie da. Wenn Ihre Leitung rauscht oder knackt, " +
		"halten Sie bitte Ihre Kundennummer bereit und beschreiben Sie uns genau, wann die Störung auftritt. " +
		"Wir danken Ihnen für Ihre Geduld und wünschen Ihnen einen schönen Abend. Eins, zwei, drei, vier, fünf.",
	"fr": "Bonjour et bienvenue au service clientèle. Tous nos conseillers sont actuellement occupés, " +
		"merci de patienter quelques instants. Si votre ligne ne fonctionne plus, vérifiez d'abord que " +
		"le cordon est bien branché, puis décrochez et écoutez la tonalité. Nous vous remercions de votre " +
		"confiance et vous souhaitons une excellente journée. Un, deux, trois, quatre, cinq, six.",
	"es": "Buenas tardes, gracias por llamar a la central telefónica. En este momento todas nuestras " +
		"líneas están ocupadas, por favor espere en la línea. Si desea información sobre su factura, " +
		"tenga a mano su número de cliente y el nombre del titular. Le atenderemos lo antes posible. " +
		"Uno, dos, tres, cuatro, cinco, seis, siete, ocho, nueve.",
	"it": "Buongiorno, avete raggiunto il servizio clienti. Vi preghiamo di attendere in linea, " +
		"un operatore risponderà al più presto. Se il telefono non squilla o non sentite il segnale " +
		"di linea libera, controllate il collegamento e riprovate tra qualche minuto. Grazie e arrivederci.",
	"cmn": "您好，欢迎致电客户服务中心。现在所有的座席都在忙，请您耐心等待。如果您的电话没有拨号音，" +
		"请先检查电话线是否连接好，然后再试一次。我们的营业时间是每天早上八点到晚上六点。谢谢您的来电，再见。",
	"ja": "お電話ありがとうございます。ただいま電話が大変混み合っております。しばらくそのままでお待ちください。" +
		"回線の故障については、お客様番号をご用意のうえ、担当者にお申し付けください。",
}

// talkoffVoices: language (text), espeak-ng voice, speed (words/min), pitch (0-99).
var talkoffVoices = []struct {
	text, voice  string
	speed, pitch int
}{
	{"en", "en-us", 175, 50}, {"en", "en-us+f3", 140, 70}, {"en", "en-gb+m3", 230, 35},
	{"en", "en-gb-x-rp+f2", 120, 85}, {"en", "en-us+klatt", 175, 50}, {"en", "en-us+f4", 260, 99},
	{"de", "de", 160, 50}, {"de", "de+f3", 200, 75}, {"de", "de+m2", 130, 20},
	{"fr", "fr-fr", 170, 50}, {"fr", "fr-fr+f2", 220, 80}, {"fr", "fr-fr+m4", 140, 30},
	{"es", "es", 180, 55}, {"es", "es-419+f3", 150, 90}, {"es", "es+m1", 240, 40},
	{"it", "it", 170, 50}, {"it", "it+f4", 140, 85}, {"it", "it+m3", 250, 25},
	{"cmn", "cmn", 160, 50}, {"cmn", "cmn+f3", 130, 80}, {"cmn", "cmn+m1", 200, 30},
	{"ja", "ja", 160, 50}, {"ja", "ja+f2", 130, 90}, {"ja", "ja+m3", 220, 30},
}

// requirePeer skips (or fails under LOOPSTART_REQUIRE_PEERS=1) without bin.
func requirePeer(t *testing.T, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		msg := fmt.Sprintf("%s not installed (run tools/lab/install-peers.sh): %v", bin, err)
		if os.Getenv("LOOPSTART_REQUIRE_PEERS") == "1" {
			t.Fatal(msg)
		}
		t.Skip("SKIP: " + msg)
	}
	return p
}

// speech returns the clip spoken by espeak-ng, resampled to 8 kHz and scaled
// so its peak is at −1 dBFS. WAV files are cached in a directory named by
// a hash of the inputs.
func speech(t *testing.T, espeak, voice, text string, speed, pitch int) []int16 {
	t.Helper()
	return speechAt(t, espeak, voice, text, speed, pitch, SampleRate)
}

// speechAt is speech resampled to rate instead of 8 kHz.
func speechAt(t *testing.T, espeak, voice, text string, speed, pitch, rate int) []int16 {
	t.Helper()
	key := fmt.Sprintf("%s|%d|%d|%s", voice, speed, pitch, text)
	sum := sha256.Sum256([]byte(key))
	dir := filepath.Join(os.TempDir(), "loopstart-talkoff")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, hex.EncodeToString(sum[:10])+".wav")
	b, err := os.ReadFile(file)
	if err != nil {
		tmp := file + fmt.Sprintf(".%d.tmp", os.Getpid())
		cmd := exec.Command(espeak, "-v", voice, "-s", fmt.Sprint(speed), "-p", fmt.Sprint(pitch), "-w", tmp, text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng %s: %v: %s", voice, err, out)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
		if b, err = os.ReadFile(file); err != nil {
			t.Fatal(err)
		}
	}
	wavRate, pcm, err := parseWAV(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	x := resample(pcm, wavRate, rate)
	peak := 0.0
	for _, v := range x {
		peak = math.Max(peak, math.Abs(v))
	}
	if peak == 0 {
		t.Fatalf("espeak-ng %s produced silence", voice)
	}
	g := DBFSToAmplitude(-1) / peak
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = saturate(v * g)
	}
	return out
}

// parseWAV returns the sample rate and samples of a 16-bit mono PCM WAV.
func parseWAV(b []byte) (int, []int16, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, nil, errors.New("not a wav file")
	}
	rate := 0
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8:]
		if n > len(body) || n < 0 {
			n = len(body) // espeak-ng writes a streaming length
		}
		switch id {
		case "fmt ":
			if n < 16 || binary.LittleEndian.Uint16(body[0:]) != 1 || binary.LittleEndian.Uint16(body[2:]) != 1 || binary.LittleEndian.Uint16(body[14:]) != 16 {
				return 0, nil, errors.New("wav is not 16-bit mono PCM")
			}
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			if rate == 0 {
				return 0, nil, errors.New("wav data before fmt")
			}
			x := make([]int16, n/2)
			for i := range x {
				x[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return rate, x, nil
		}
		p += 8 + n + n&1
	}
	return 0, nil, errors.New("wav without data")
}

// resample converts x from rate in to rate out with a Blackman-windowed
// sinc low-pass at 0.92 of the lower Nyquist frequency.
func resample(x []int16, in, out int) []float64 {
	const half = 24 // taps each side, in input samples
	fc := 0.46 * float64(min(in, out)) / float64(in)
	n := int(int64(len(x)) * int64(out) / int64(in))
	y := make([]float64, n)
	step := float64(in) / float64(out)
	for i := range y {
		t := float64(i) * step
		c := int(t)
		var acc float64
		for k := c - half + 1; k <= c+half; k++ {
			if k < 0 || k >= len(x) {
				continue
			}
			u := t - float64(k)
			w := 0.42 + 0.5*math.Cos(math.Pi*u/half) + 0.08*math.Cos(2*math.Pi*u/half)
			s := 2 * fc
			if u != 0 {
				s = math.Sin(2*math.Pi*fc*u) / (math.Pi * u)
			}
			acc += float64(x[k]) * s * w
		}
		y[i] = acc
	}
	return y
}

// music returns seconds of music-like material: chords of two to four
// equal-tempered notes (A4 = 440 Hz, C4 to C7) with decaying harmonics,
// some with vibrato, 120-600 ms each, at random levels.
func music(seconds float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 11))
	n := int(seconds * SampleRate)
	out := make([]int16, 0, n)
	for len(out) < n {
		dur := (120 + r.IntN(480)) * SampleRate / 1000
		notes := 2 + r.IntN(3)
		var f [4]float64
		var ph [4][3]float64
		for k := range notes {
			f[k] = 440 * math.Pow(2, float64(r.IntN(37)-9)/12)
		}
		vib := r.IntN(3) == 0
		amp := DBFSToAmplitude(-6-12*r.Float64()) / float64(notes) / 1.8
		for i := range dur {
			t := float64(i) / SampleRate
			env := math.Min(1, t/0.01) * math.Exp(-1.5*t)
			var v float64
			for k := range notes {
				fk := f[k]
				if vib {
					fk *= 1 + 0.006*math.Sin(2*math.Pi*5.5*t)
				}
				for h := range 3 {
					ph[k][h] += 2 * math.Pi * fk * float64(h+1) / SampleRate
					v += amp / float64(h+1) * math.Sin(ph[k][h])
				}
			}
			out = append(out, saturate(v*env))
		}
	}
	return out[:n]
}

// noiseBursts returns white and low-passed ("pink-ish") noise at levels from
// −40 to −6 dBFS, changing every 200 ms.
func noiseBursts(seconds float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 13))
	n := int(seconds * SampleRate)
	out := make([]int16, n)
	var lp float64
	for i := 0; i < n; i += 1600 {
		rms := DBFSToAmplitude(-40+34*r.Float64()) / math.Sqrt2
		pink := r.IntN(2) == 0
		for k := i; k < min(i+1600, n); k++ {
			v := r.NormFloat64() * rms
			if pink {
				lp = 0.9*lp + 0.1*v
				v = lp * 3
			}
			out[k] = saturate(v)
		}
	}
	return out
}

// TestDTMFTalkOff counts digits our detector and spandsp's report on
// talk-off material. Ours must report none. The full run (about 13 minutes
// of speech, 2 of music, 1 of noise) is the default; -short runs about 2
// minutes of speech.
func TestDTMFTalkOff(t *testing.T) {
	espeak := requirePeer(t, "espeak-ng")
	o := oracle.New(t)
	voices := talkoffVoices
	musicS, noiseS := 120.0, 60.0
	if testing.Short() {
		voices = []struct {
			text, voice  string
			speed, pitch int
		}{voices[0], voices[3], voices[7], voices[13], voices[19], voices[23]}
		musicS, noiseS = 20, 10
	}
	type clip struct {
		name string
		x    []int16
	}
	var clips []clip
	for _, v := range voices {
		x := speech(t, espeak, v.voice, talkoffTexts[v.text], v.speed, v.pitch)
		clips = append(clips, clip{fmt.Sprintf("speech %s %d wpm p%d", v.voice, v.speed, v.pitch), x})
	}
	clips = append(clips, clip{"music chords", music(musicS, 1)}, clip{"noise", noiseBursts(noiseS, 2)})

	var total, speechSamples int
	oursFalse, spFalse, casFalse := 0, 0, 0
	var report strings.Builder
	fmt.Fprintf(&report, "\n%-36s %8s %6s %8s\n", "material", "seconds", "ours", "spandsp")
	for _, c := range clips {
		x := mulawTrip(c.x)
		got := detect(x)
		sp, err := o.DTMF(x)
		if err != nil {
			t.Fatal(err)
		}
		total += len(x)
		if strings.HasPrefix(c.name, "speech") {
			speechSamples += len(x)
		}
		oursFalse += len(got)
		casFalse += casCount(x)
		spFalse += len(sp)
		fmt.Fprintf(&report, "%-36s %8.1f %6d %8d", c.name, float64(len(x))/SampleRate, len(got), len(sp))
		if got != "" {
			fmt.Fprintf(&report, "  ours %q", got)
		}
		if len(sp) > 0 {
			fmt.Fprintf(&report, "  spandsp %q", oracle.Digits(sp))
		}
		report.WriteByte('\n')
	}
	fmt.Fprintf(&report, "total %.1f min (speech %.1f min): false digits ours %d, spandsp %d; false CAS %d",
		float64(total)/SampleRate/60, float64(speechSamples)/SampleRate/60, oursFalse, spFalse, casFalse)
	t.Log(report.String())
	if casFalse > 0 {
		t.Errorf("talk-off: the CAS detector fired %d times", casFalse)
	}
	if oursFalse > 0 {
		t.Errorf("talk-off: our detector reported %d false digits", oursFalse)
	}
}
