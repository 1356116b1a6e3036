package sim

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// rig drives a Phone frame by frame as a chip model would.
type rig struct {
	p    *Phone
	seq  uint64
	ear  []int16
	mout []int16
	tone dsp.ToneGen // what the line plays into the earpiece
	keys dsp.DTMFGen // DTMF the line plays into the earpiece
}

func newRig() *rig {
	return &rig{
		p:    NewPhone(1),
		seq:  1, // the media loop's first frame is 0; start past it
		ear:  make([]int16, pcm.FrameSamples),
		mout: make([]int16, pcm.FrameSamples),
	}
}

// step runs one frame and returns whether the loop was closed during it.
func (r *rig) step() bool {
	r.tone.Fill(r.ear)
	r.keys.Add(r.ear)
	r.p.Audio(r.seq, r.ear, r.mout)
	r.seq++
	return r.p.LoopClosed()
}

// run runs n frames and returns the mouthpiece audio.
func (r *rig) run(n int) []int16 {
	var out []int16
	for range n {
		r.step()
		out = append(out, r.mout...)
	}
	return out
}

func TestHookStates(t *testing.T) {
	tests := []struct {
		name    string
		actions []string
		wantErr bool
		closed  bool
		hook    string
	}{
		{"starts on hook", nil, false, false, "on"},
		{"off", []string{"off"}, false, true, "off"},
		{"off then on", []string{"off", "on"}, false, false, "on"},
		{"flash on hook fails", []string{"flash"}, true, false, "on"},
		{"bad state", []string{"sideways"}, true, false, "on"},
		{"empty state", []string{""}, true, false, "on"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			var err error
			for _, a := range tc.actions {
				err = r.p.SetHook(a)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got := r.step(); got != tc.closed {
				t.Fatalf("loop closed = %v, want %v", got, tc.closed)
			}
			if got := r.p.State().Hook; got != tc.hook {
				t.Fatalf("hook %q, want %q", got, tc.hook)
			}
		})
	}
}

// loopPattern runs frames until the loop has stayed closed for idle frames
// after the last break and returns the lengths, in frames, of alternating
// closed/open runs starting with the first open run.
func loopPattern(t *testing.T, r *rig, maxFrames, idle int) []int {
	t.Helper()
	var runs []int
	cur, n, sinceOpen := true, 0, 0
	for range maxFrames {
		c := r.step()
		if c != cur {
			if len(runs) > 0 || !cur {
				runs = append(runs, n)
			}
			cur, n = c, 0
		}
		n++
		if c {
			sinceOpen++
		} else {
			sinceOpen = 0
		}
		if len(runs) > 0 && sinceOpen >= idle {
			return runs
		}
	}
	if !cur {
		runs = append(runs, n)
	}
	return runs
}

func TestFlash(t *testing.T) {
	r := newRig()
	if err := r.p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	r.step()
	if err := r.p.SetHook("flash"); err != nil {
		t.Fatal(err)
	}
	// The first open run is the flash; loopPattern starts counting at it.
	runs := loopPattern(t, r, 200, 100)
	if len(runs) != 1 || runs[0] != 50 {
		t.Fatalf("flash opened the loop for %v frames, want [50]", runs)
	}
	if r.p.State().Hook != "off" {
		t.Fatal("phone not off hook after a flash")
	}
}

func TestPulseDial(t *testing.T) {
	r := newRig()
	if err := r.p.Dial("1", "pulse"); err == nil {
		t.Fatal("pulse dialling on hook: no error")
	}
	if err := r.p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	r.step()
	if err := r.p.Dial("203", "pulse"); err != nil {
		t.Fatal(err)
	}
	runs := loopPattern(t, r, 2000, 80)
	// Runs alternate open, closed, open, ...: 2 pulses, 10, 3.
	var want []int
	for i, n := range []int{2, 10, 3} {
		for k := range n {
			want = append(want, 6)
			if k < n-1 {
				want = append(want, 4)
			} else if i < 2 {
				want = append(want, 70)
			}
		}
	}
	if len(runs) != len(want) {
		t.Fatalf("got %d runs %v, want %d %v", len(runs), runs, len(want), want)
	}
	for i := range want {
		if runs[i] != want[i] {
			t.Fatalf("run %d is %d frames, want %d (all: %v)", i, runs[i], want[i], runs)
		}
	}
}

