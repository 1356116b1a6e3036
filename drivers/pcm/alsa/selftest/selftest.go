// Package selftest is the hidden `loopstart pcm-selftest`: it runs the
// ALSA PCM highway (package alsa) on snd-aloop's Loopback card, plays a
// tone on each timeslot and checks what comes back, bit for bit. The
// image's boot runs it when the kernel command line asks for it, and
// the QEMU image test reads its one output line. Main is the whole
// command, so its output and exit codes can be tested without a process.
package selftest

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/drivers/pcm/alsa"
	"github.com/loopstart/loopstart/dsp"
)

// Main is the hidden `loopstart pcm-selftest` (args without the command
// name); it returns the exit code. It runs the ALSA PCM highway on
// snd-aloop's Loopback card, playback on device 0 and capture on device 1
// (the same substream comes back), plays a different tone on each slot for
// a bounded time and checks what comes back after a 500 ms warm-up (the
// start-up transient, whose xruns are reported but allowed): bit-exact
// after one constant delay (no gaps, no slipped or swapped slots), each
// slot's dominant tone and level, no xruns while the loop was on time,
// and the frame pacing against the wall clock. An xrun after the loop ran
// a frame late must cost one slip, bit-exact on either side. It prints
// one line, "pcm-selftest: PASS ..." or "pcm-selftest: FAIL ...", with
// the figures, and exits 0 or 1 (2 on a
// usage error). `loopstart boot` runs it when the kernel command line says
// loopstart.selftest=pcm (the QEMU image test TestBootALSA does).
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pcm-selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	card := fs.Int("card", -1, "ALSA card number (-1: the snd-aloop Loopback card from /proc/asound/cards)")
	slots := fs.Int("slots", 4, "timeslots (channels), 1-8")
	dur := fs.Duration("duration", 2*time.Second, "how long to run the highway")
	level := fs.Float64("level", -10, "tone level per slot, dBFS")
	wait := fs.Duration("wait", 5*time.Second, "how long to wait for the card to appear")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *slots < 1 || *slots > len(selftestFreqs) || *dur < 500*time.Millisecond || *dur > time.Minute {
		fmt.Fprintf(stderr, "pcm-selftest: want -slots 1-%d and -duration 500ms-1m\n", len(selftestFreqs))
		return 2
	}
	c := *card
	if c < 0 {
		deadline := time.Now().Add(*wait)
		for {
			n, err := loopbackCard("/proc/asound/cards")
			if err == nil {
				c = n
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(stdout, "pcm-selftest: FAIL no loopback card: %v\n", err)
				return 1
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	frames := int(*dur / pcm.FrameDuration)
	ctx, cancel := context.WithTimeout(context.Background(), (*dur+selftestWarmup)*3+5*time.Second)
	defer cancel()
	r, err := runSelftest(ctx, uint(c), *slots, int(selftestWarmup/pcm.FrameDuration), frames, *level)
	if err != nil {
		fmt.Fprintf(stdout, "pcm-selftest: FAIL card=%d: %v\n", c, err)
		return 1
	}
	fmt.Fprintln(stdout, r.String())
	if !r.Pass() {
		return 1
	}
	return 0
}

// selftestFreqs are the slots' tones (Hz): apart by more than the
// analysis can confuse, none a divisor of 8000 Hz that would repeat the
// sample pattern within the lag search.
var selftestFreqs = []float64{437, 811, 1193, 1567, 1949, 2333, 2707, 3089}

// loopbackCard returns the number of snd-aloop's "Loopback" card listed in
// path (/proc/asound/cards).
func loopbackCard(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// " 0 [Loopback       ]: Loopback - Loopback"
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && strings.Contains(sc.Text(), "Loopback") {
			if n, err := strconv.Atoi(fields[0]); err == nil {
				return n, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no Loopback card in " + path + " (is snd-aloop loaded?)")
}

// selftestSignal returns slot s's test signal: a sine at selftestFreqs[s]
// with a phase that makes sample 0 non-zero, n samples.
func selftestSignal(s, n int, levelDBFS float64) []int16 {
	amp := dsp.DBFSToAmplitude(levelDBFS)
	out := make([]int16, n)
	w := 2 * math.Pi * selftestFreqs[s] / pcm.SampleRate
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(w*float64(i)+0.5+float64(s))))
	}
	return out
}

// selftestWarmup is run before the measured interval.
const selftestWarmup = 500 * time.Millisecond

// runSelftest opens the highway on card (playback device 0, capture device
// 1), runs warm+frames frames of the test signal through it and analyses
// the capture of the last frames.
func runSelftest(ctx context.Context, card uint, slots, warm, frames int, levelDBFS float64) (selftestReport, error) {
	zero := uint(0)
	h, err := alsa.Open(alsa.Opts{Card: card, Device: 1, PlaybackDevice: &zero, Slots: slots})
	if err != nil {
		return selftestReport{}, err
	}
	defer h.Close()
	total := warm + frames
	n := total * pcm.FrameSamples
	tx := make([][]int16, slots)
	rx := make([][]int16, slots)
	for s := range slots {
		tx[s] = selftestSignal(s, n, levelDBFS)
		rx[s] = make([]int16, n)
	}
	txf := make([][]int16, slots)
	rxf := make([][]int16, slots)
	lates := make([]time.Duration, total)
	var start time.Time
	var warmCap, warmPlay int
	for f := range total {
		if f == warm {
			start = time.Now()
			warmCap, warmPlay = h.Xruns()
		}
		for s := range slots {
			txf[s] = tx[s][f*pcm.FrameSamples : (f+1)*pcm.FrameSamples]
			rxf[s] = rx[s][f*pcm.FrameSamples : (f+1)*pcm.FrameSamples]
		}
		_, late, err := h.Exchange(ctx, txf, rxf)
		if err != nil {
			return selftestReport{}, fmt.Errorf("frame %d: %w", f, err)
		}
		lates[f] = late
	}
	elapsed := time.Since(start)
	r := analyzeSelftest(tx, rx, warm*pcm.FrameSamples, levelDBFS)
	r.Card, r.Frames, r.Elapsed = card, frames, elapsed
	c, p := h.Xruns()
	r.CapXruns, r.PlayXruns = c-warmCap, p-warmPlay
	r.WarmXruns = warmCap + warmPlay
	for _, l := range lates[warm:] {
		r.MaxLate = max(r.MaxLate, l)
	}
	return r, nil
}

// selftestReport is what the self-test measured.
type selftestReport struct {
	Card      uint
	Slots     int
	Frames    int
	Elapsed   time.Duration // wall time for Frames frames
	MaxLate   time.Duration // the highway's worst reported lateness
	Lag       int           // samples from playback to capture (negative: the start was lost)
	Found     bool          // the capture matched the playback at Lag
	Compared  int           // samples per slot compared at the lag of the moment
	Mismatch  int           // samples that differ where the lag held (all slots)
	Slips     int           // times the capture came back at another lag
	Skipped   int           // samples per slot lost in the slips
	FirstBad  int           // first differing capture sample, -1 if none
	Tones     []float64     // dominant tone per slot over the last 500 ms
	Levels    []float64     // level per slot over the last 500 ms, dBFS
	Want      []float64     // the tones played
	WantLevel float64
	CapXruns  int // after the warm-up
	PlayXruns int
	WarmXruns int // during the warm-up
}

// Selftest limits: a tone within ±3 Hz, a level within ±0.5 dB, the frame
// rate within 5 % of real time, the lag within ±100 ms, at least 500 ms
// compared, a slip back in step within 200 ms, and an xrun only when the
// loop ran a frame or more late (selftestXrunLate).
const (
	selftestToneHz  = 3
	selftestLevelDB = 0.5
	selftestRate    = 0.05
	selftestMaxLag  = pcm.SampleRate / 10
	selftestResync  = pcm.SampleRate / 5
	selftestWindow  = 2 * pcm.FrameSamples // samples that must match to lock on
)

// selftestXrunLate is how late the loop must have been for an xrun to be
// the loop's and not the highway's: the playback prime (2 frames) covers a
// loop a frame late with a frame to spare; the sound card's timer (a
// jiffy on snd-aloop) and an emulated guest's clock eat the spare frame.
// A loop this late in a self-test is the machine's (the self-test does
// nothing else; under QEMU's TCG the whole guest stops when the emulator
// does): then the highway's part is its recovery, one slip per xrun, bit
// exact on either side.
const selftestXrunLate = pcm.FrameDuration

// rate is the highway's frame rate against the wall clock (1 = real time).
func (r selftestReport) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(time.Duration(r.Frames)*pcm.FrameDuration) / float64(r.Elapsed)
}

