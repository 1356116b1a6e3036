package update

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSemverOrder(t *testing.T) {
	// Each version is older than the next one.
	ordered := []string{
		"0.9.9",
		"v1.0.0-alpha",
		"v1.0.0-alpha.1",
		"v1.0.0-alpha.beta",
		"v1.0.0-beta",
		"v1.0.0-beta.2",
		"v1.0.0-beta.11",
		"v1.0.0-rc.1",
		"v1.0.0-rc.1-3-gabcdef0",
		"v1.0.0",
		"v1.0.0-1-g1234567",
		"v1.0.0-12-g89abcde-dirty",
		"1.0.1",
		"v1.2.0",
		"v1.10.0",
		"v2.0.0+build.5",
	}
	for i := range ordered {
		for j := range ordered {
			a, ok1 := ParseSemver(ordered[i])
			b, ok2 := ParseSemver(ordered[j])
			if !ok1 || !ok2 {
				t.Fatalf("ParseSemver(%q) = %v, ParseSemver(%q) = %v", ordered[i], ok1, ordered[j], ok2)
			}
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestParseSemver(t *testing.T) {
	cases := []struct {
		in   string
		ok   bool
		want Semver
	}{
		{"v1.2.3", true, Semver{Major: 1, Minor: 2, Patch: 3}},
		{"1.2.3-4-gabc1234-dirty", true, Semver{Major: 1, Minor: 2, Patch: 3, Ahead: 4, Hash: "abc1234", Dirty: true}},
		{"v1.2.3-rc.1-2-g0123abcd", true, Semver{Major: 1, Minor: 2, Patch: 3, Pre: []string{"rc", "1"}, Ahead: 2, Hash: "0123abcd"}},
		{"v1.2.3-dirty", true, Semver{Major: 1, Minor: 2, Patch: 3, Dirty: true}},
		{"abc1234", false, Semver{}},                   // git describe --always without a tag
		{"abc1234-dirty", false, Semver{}},             // the same, modified
		{"1234567", false, Semver{}},                   // an all-digit hash is not version 1234567
		{"1.0", false, Semver{}},                       // two parts are not a semantic version
		{"v01.2.3", false, Semver{}},                   // leading zero
		{"v1.2.3-01", false, Semver{}},                 // leading zero in a numeric pre-release
		{"v1.2.3-", false, Semver{}},                   // empty pre-release
		{"dev", false, Semver{}},                       // the default main.version
		{"v1.2.3.4", false, Semver{}},                  // four parts
		{"v99999999999999999999.0.0", false, Semver{}}, // overflows
	}
	for _, c := range cases {
		got, ok := ParseSemver(c.in)
		if ok != c.ok || ok && (got.Compare(c.want) != 0 || got.Hash != c.want.Hash || got.Dirty != c.want.Dirty || got.Ahead != c.want.Ahead) {
			t.Errorf("ParseSemver(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestCompareReleases(t *testing.T) {
	d1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.Add(24 * time.Hour)
	cases := []struct {
		name   string
		a, b   Release
		want   int
		wantBy string
	}{
		{"semantic versions decide", Release{"v1.2.0", d2}, Release{"v1.3.0", d1}, -1, "version"},
		{"newer semantic version", Release{"v1.3.0", d1}, Release{"v1.2.0-5-gabcdef0", d2}, 1, "version"},
		{"the same version is the same release", Release{"abc1234", d1}, Release{"abc1234", d2}, 0, "version"},
		{"same version, dates decide", Release{"v1.2.0-dirty", d1}, Release{"v1.2.0", d2}, -1, "build date"},
		{"hashes: dates decide", Release{"abc1234", d1}, Release{"def5678", d2}, -1, "build date"},
		{"one semantic version: dates decide", Release{"v2.0.0", d1}, Release{"def5678", d2}, -1, "build date"},
		{"newer date", Release{"abc1234", d2}, Release{"def5678", d1}, 1, "build date"},
		{"same date", Release{"abc1234", d1}, Release{"def5678", d1}, 0, "build date"},
		{"running date unknown", Release{"abc1234", d1}, Release{"dev", time.Time{}}, 0, ""},
		{"image date unknown", Release{"abc1234", time.Time{}}, Release{"def5678", d1}, 0, ""},
		{"unknown dates, semantic versions", Release{"v1.0.0", time.Time{}}, Release{"v1.0.1", time.Time{}}, -1, "version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, by := Compare(c.a, c.b)
			if got != c.want || by != c.wantBy {
				t.Errorf("Compare = %d by %q, want %d by %q", got, by, c.want, c.wantBy)
			}
			err := CheckDowngrade(c.a, c.b)
			if errors.Is(err, ErrDowngrade) != (c.want < 0) {
				t.Errorf("CheckDowngrade = %v", err)
			}
		})
	}
	err := CheckDowngrade(Release{"1.2", d2}, Release{"1.3", d1})
	if err != nil {
		t.Errorf("two-part versions are not semantic versions, the dates say newer: %v", err)
	}
	err = CheckDowngrade(Release{"v1.2.0", d2}, Release{"v1.3.0", d1})
	if want := "firmware v1.2.0 is older than the running v1.3.0: downgrade refused"; err == nil || err.Error() != want {
		t.Errorf("CheckDowngrade = %v, want %q", err, want)
	}
	err = CheckDowngrade(Release{"abc1234", d1}, Release{"def5678", d2})
	if want := "firmware abc1234 (built 2026-01-01T00:00:00Z) is older than the running def5678 (built 2026-01-02T00:00:00Z): downgrade refused"; err == nil || err.Error() != want {
		t.Errorf("CheckDowngrade = %v, want %q", err, want)
	}
}

// TestDowngradeRefusedUnlessAllowed installs an older signed image over a
// running one: refused before the payload is read, the store unchanged;
// with AllowDowngrade it installs.
func TestDowngradeRefusedUnlessAllowed(t *testing.T) {
	_, priv := testKey(t, "test")
	older := t0.Add(-30 * 24 * time.Hour)
	signBuilt := func(version string, built time.Time) []byte {
		img, err := SignBuilt(priv, version, target, t0, built, payload(version, 200_000))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	legacy := func(version string, created time.Time) []byte {
		img, err := Sign(priv, version, target, created, payload(version, 200_000))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	cases := []struct {
		name    string
		running string // upgraded to, signed at t0
		img     []byte
		refused string // the error, "" when it installs
	}{
		{"older semantic version", "v1.3.0", signBuilt("v1.2.0", t0.Add(time.Hour)),
			"firmware v1.2.0 is older than the running v1.3.0: downgrade refused"},
		{"older build date", "abc1234", signBuilt("def5678", older),
			"firmware def5678 (built 2026-10-22T12:00:00Z) is older than the running abc1234 (built 2026-11-21T12:00:00Z): downgrade refused"},
		{"older image signed without a build date", "abc1234", legacy("def5678", older),
			"firmware def5678 (built 2026-10-22T12:00:00Z) is older than the running abc1234"},
		{"newer semantic version built earlier", "v1.3.0", signBuilt("v1.3.1", older), ""},
		{"newer build date", "abc1234", signBuilt("def5678", t0.Add(time.Minute)), ""},
		{"same build date", "abc1234", signBuilt("def5678", t0), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			upgrade(t, s, c.running)
			st, _ := s.State()
			running := st.Slots[st.Current].Release()
			before := snapshot(t, s.Dir())
			r := &countReader{r: bytes.NewReader(c.img)}
			_, err := s.Install(context.Background(), r, InstallOptions{Running: running})
			if c.refused == "" {
				if err != nil {
					t.Fatalf("Install = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrDowngrade) || !strings.Contains(err.Error(), c.refused) {
				t.Fatalf("Install = %v, want %q", err, c.refused)
			}
			if r.n > 1000 {
				t.Errorf("read %d bytes: the payload should not be read once the downgrade is refused", r.n)
			}
			if after := snapshot(t, s.Dir()); after != before {
				t.Errorf("the store changed:\nbefore %.300s\nafter  %.300s", before, after)
			}
			// Confirmed: it installs.
			m, err := s.Install(context.Background(), bytes.NewReader(c.img), InstallOptions{Running: running, AllowDowngrade: true})
			if err != nil {
				t.Fatalf("confirmed Install = %v", err)
			}
			if st, _ := s.State(); st.Slots[Inactive(st.Current)].Version != m.Version {
				t.Fatalf("not installed: %+v", st)
			}
		})
	}
}

// TestManifestBuiltCompatible: Sign leaves "built" out, so firmware
// whose strict decoder predates the field still reads the image; an
// image without it dates from Created.
func TestManifestBuiltCompatible(t *testing.T) {
	pub, priv := testKey(t, "test")
	built := t0.Add(-time.Hour)
	for _, c := range []struct {
		name      string
		built     time.Time
		wantKey   bool
		wantBuilt time.Time
	}{
		{"without -built", time.Time{}, false, t0},
		{"with -built", built, true, built},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, err := SignBuilt(priv, "1", target, t0, c.built, []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			h, err := ReadHeader(bytes.NewReader(img), Keys{pub})
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			n := len(Magic) + 4
			json.Unmarshal(h.Raw[n:len(h.Raw)-64], &raw)
			if _, ok := raw["built"]; ok != c.wantKey {
				t.Errorf("manifest %v: built present = %v, want %v", raw, ok, c.wantKey)
			}
			if got := h.Manifest.Release().Built; !got.Equal(c.wantBuilt) {
				t.Errorf("build date %s, want %s", got, c.wantBuilt)
			}
		})
	}
}

func FuzzParseSemver(f *testing.F) {
	for _, s := range []string{"v1.2.3", "1.2.3-rc.1-4-gabcdef0-dirty", "v1.0.0+meta", "abc1234", "v1.2.3-01", "0.0.0-0"} {
		f.Add(s, "v1.2.4")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, oka := ParseSemver(a)
		vb, okb := ParseSemver(b)
		if oka && va.Compare(va) != 0 {
			t.Fatalf("%q is not equal to itself", a)
		}
		if oka && okb && va.Compare(vb) != -vb.Compare(va) {
			t.Fatalf("Compare(%q, %q) is not antisymmetric", a, b)
		}
		if oka && !strings.Contains(a, ".") {
			t.Fatalf("%q parsed without a dot", a)
		}
	})
}
