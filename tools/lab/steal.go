package lab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// jiffy is the unit of /proc/stat's CPU times (USER_HZ, 100 on Linux).
const jiffy = 10 * time.Millisecond

// Steal returns the CPU time the hypervisor has stolen from this virtual
// machine since boot, summed over its CPUs (the "steal" column of
// /proc/stat's cpu line). On a shared VM a frame can be late because the
// host ran someone else; real-time checks compare it over their window to
// tell that lateness from the gateway's own.
func Steal() (time.Duration, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "cpu" {
			continue
		}
		if len(fields) < 9 {
			return 0, fmt.Errorf("/proc/stat: cpu line without a steal column: %q", sc.Text())
		}
		v, err := strconv.ParseUint(fields[8], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: steal %q: %w", fields[8], err)
		}
		return time.Duration(v) * jiffy, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("/proc/stat: no cpu line")
}

// LatenessLedger splits the media loop's late and missed frames over short
// intervals into those during which the machine could not run the loop —
// the host stole CPU time, or a stall witness (witness.go) on some CPU woke
// late — (the host's lateness: reported, not failed) and those during which
// it could (the gateway's own).
type LatenessLedger struct {
	lastBad   uint64        // late + missed at the last sample
	lastSteal time.Duration // Steal at the last sample
	lastAt    time.Time     // when the last sample was taken
	started   bool

	// Own counts late or missed frames in intervals with no steal and
	// no stall.
	Own uint64
	// Host counts late or missed frames in intervals the host stole
	// from or a witness stalled in, and Stolen the steal over those
	// intervals.
	Host   uint64
	Stolen time.Duration
	// Stalled counts the late or missed frames of Host booked to a
	// witness's stall, and Longest the longest such stall.
	Stalled uint64
	Longest time.Duration
	// Total is the steal over the whole window, late frames or not, and
	// StallTotal the witnesses' stalls over it.
	Total      time.Duration
	StallTotal time.Duration
	// StealErr is set when /proc/stat could not be read, StallErr when
	// the witnesses could not watch (not root: no real-time priority);
	// without either reading, late frames count as the gateway's own.
	StealErr error
	StallErr error
	// Booked lists, for each interval whose late frames went to the
	// witnesses' stalls, when it ended and the stalls beside it.
	Booked []string
}

// stallLookback widens each interval's search for a witness's stall to
// the second before it: a stall that straddles a sample is booked on the
// side the witness woke, the loop's late frame maybe on the other.
const stallLookback = time.Second

// Sample records the loop's late+missed counter now.
func (l *LatenessLedger) Sample(lateAndMissed uint64) {
	now := time.Now()
	steal, err := Steal()
	r := machineReading{steal: steal, stealErr: err}
	w := machineWitness() // watching from the first sample on
	if l.started {
		r.stalls, r.stallErr = w.list(l.lastAt.Add(-stallLookback))
	}
	l.add(lateAndMissed, now, r)
}

// machineReading is what a sample reads of the machine beside the loop's
// counter.
type machineReading struct {
	steal    time.Duration // Steal now
	stealErr error
	stalls   []stall // the witnesses' stalls since the last sample, and stallLookback before it
	stallErr error
}

// add books one sample: the loop's counter and the machine read with it.
func (l *LatenessLedger) add(lateAndMissed uint64, at time.Time, r machineReading) {
	if r.stealErr != nil && l.StealErr == nil {
		l.StealErr = r.stealErr
	}
	if r.stallErr != nil && l.StallErr == nil {
		l.StallErr = r.stallErr
	}
	if l.started {
		bad := lateAndMissed - l.lastBad
		stolen := r.steal - l.lastSteal
		if r.stealErr == nil {
			l.Total += stolen
		}
		var longest time.Duration
		for _, s := range r.stalls {
			longest = max(longest, s.late)
			if s.at.After(l.lastAt) { // the window's total counts each stall once
				l.StallTotal += s.late
			}
		}
		switch {
		case bad == 0:
		case r.stealErr == nil && stolen > 0:
			l.Host += bad
			l.Stolen += stolen
		case r.stallErr == nil && longest >= witnessStall:
			l.Host += bad
			l.Stalled += bad
			l.Longest = max(l.Longest, longest)
			l.Booked = append(l.Booked, fmt.Sprintf("%d late or missed in the interval to %s, beside %v", bad, at.Format("15:04:05.000"), r.stalls))
		default:
			l.Own += bad
		}
	}
	l.lastBad, l.lastSteal, l.lastAt, l.started = lateAndMissed, r.steal, at, true
}

// Excuses reports whether an audio loss of d during the window can be the
// host's doing: the loop had no lateness of its own and the host stole, or
// the witnesses saw stalls of, at least d over the window. Real-time
// checks report such a loss instead of failing on it.
func (l *LatenessLedger) Excuses(d time.Duration) bool {
	host := time.Duration(0)
	if l.StealErr == nil {
		host += l.Total
	}
	if l.StallErr == nil {
		host += l.StallTotal
	}
	return l.Own == 0 && host >= d
}

// String reports the split.
func (l *LatenessLedger) String() string {
	s := fmt.Sprintf("%d late or missed frames in intervals without steal or stall (the gateway's own), %d in intervals the host stole %v from or a CPU stalled in (%d of them beside stalls, the longest %v); %v stolen and %v of stalls over the window",
		l.Own, l.Host, l.Stolen, l.Stalled, l.Longest, l.Total, l.StallTotal)
	if l.StealErr != nil {
		s += fmt.Sprintf(" (steal unreadable: %v)", l.StealErr)
	}
	if l.StallErr != nil {
		s += fmt.Sprintf(" (no stall witness: %v)", l.StallErr)
	}
	return s
}