// problems lists why the test fails; none means it passes.
func (r selftestReport) problems() []string {
	var p []string
	if !r.Found {
		p = append(p, "playback never came back bit-exact")
	} else if r.Compared < pcm.SampleRate/2 {
		p = append(p, fmt.Sprintf("only %d samples compared", r.Compared))
	}
	if r.Mismatch > 0 {
		p = append(p, fmt.Sprintf("%d samples differ from sample %d", r.Mismatch, r.FirstBad))
	}
	if xruns := r.CapXruns + r.PlayXruns; r.Slips > xruns {
		p = append(p, fmt.Sprintf("the capture slipped %d times (%d samples) from sample %d with %d xruns", r.Slips, r.Skipped, r.FirstBad, xruns))
	}
	for s, want := range r.Want {
		if s >= len(r.Tones) || math.Abs(r.Tones[s]-want) > selftestToneHz {
			got := math.NaN()
			if s < len(r.Tones) {
				got = r.Tones[s]
			}
			p = append(p, fmt.Sprintf("slot %d tone %.0f Hz, want %.0f", s, got, want))
		}
		if s < len(r.Levels) && math.Abs(r.Levels[s]-r.WantLevel) > selftestLevelDB {
			p = append(p, fmt.Sprintf("slot %d level %.1f dBFS, want %.1f", s, r.Levels[s], r.WantLevel))
		}
	}
	if r.CapXruns+r.PlayXruns > 0 && r.MaxLate < selftestXrunLate {
		p = append(p, fmt.Sprintf("xruns capture %d playback %d with the loop on time (max late %v)", r.CapXruns, r.PlayXruns, r.MaxLate.Round(100*time.Microsecond)))
	}
	if r.Elapsed > 0 && math.Abs(r.rate()-1) > selftestRate {
		p = append(p, fmt.Sprintf("frame rate %.3f of real time", r.rate()))
	}
	return p
}

