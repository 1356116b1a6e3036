package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/loopstart/loopstart/dsp"
)

// plainRing is the reference: a 16-bit ring of every sample written.
type plainRing struct {
	buf    []int16
	pos, n int
}

func (p *plainRing) write(in []int16) {
	for _, s := range in {
		p.buf[p.pos] = s
		p.pos = (p.pos + 1) % len(p.buf)
		p.n = min(p.n+1, len(p.buf))
	}
}

func (p *plainRing) last(n int) []int16 {
	n = min(n, p.n)
	out := make([]int16, n)
	for i := range out {
		out[i] = p.buf[(p.pos-n+i+len(p.buf))%len(p.buf)]
	}
	return out
}

// ulawFrame is n samples of a tone that went through µ-law, as a PCMU
// call's earpiece carries.
func ulawFrame(n int, phase *float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		*phase += 0.3
		out[i] = dsp.MulawDecode(dsp.MulawEncode(int16(8000 * math.Sin(*phase))))
	}
	return out
}

// TestRecording: whatever is written (silence, µ-law audio, linear
// samples, frames of any length, wrapping the ring many times) comes back
// exactly as a plain 16-bit ring gives it, and the storage is 8-bit codes
// exactly when the window holds µ-law samples only.
func TestRecording(t *testing.T) {
	const size = 20 * recBlock
	type step struct {
		kind   string // "silence", "ulaw", "linear", "alternate" (linear and ulaw frames in turn)
		frames int
		length int // samples per frame
	}
	tests := []struct {
		name  string
		steps []step
		want  string // the form: "none", "codes", "queue" (codes and odd blocks), "wide"
	}{
		{"nothing", nil, "none"},
		{"silence only", []step{{"silence", 30, 80}}, "none"},
		{"ulaw", []step{{"silence", 3, 80}, {"ulaw", 50, 80}}, "codes"},
		{"linear", []step{{"linear", 5, 80}}, "queue"},
		{"linear then a short ulaw stretch", []step{{"linear", 5, 80}, {"ulaw", 10, 80}}, "queue"},
		{"linear then a whole window of ulaw", []step{{"linear", 5, 80}, {"ulaw", 21, 80}}, "codes"},
		{"ulaw, linear, ulaw", []step{{"ulaw", 30, 80}, {"linear", 1, 80}, {"ulaw", 25, 80}}, "codes"},
		{"odd frame lengths", []step{{"ulaw", 17, 33}, {"linear", 3, 47}, {"ulaw", 40, 61}}, "codes"},
		{"one linear sample late in a window", []step{{"ulaw", 30, 80}, {"linear", 1, 1}, {"ulaw", 5, 80}}, "queue"},
		{"linear in every other block, wrapping", []step{{"ulaw", 5, 80}, {"alternate", 60, 80}}, "queue"},
		{"linear over half the window", []step{{"linear", 11, 80}}, "wide"},
		{"linear over the whole window, odd lengths", []step{{"linear", 60, 37}}, "wide"},
		{"wide, then ulaw but not a whole window", []step{{"linear", 15, 80}, {"ulaw", 19, 80}}, "wide"},
		{"wide, then a whole window of ulaw", []step{{"linear", 15, 80}, {"ulaw", 20, 80}}, "codes"},
		{"wide and back, twice, odd lengths", []step{{"linear", 40, 53}, {"ulaw", 30, 71}, {"linear", 40, 29}, {"ulaw", 30, 80}, {"alternate", 9, 80}}, "queue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecording(size)
			ref := &plainRing{buf: make([]int16, size)}
			rng := rand.New(rand.NewPCG(1, 2))
			phase, alt := 0.0, false
			for _, st := range tc.steps {
				for range st.frames {
					var f []int16
					switch st.kind {
					case "silence":
						f = make([]int16, st.length)
					case "ulaw":
						f = ulawFrame(st.length, &phase)
					case "alternate":
						f = ulawFrame(st.length, &phase)
						if alt = !alt; alt {
							f[st.length/2] = 1001
						}
					case "linear":
						f = make([]int16, st.length)
						for i := range f {
							f[i] = int16(rng.IntN(20001) - 10000)
						}
						f[0] = 1001 // never a µ-law value
					}
					r.write(f)
					ref.write(f)
					if got, want := r.last(size), ref.last(size); !slices.Equal(got, want) {
						t.Fatalf("read back differs from the reference after a %s frame", st.kind)
					}
				}
			}
			for _, n := range []int{0, 1, 79, 80, 81, size - 1, size, size + 5} {
				if got, want := r.last(n), ref.last(n); !slices.Equal(got, want) {
					t.Fatalf("last(%d) differs from the reference", n)
				}
			}
			if got := recForm(&r); got != tc.want {
				t.Errorf("kept as %q, want %q", got, tc.want)
			}
			if err := recCheck(&r); err != nil {
				t.Error(err)
			}
		})
	}
}