func TestDialErrors(t *testing.T) {
	tests := []struct {
		name, digits, mode string
	}{
		{"empty", "", "dtmf"},
		{"bad dtmf", "12x", "dtmf"},
		{"bad default", "1 2", ""},
		{"pulse star", "1*", "pulse"},
		{"bad mode", "1", "tone"},
		{"too long", strings.Repeat("1", MaxDialDigits+1), "dtmf"},
		{"too long pulse", strings.Repeat("1", MaxDialDigits+1), "pulse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			if err := r.p.SetHook("off"); err != nil {
				t.Fatal(err)
			}
			if err := r.p.Dial(tc.digits, tc.mode); err == nil {
				t.Fatal("no error")
			}
			// Nothing was queued: the loop stays closed and the mouth silent.
			for range 100 {
				if !r.step() {
					t.Fatal("loop broke after a rejected dial")
				}
				for _, s := range r.mout {
					if s != 0 {
						t.Fatal("mouth not silent after a rejected dial")
					}
				}
			}
		})
	}
}

func TestDTMFDial(t *testing.T) {
	r := newRig()
	if err := r.p.Dial("5", ""); err == nil {
		t.Fatal("dtmf dialling on hook: no error")
	}
	if err := r.p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Dial("159#", ""); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Dial("*0D", "dtmf"); err != nil {
		t.Fatal(err)
	}
	mouth := r.run(200)
	got := string(dsp.NewDTMFDetector().Process(mouth, nil))
	if got != "159#*0D" {
		t.Fatalf("detector decoded %q from the mouthpiece, want 159#*0D", got)
	}
	// The first digit burst is 100 ms at about -7 dBm0 (two tones).
	if l := dsp.LevelDBFS(mouth[:800]); l < -12 || l > -4 {
		t.Fatalf("dtmf burst level %.1f dBFS", l)
	}
	if l := dsp.LevelDBFS(mouth[800:1600]); l > -100 {
		t.Fatalf("inter-digit gap level %.1f dBFS, want silence", l)
	}
}

func TestSay(t *testing.T) {
	r := newRig()
	if err := r.p.Say([]float64{1000}, -12); err != nil {
		t.Fatal(err)
	}
	if m := r.run(10); dsp.LevelDBFS(m) > -100 {
		t.Fatal("phone talks while on hook")
	}
	if err := r.p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	m := r.run(50)
	tones := dsp.DominantTones(m, 4)
	if len(tones) != 1 || math.Abs(tones[0]-1000) > 2 {
		t.Fatalf("mouth tones %v, want [1000]", tones)
	}
	if l := dsp.LevelDBFS(m); math.Abs(l+12) > 0.5 {
		t.Fatalf("mouth level %.2f dBFS, want -12", l)
	}
	if err := r.p.Say([]float64{350, 440}, -10); err != nil {
		t.Fatal(err)
	}
	tones = dsp.DominantTones(r.run(50), 4)
	if len(tones) != 2 || math.Abs(tones[0]-350) > 2 || math.Abs(tones[1]-440) > 2 {
		t.Fatalf("mouth tones %v, want [350 440]", tones)
	}
	if err := r.p.Say(nil, 0); err != nil {
		t.Fatal(err)
	}
	if l := dsp.LevelDBFS(r.run(10)); l > -100 {
		t.Fatalf("mouth level %.1f after Say with no tones", l)
	}
	for _, bad := range [][]float64{{0}, {4000}, {-5}, {1, 2, 3, 4, 5}, {math.NaN()}} {
		if err := r.p.Say(bad, -10); err == nil {
			t.Errorf("Say(%v) accepted", bad)
		}
	}
	if err := r.p.Say([]float64{1000}, 3); err == nil {
		t.Error("Say at +3 dBFS accepted")
	}
}

