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
// intervals into those during which the host stole CPU time (the host's
// lateness: reported, not failed) and those during which it did not (the
// gateway's own).
type LatenessLedger struct {
	lastBad   uint64        // late + missed at the last sample
	lastSteal time.Duration // Steal at the last sample
	started   bool

	// Own counts late or missed frames in intervals with no steal.
	Own uint64
	// Host counts late or missed frames in intervals the host stole from,
	// and Stolen the steal over those intervals.
	Host   uint64
	Stolen time.Duration
	// Total is the steal over the whole window, late frames or not.
	Total time.Duration
	// StealErr is set when /proc/stat could not be read (every late frame
	// then counts as the gateway's own).
	StealErr error
}

// Sample records the loop's late+missed counter now.
func (l *LatenessLedger) Sample(lateAndMissed uint64) {
	steal, err := Steal()
	l.add(lateAndMissed, steal, err)
}

// add books one sample: the loop's counter and the steal read with it.
func (l *LatenessLedger) add(lateAndMissed uint64, steal time.Duration, err error) {
	if err != nil && l.StealErr == nil {
		l.StealErr = err
	}
	if l.started {
		bad := lateAndMissed - l.lastBad
		stolen := steal - l.lastSteal
		if err == nil {
			l.Total += stolen
		}
		switch {
		case bad == 0:
		case err == nil && stolen > 0:
			l.Host += bad
			l.Stolen += stolen
		default:
			l.Own += bad
		}
	}
	l.lastBad, l.lastSteal, l.started = lateAndMissed, steal, true
}

// Excuses reports whether an audio loss of d during the window can be the
// host's doing: the loop had no lateness of its own and the host stole at
// least d of CPU time over the window. Real-time checks report such a loss
// instead of failing on it.
func (l *LatenessLedger) Excuses(d time.Duration) bool {
	return l.StealErr == nil && l.Own == 0 && l.Total >= d
}

// String reports the split.
func (l *LatenessLedger) String() string {
	s := fmt.Sprintf("%d late or missed frames in intervals without steal (the gateway's own), %d in intervals the host stole %v from; %v stolen over the window", l.Own, l.Host, l.Stolen, l.Total)
	if l.StealErr != nil {
		s += fmt.Sprintf(" (steal unreadable: %v)", l.StealErr)
	}
	return s
}