// Pass reports whether every check passed.
func (r selftestReport) Pass() bool { return len(r.problems()) == 0 }

// String is the one-line summary.
func (r selftestReport) String() string {
	verdict := "PASS"
	if p := r.problems(); len(p) > 0 {
		verdict = "FAIL " + strings.Join(p, "; ")
	}
	tones := make([]string, len(r.Tones))
	for i, t := range r.Tones {
		tones[i] = strconv.FormatFloat(t, 'f', 0, 64)
	}
	levels := make([]string, len(r.Levels))
	for i, l := range r.Levels {
		levels[i] = strconv.FormatFloat(l, 'f', 1, 64)
	}
	return fmt.Sprintf("pcm-selftest: %s card=%d slots=%d frames=%d lag=%d samples (%.1f ms) compared=%d mismatches=%d slips=%d skipped=%d "+
		"tones=%s Hz levels=%s dBFS xruns=%d/%d warmup_xruns=%d rate=%.4f max_late=%v",
		verdict, r.Card, r.Slots, r.Frames, r.Lag, float64(r.Lag)*1000/pcm.SampleRate, r.Compared, r.Mismatch, r.Slips, r.Skipped,
		strings.Join(tones, ","), strings.Join(levels, ","), r.CapXruns, r.PlayXruns, r.WarmXruns, r.rate(), r.MaxLate.Round(100*time.Microsecond))
}