func TestHearing(t *testing.T) {
	r := newRig()
	st := r.p.State()
	if st.Hearing.TonesHz == nil || len(st.Hearing.TonesHz) != 0 || st.Hearing.LevelDBFS != -120 {
		t.Fatalf("silent phone hears %+v", st.Hearing)
	}
	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"tones_hz":[]`, `"caller_id":null`, `"kind":"fxs"`, `"hook":"on"`, `"port":1`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("state JSON %s lacks %s", js, want)
		}
	}

	r.tone.PlayFreqs([]float64{350, 440}, -15)
	r.run(100)
	st = r.p.State()
	if len(st.Hearing.TonesHz) != 2 || math.Abs(st.Hearing.TonesHz[0]-350) > 2 || math.Abs(st.Hearing.TonesHz[1]-440) > 2 {
		t.Fatalf("hears tones %v, want [350 440]", st.Hearing.TonesHz)
	}
	// PlayFreqs splits the level between the tones: each is at -21 dBFS,
	// together -18 dBFS RMS.
	if math.Abs(st.Hearing.LevelDBFS+18) > 0.5 {
		t.Fatalf("hears level %.2f, want about -18", st.Hearing.LevelDBFS)
	}

	// DTMF on the line: detected, in the window, and in dtmf_heard.
	r.tone.Stop()
	if err := r.p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	if err := r.keys.Queue("42", 80*time.Millisecond, 80*time.Millisecond, -10); err != nil {
		t.Fatal(err)
	}
	r.run(40)
	st = r.p.State()
	if st.Hearing.DTMF != "42" || st.DTMFHeard != "42" {
		t.Fatalf("hearing dtmf %q, heard %q, want 42", st.Hearing.DTMF, st.DTMFHeard)
	}
	r.run(20) // the 42 leave the 500 ms window
	if err := r.keys.Queue("7", 80*time.Millisecond, 80*time.Millisecond, -10); err != nil {
		t.Fatal(err)
	}
	r.run(20)
	st = r.p.State()
	if st.Hearing.DTMF != "7" || st.DTMFHeard != "427" {
		t.Fatalf("hearing dtmf %q, heard %q, want 7 and 427", st.Hearing.DTMF, st.DTMFHeard)
	}
	// Going off hook again starts dtmf_heard afresh.
	if err := r.p.SetHook("on"); err != nil {
		t.Fatal(err)
	}
	if err := r.p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	if st := r.p.State(); st.DTMFHeard != "" {
		t.Fatalf("heard %q after going off hook again", st.DTMFHeard)
	}
}

func TestHeard(t *testing.T) {
	r := newRig()
	if got := r.p.Heard(time.Second); len(got) != 0 {
		t.Fatalf("heard %d samples before any frame", len(got))
	}
	// Number the samples so order and position can be checked.
	var next int16
	for range 3100 { // 31 s: the ring buffer wraps
		for i := range r.ear {
			r.ear[i] = next
			next++
		}
		r.p.Audio(r.seq, r.ear, r.mout)
		r.seq++
	}
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 0},
		{-time.Second, 0},
		{10 * time.Millisecond, 80},
		{2 * time.Second, 16000},
		{time.Hour, historySamples},
	}
	for _, tc := range tests {
		got := r.p.Heard(tc.d)
		if len(got) != tc.want {
			t.Fatalf("Heard(%v): %d samples, want %d", tc.d, len(got), tc.want)
		}
		for i := range got {
			if want := next - int16(len(got)-i); got[i] != want {
				t.Fatalf("Heard(%v)[%d] = %d, want %d", tc.d, i, got[i], want)
			}
		}
	}
}

func TestRingCadence(t *testing.T) {
	r := newRig()
	// US cadence: 2 s on, 4 s off, three bursts.
	ring := func(on bool, frames int) {
		r.p.Ring(on)
		for range frames {
			r.step()
		}
	}
	ring(true, 100)
	st := r.p.State()
	if !st.Ringing || st.Rings != 1 || st.LastRingMS != 0 {
		t.Fatalf("mid first burst: %+v", st)
	}
	ring(false, 200)
	st = r.p.State()
	if !st.Ringing || st.Rings != 1 || st.LastRingMS != 1000 {
		t.Fatalf("in the pause: ringing %v rings %d last ring %d", st.Ringing, st.Rings, st.LastRingMS)
	}
	for range 2 {
		ring(true, 200)
		ring(false, 400)
	}
	st = r.p.State()
	if !st.Ringing || st.Rings != 3 || st.LastRingMS != 2000 || st.LastPauseMS != 4000 {
		t.Fatalf("after 3 bursts: ringing %v rings %d last %d/%d", st.Ringing, st.Rings, st.LastRingMS, st.LastPauseMS)
	}
	r.run(60) // 4.6 s after the last burst
	if st := r.p.State(); st.Ringing || st.Rings != 3 {
		t.Fatalf("after ringing stopped: ringing %v rings %d", st.Ringing, st.Rings)
	}
	// A new call starts counting afresh.
	ring(true, 10)
	if st := r.p.State(); st.Rings != 1 || st.LastPauseMS != 0 {
		t.Fatalf("new call: rings %d last pause %d", st.Rings, st.LastPauseMS)
	}
	// Answer during the burst: ringing ends; ring voltage off hook is no ring.
	if err := r.p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	ring(false, 10)
	ring(true, 10)
	ring(false, 10)
	if st := r.p.State(); st.Ringing || st.Rings != 1 {
		t.Fatalf("off hook: ringing %v rings %d", st.Ringing, st.Rings)
	}
	if err := r.p.SetHook("on"); err != nil {
		t.Fatal(err)
	}
	if st := r.p.State(); st.Ringing {
		t.Fatal("hung up after answering: still ringing")
	}
	// Repeated calls with the same state are no edges.
	ring(true, 5)
	ring(true, 5)
	if st := r.p.State(); st.Rings != 1 {
		t.Fatalf("repeated Ring(true) counted %d rings", st.Rings)
	}
}

func TestAudioNoAllocs(t *testing.T) {
	r := newRig()
	if err := r.p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Say([]float64{1000}, -20); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Dial("1234567890", "dtmf"); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Dial("99", "pulse"); err != nil {
		t.Fatal(err)
	}
	if err := r.keys.Queue("0123456789*#ABCD", 50*time.Millisecond, 50*time.Millisecond, -10); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(300, func() {
		r.step()
		r.p.Ring(r.seq%200 < 100)
	})
	if allocs != 0 {
		t.Fatalf("a frame allocates %v times", allocs)
	}
}

// FuzzDial feeds the control API's dial and hook inputs to a phone: it must
// never panic, and a rejected dial must queue nothing.
func FuzzDial(f *testing.F) {
	for _, s := range [][2]string{{"1002", "dtmf"}, {"*#ABCD", ""}, {"0", "pulse"}, {"1x", "dtmf"}, {"", "pulse"}, {"12", "PULSE"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, digits, mode string) {
		r := newRig()
		if err := r.p.SetHook("off"); err != nil {
			t.Fatal(err)
		}
		if err := r.p.Dial(digits, mode); err != nil {
			for range 20 {
				if !r.step() {
					t.Fatal("loop broke after a rejected dial")
				}
				for _, s := range r.mout {
					if s != 0 {
						t.Fatal("mouth not silent after a rejected dial")
					}
				}
			}
		}
	})
}

// TestKeypadMutesMouthpiece: while the keypad sends digits the line
// carries the DTMF alone (a telephone mutes its transmitter), and the
// voice comes back when the digits are done.
func TestKeypadMutesMouthpiece(t *testing.T) {
	r := newRig()
	if err := r.p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Say([]float64{1000}, -12); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Dial("5", ""); err != nil {
		t.Fatal(err)
	}
	burst := r.run(10) // the digit's first 100 ms
	if got := string(dsp.NewDTMFDetector().Process(burst, nil)); got != "5" {
		t.Errorf("decoded %q during the digit, want 5", got)
	}
	for _, f := range dsp.DominantTones(burst, 4) {
		if math.Abs(f-1000) < 20 {
			t.Errorf("the voice (1000 Hz) is on the line under the digit: tones %v", dsp.DominantTones(burst, 4))
		}
	}
	r.run(20) // the rest of the digit and its gap
	after := r.run(20)
	if tones := dsp.DominantTones(after, 4); len(tones) != 1 || math.Abs(tones[0]-1000) > 2 {
		t.Errorf("after the digit the mouth carries %v, want the voice [1000]", tones)
	}
}

// TestFlashFor: a phone's flash button fits the country's flash window.
func TestFlashFor(t *testing.T) {
	for _, c := range dsp.Countries() {
		prof, err := dsp.LookupProfile(c)
		if err != nil {
			t.Fatal(err)
		}
		d := FlashFor(c)
		if prof.FlashMax > 0 && (d < prof.FlashMin || d > prof.FlashMax) {
			t.Errorf("%s: flash %v outside the country's window %v-%v", c, d, prof.FlashMin, prof.FlashMax)
		}
	}
	for _, tc := range []struct {
		country string
		want    time.Duration
	}{{"us", FlashDuration}, {"uk", 100 * time.Millisecond}, {"de", 100 * time.Millisecond}, {"xx", FlashDuration}} {
		if got := FlashFor(tc.country); got != tc.want {
			t.Errorf("FlashFor(%q) = %v, want %v", tc.country, got, tc.want)
		}
	}
}

// TestDialDTMFHeld: a key held longer sends its digit for that long (the
// mouthpiece carries the tone for the whole hold), once; a hold outside
// 40 ms–2 s is refused and queues nothing.
func TestDialDTMFHeld(t *testing.T) {
	for _, c := range []struct {
		on     time.Duration
		frames int // tone frames; 0: refused
	}{
		{100 * time.Millisecond, 10},
		{400 * time.Millisecond, 40},
		{30 * time.Millisecond, 0},
		{3 * time.Second, 0},
	} {
		r := newRig()
		if err := r.p.SetHook("off"); err != nil {
			t.Fatal(err)
		}
		r.step()
		err := r.p.DialDTMF("5", c.on)
		if (err != nil) != (c.frames == 0) {
			t.Fatalf("hold %v: error %v", c.on, err)
		}
		out := r.run(100)
		got := 0
		for f := 0; f+pcm.FrameSamples <= len(out); f += pcm.FrameSamples {
			if !silent(out[f : f+pcm.FrameSamples]) {
				got++
			}
		}
		if got != c.frames {
			t.Errorf("hold %v: %d frames of tone, want %d", c.on, got, c.frames)
		}
		if d := string(dsp.NewDTMFDetector().Process(out, nil)); c.frames > 0 && d != "5" {
			t.Errorf("hold %v: the mouthpiece carries %q, want \"5\"", c.on, d)
		}
	}
}
