package update

import (
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BuildDate is when this binary was built, RFC 3339 (e.g.
// "2026-01-02T03:04:05Z"); the build sets it with -ldflags
// "-X github.com/loopstart/loopstart/firmware/update.BuildDate=...".
// Empty means the commit time Go recorded in the binary, if any (see
// BuiltIn).
var BuildDate string

// ErrDowngrade means the image is older than the running firmware and
// the install was not confirmed (InstallOptions.AllowDowngrade).
var ErrDowngrade = errors.New("downgrade refused")

// Release is a firmware build as far as ordering goes: its version and
// when it was built.
type Release struct {
	// Version is the version string (main.version, git describe).
	Version string
	// Built is the build date; zero when unknown.
	Built time.Time
}

// String names the release for messages: the version, and the build
// date when the versions alone do not order.
func (r Release) String() string {
	if r.Built.IsZero() {
		return r.Version
	}
	return r.Version + " (built " + r.Built.UTC().Format(time.RFC3339) + ")"
}

// Release is the image's release: its version and build date, which is
// Built or, for images signed without one, Created.
func (m *Manifest) Release() Release {
	b := m.Built
	if b.IsZero() {
		b = m.Created
	}
	return Release{Version: m.Version, Built: b.UTC()}
}

// BuiltIn is the release of the running binary when it was not started
// from a slot (the factory firmware): version, and the build date from
// BuildDate or else the VCS commit time the Go toolchain stamped into
// the binary; Built stays zero when neither is known.
func BuiltIn(version string) Release {
	r := Release{Version: version}
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(BuildDate)); err == nil {
		r.Built = t.UTC()
		return r
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					r.Built = t.UTC()
				}
			}
		}
	}
	return r
}

// Semver is a semantic version as `git describe --tags` prints it:
// [v]MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD][-N-gHASH][-dirty].
type Semver struct {
	Major, Minor, Patch uint64
	// Pre is the pre-release, split at dots ("rc.1" → ["rc","1"]); empty
	// for a release.
	Pre []string
	// Ahead is the number of commits after the tag (describe's N).
	Ahead uint64
	// Hash is the abbreviated commit after "-g", "" for a tag itself.
	Hash string
	// Dirty is set by a "-dirty" suffix.
	Dirty bool
}

// The version patterns, compiled at first use (not at every start).
var (
	describeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`-([0-9]+)-g([0-9a-f]{4,40})$`) })
	semverRE   = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
			`(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)
	})
)

// ParseSemver parses s as a semantic version (see Semver); ok is false
// for anything else, such as a bare commit hash.
func ParseSemver(s string) (v Semver, ok bool) {
	if rest, found := strings.CutSuffix(s, "-dirty"); found {
		s, v.Dirty = rest, true
	}
	if m := describeRE().FindStringSubmatchIndex(s); m != nil {
		n, err := strconv.ParseUint(s[m[2]:m[3]], 10, 64)
		if err != nil {
			return Semver{}, false
		}
		v.Ahead, v.Hash, s = n, s[m[4]:m[5]], s[:m[0]]
	}
	m := semverRE().FindStringSubmatch(s)
	if m == nil {
		return Semver{}, false
	}
	var err [3]error
	v.Major, err[0] = strconv.ParseUint(m[1], 10, 64)
	v.Minor, err[1] = strconv.ParseUint(m[2], 10, 64)
	v.Patch, err[2] = strconv.ParseUint(m[3], 10, 64)
	if errors.Join(err[:]...) != nil {
		return Semver{}, false
	}
	if m[4] != "" {
		v.Pre = strings.Split(m[4], ".")
		for _, id := range v.Pre {
			if len(id) > 1 && id[0] == '0' && isDigits(id) {
				return Semver{}, false // semver forbids leading zeros
			}
		}
	}
	return v, true
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Compare orders a and b by semantic version precedence (a pre-release
// before its release; numeric identifiers numerically, others in ASCII
// order; fewer identifiers first), then by the commits after the tag. It
// ignores Hash and Dirty: two builds that differ only there compare 0.
func (a Semver) Compare(b Semver) int {
	for _, c := range [][2]uint64{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Patch, b.Patch}} {
		if c[0] != c[1] {
			return cmp3(c[0] < c[1])
		}
	}
	switch {
	case len(a.Pre) == 0 && len(b.Pre) > 0:
		return 1
	case len(a.Pre) > 0 && len(b.Pre) == 0:
		return -1
	}
	for i := 0; i < len(a.Pre) && i < len(b.Pre); i++ {
		x, y := a.Pre[i], b.Pre[i]
		if x == y {
			continue
		}
		xn, yn := isDigits(x), isDigits(y)
		switch {
		case xn && yn:
			if len(x) != len(y) { // no leading zeros: longer is larger
				return cmp3(len(x) < len(y))
			}
			return cmp3(x < y)
		case xn:
			return -1
		case yn:
			return 1
		default:
			return cmp3(x < y)
		}
	}
	if len(a.Pre) != len(b.Pre) {
		return cmp3(len(a.Pre) < len(b.Pre))
	}
	if a.Ahead != b.Ahead {
		return cmp3(a.Ahead < b.Ahead)
	}
	return 0
}

func cmp3(less bool) int {
	if less {
		return -1
	}
	return 1
}

// Compare orders two releases: -1 when a is older than b, +1 when newer,
// 0 when they are the same or cannot be ordered. The same version string
// is the same release; when both versions are semantic versions
// (ParseSemver) that differ, they decide; otherwise the build dates do
// when both are known. by says which ("version", "build date"), or ""
// when neither could.
func Compare(a, b Release) (c int, by string) {
	if a.Version == b.Version {
		return 0, "version"
	}
	if va, ok := ParseSemver(a.Version); ok {
		if vb, ok := ParseSemver(b.Version); ok {
			if c := va.Compare(vb); c != 0 {
				return c, "version"
			}
		}
	}
	if a.Built.IsZero() || b.Built.IsZero() {
		return 0, ""
	}
	return a.Built.Compare(b.Built), "build date"
}

// CheckDowngrade returns an error wrapping ErrDowngrade when img is older
// than running (see Compare), nil otherwise.
func CheckDowngrade(img, running Release) error {
	c, by := Compare(img, running)
	if c >= 0 {
		return nil
	}
	if by == "version" {
		return fmt.Errorf("firmware %s is older than the running %s: %w", img.Version, running.Version, ErrDowngrade)
	}
	return fmt.Errorf("firmware %s is older than the running %s: %w", img, running, ErrDowngrade)
}