// analyzeSelftest compares the captured slots rx with the played slots tx
// from sample warm on. It locks onto the lag at which a window of every
// slot's capture equals the playback exactly, then walks the capture at
// that lag: a differing sample is either corruption (the capture comes
// back at the same lag: the differing samples count as mismatches) or a
// slip (it comes back at another lag within selftestResync: an xrun's
// recovery, which drops or inserts samples; the samples until then are
// skipped). It also measures each slot's tone and level over the last
// 500 ms.
func analyzeSelftest(tx, rx [][]int16, warm int, levelDBFS float64) selftestReport {
	r := selftestReport{Slots: len(tx), FirstBad: -1, WantLevel: levelDBFS}
	for s := range tx {
		r.Want = append(r.Want, selftestFreqs[s])
	}
	if len(tx) == 0 || len(rx) != len(tx) {
		return r
	}
	n := len(rx[0])
	if warm < 0 || warm+selftestWindow > n {
		return r
	}
	lock := func(from, to, prefer int) (at, lag int, ok bool) {
		for j := from; j < to && j+selftestWindow <= n; j++ {
			if matchAt(tx, rx, j, prefer) {
				return j, prefer, true
			}
			for l := -selftestMaxLag; l <= selftestMaxLag; l++ {
				if l != prefer && matchAt(tx, rx, j, l) {
					return j, l, true
				}
			}
		}
		return 0, 0, false
	}
	i, lag, ok := lock(warm, n, 0)
	if !ok {
		r.measureTones(rx)
		return r
	}
	r.Lag, r.Found = lag, true
	for i < n && i-lag < n {
		if differing(tx, rx, i, lag) == 0 {
			r.Compared++
			i++
			continue
		}
		if r.FirstBad < 0 {
			r.FirstBad = i
		}
		at, l, ok := lock(i, i+selftestResync, lag)
		if !ok { // never back: everything left differs
			r.Mismatch += (min(n, n+lag) - i) * len(tx)
			break
		}
		if l == lag { // corruption: count what differs up to the lock
			for ; i < at; i++ {
				r.Mismatch += differing(tx, rx, i, lag)
			}
			continue
		}
		r.Slips++
		r.Skipped += at - i
		i, lag = at, l
	}
	r.measureTones(rx)
	return r
}

// differing returns how many slots' capture sample i differs from the
// playback lag samples earlier.
func differing(tx, rx [][]int16, i, lag int) int {
	bad := 0
	for s := range tx {
		if i-lag < 0 || rx[s][i] != tx[s][i-lag] {
			bad++
		}
	}
	return bad
}

// matchAt reports whether every slot's capture from sample i equals the
// playback lag samples earlier over selftestWindow samples.
func matchAt(tx, rx [][]int16, i, lag int) bool {
	n := len(rx[0])
	if i-lag < 0 || i-lag+selftestWindow > n || i+selftestWindow > n {
		return false
	}
	for s := range tx {
		if !slices.Equal(rx[s][i:i+selftestWindow], tx[s][i-lag:i-lag+selftestWindow]) {
			return false
		}
	}
	return true
}

// measureTones fills in each slot's dominant tone and level over the last
// 500 ms of the capture.
func (r *selftestReport) measureTones(rx [][]int16) {
	n := len(rx[0])
	tail := min(n, pcm.SampleRate/2)
	for s := range rx {
		seg := rx[s][n-tail:]
		t := dsp.DominantTones(seg, 1)
		f := math.NaN()
		if len(t) > 0 {
			f = t[0]
		}
		r.Tones = append(r.Tones, f)
		r.Levels = append(r.Levels, dsp.LevelDBFS(seg))
	}
}
