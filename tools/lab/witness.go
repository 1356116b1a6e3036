package lab

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Machine stalls. On a virtual machine whose hypervisor does not report
// steal time (this project's CI and development VMs run on one: /proc/stat's
// steal column stays 0), the host can stop one virtual CPU for tens of
// milliseconds: a timer on it fires late, and a thread that sleeps there —
// the media loop's, waiting for its frame — wakes late without having
// waited on any run queue. Steal cannot tell that from the gateway's own
// lateness; a witness can. One real-time thread pinned to each CPU sleeps
// witnessPeriod at a time and books every wake-up later than witnessStall:
// a thread doing nothing else, above the loop's and the far phones'
// priority, is late only when that CPU could not run it (the host, or the
// kernel holding the CPU). Late frames in an interval where a witness
// stalled are booked as the machine's.

const (
	// witnessPeriod is how long a witness sleeps between wake-ups.
	witnessPeriod = 2 * time.Millisecond
	// witnessStall is the lateness of a witness's wake-up booked as a
	// stall: half a frame, far above what the kernel's timers and the
	// witness's own Go runtime add (tens of µs).
	witnessStall = 5 * time.Millisecond
	// witnessPriority is the witnesses' SCHED_FIFO priority: above the
	// media loop's default (40) and the far phones' (30).
	witnessPriority = 50
	// witnessLife bounds how long the witnesses run: longer than any
	// test process's timeout.
	witnessLife = 45 * time.Minute
	// witnessKeep bounds the stalls remembered.
	witnessKeep = 4096
)

// stall is one late wake-up of a witness.
type stall struct {
	at   time.Time // when the witness woke
	cpu  int
	late time.Duration
}

// stallWitness is the set of witnesses of one test process.
type stallWitness struct {
	mu     sync.Mutex
	stalls []stall
	err    error // a witness could not be pinned or made real-time
}

var (
	witnessOnce sync.Once
	theWitness  *stallWitness
)

// machineWitness starts the witnesses, once per test process, and returns
// them. They stop by themselves after witnessLife.
func machineWitness() *stallWitness {
	witnessOnce.Do(func() {
		w := &stallWitness{}
		theWitness = w
		cpus, err := processCPUs()
		if err != nil {
			w.err = err
			return
		}
		stop := time.Now().Add(witnessLife)
		ready := make(chan error, len(cpus))
		for _, cpu := range cpus {
			go w.watch(cpu, stop, ready)
		}
		for range cpus {
			if err := <-ready; err != nil && w.err == nil {
				w.err = err
			}
		}
	})
	return theWitness
}

// processCPUs lists the CPUs the test process may run on (its affinity
// mask: a container may give it CPUs 2 and 3 rather than 0 and 1).
func processCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("stall witness: CPUs of the process: %w", err)
	}
	var cpus []int
	for cpu := range 1024 { // CPU_SETSIZE
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("stall witness: the process may run on no CPU")
	}
	return cpus, nil
}

// watch is one witness: pinned to cpu, real-time, it books its late
// wake-ups until stop.
func (w *stallWitness) watch(cpu int, stop time.Time, ready chan<- error) {
	runtime.LockOSThread() // the thread ends with the goroutine: never unlocked
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		ready <- fmt.Errorf("stall witness: pin to CPU %d: %w", cpu, err)
		return
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: witnessPriority}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		ready <- fmt.Errorf("stall witness: SCHED_FIFO %d: %w", witnessPriority, err)
		return
	}
	ready <- nil
	ts := unix.NsecToTimespec(int64(witnessPeriod))
	for {
		t0 := time.Now()
		if !t0.Before(stop) {
			return
		}
		_ = unix.Nanosleep(&ts, nil) // an interrupted sleep is just short
		t1 := time.Now()
		if late := t1.Sub(t0) - witnessPeriod; late >= witnessStall {
			w.mu.Lock()
			if len(w.stalls) == witnessKeep {
				w.stalls = append(w.stalls[:0], w.stalls[witnessKeep/2:]...)
			}
			w.stalls = append(w.stalls, stall{at: t1, cpu: cpu, late: late})
			w.mu.Unlock()
		}
	}
}

// list returns the stalls seen after t, oldest first, or the error that
// keeps the witnesses from watching.
func (w *stallWitness) list(t time.Time) ([]stall, error) {
	if w.err != nil {
		return nil, w.err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []stall
	for _, s := range w.stalls {
		if s.at.After(t) {
			out = append(out, s)
		}
	}
	return out, nil
}

// String describes the stall for a log.
func (s stall) String() string {
	return fmt.Sprintf("CPU %d %.1f ms at %s", s.cpu, float64(s.late)/float64(time.Millisecond), s.at.Format("15:04:05.000"))
}

// StartStallWitness starts the machine's stall witnesses (once per test
// process) so that MachineStalls can say later what the host held up;
// the error says why they cannot run (no root: not real-time).
func StartStallWitness() error { return machineWitness().err }

// MachineStalls returns the witnesses' stalls since t, each described for
// a log, and the longest: how long a CPU of this machine could not run a
// real-time thread (the host's stalls, which this VM does not report as
// steal). StartStallWitness must have run before t.
func MachineStalls(since time.Time) (longest time.Duration, described []string, err error) {
	ss, err := machineWitness().list(since)
	if err != nil {
		return 0, nil, err
	}
	for _, s := range ss {
		longest = max(longest, s.late)
		described = append(described, s.String())
	}
	return longest, described, nil
}