// recForm names the form a recording is kept in.
func recForm(r *recording) string {
	switch {
	case r.wide != nil:
		return "wide"
	case r.codes == nil:
		return "none"
	case r.count > 0:
		return "queue"
	}
	return "codes"
}

// recCheck checks a recording's bookkeeping: each queued block's slot
// points at its entry, in the order the ring writes them, and the wide
// form's count of odd blocks is its flags'.
func recCheck(r *recording) error {
	if r.codes != nil {
		seen := 0
		for b, s := range r.slot {
			if s < 0 {
				continue
			}
			seen++
			if e := r.queue[s]; int(e.block) != b {
				return fmt.Errorf("block %d's slot %d holds block %d", b, s, e.block)
			}
		}
		if seen != r.count {
			return fmt.Errorf("%d slots for %d queued blocks", seen, r.count)
		}
		if r.count > r.blocks/2 {
			return fmt.Errorf("%d blocks queued, more than half of %d", r.count, r.blocks)
		}
	}
	if r.wide != nil {
		n := 0
		for _, o := range r.oddIn {
			if o {
				n++
			}
		}
		if n != r.odd {
			return fmt.Errorf("%d odd blocks counted, %d flagged", r.odd, n)
		}
	}
	return nil
}

// TestRecordingMemory: a window of µ-law audio takes one byte a sample,
// and writing a frame allocates nothing once the storage has its form.
func TestRecordingMemory(t *testing.T) {
	r := newRecording(historySamples)
	phase := 0.0
	frames := make([][]int16, 50)
	for i := range frames {
		frames[i] = ulawFrame(80, &phase)
	}
	r.write(frames[0])
	i := 0
	if allocs := testing.AllocsPerRun(500, func() {
		r.write(frames[i%len(frames)])
		i++
	}); allocs != 0 {
		t.Errorf("a µ-law frame allocates %v times", allocs)
	}
	if !r.compact() || len(r.codes) != historySamples || r.wide != nil || r.count != 0 {
		t.Errorf("µ-law audio not kept as codes: %d codes, %d samples, %d odd blocks", len(r.codes), len(r.wide), r.count)
	}
	lin := make([]int16, 80)
	for j := range lin {
		lin[j] = int16(3*j + 1001)
	}
	// The first odd block mid-call (a digit the gateway plays) finds its
	// queue made: no allocation in the media loop's frame.
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	r.write(lin)
	runtime.ReadMemStats(&m1)
	if d := m1.Mallocs - m0.Mallocs; d != 0 {
		t.Errorf("the first linear frame allocates %d times", d)
	}
	if allocs := testing.AllocsPerRun(500, func() { r.write(lin) }); allocs != 0 {
		t.Errorf("a linear frame allocates %v times", allocs)
	}
}

// TestUlawSilence: the codes a recording starts from read back as zeros.
func TestUlawSilence(t *testing.T) {
	if dsp.MulawDecode(ulawSilence) != 0 {
		t.Fatalf("µ-law code %#x decodes to %d", ulawSilence, dsp.MulawDecode(ulawSilence))
	}
}

// TestRecordingRandom: random runs of silence, µ-law and linear frames of
// random lengths read back exactly, through every change of form.
func TestRecordingRandom(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		rng := rand.New(rand.NewPCG(seed, 7))
		size := (4 + rng.IntN(20)) * recBlock
		r := newRecording(size)
		ref := &plainRing{buf: make([]int16, size)}
		phase := 0.0
		forms := map[string]int{}
		for i := range 4000 {
			n := 1 + rng.IntN(2*recBlock)
			var f []int16
			switch k := rng.IntN(10); {
			case k == 0:
				f = make([]int16, n)
			case k < 8 || i%700 > 400: // long stretches of µ-law only
				f = ulawFrame(n, &phase)
			default:
				f = ulawFrame(n, &phase)
				f[rng.IntN(n)] = 1001
			}
			r.write(f)
			ref.write(f)
			forms[recForm(&r)]++
			m := rng.IntN(size + 10)
			if got, want := r.last(m), ref.last(m); !slices.Equal(got, want) {
				t.Fatalf("seed %d frame %d: last(%d) differs from the reference (form %s)", seed, i, m, recForm(&r))
			}
			if err := recCheck(&r); err != nil {
				t.Fatalf("seed %d frame %d: %v", seed, i, err)
			}
		}
		t.Logf("seed %d, %d samples: frames per form %v", seed, size, forms)
	}
}
