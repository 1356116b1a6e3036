package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

const target = "sim/amd64"

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func testKey(t testing.TB, name string) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	priv, err := ReadPrivateKeyFile(filepath.Join("testdata", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ReadPublicKeyFile(filepath.Join("testdata", name+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatalf("%s.pub does not belong to %s.key", name, name)
	}
	return pub, priv
}

func image(t testing.TB, priv ed25519.PrivateKey, version, tgt string, payload []byte) []byte {
	t.Helper()
	img, err := Sign(priv, version, tgt, t0, payload)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func payload(version string, n int) []byte {
	line := []byte("#!loopstart " + version + "\n")
	b := bytes.Repeat(line, n/len(line)+1)
	return b[:n]
}

func newStore(t *testing.T) *Store {
	t.Helper()
	pub, _ := testKey(t, "test")
	s, err := Open(StoreOptions{Dir: filepath.Join(t.TempDir(), "firmware"), Keys: Keys{pub}, Target: target, Now: func() time.Time { return t0 },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// snapshot lists every file in dir with its contents.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		lines = append(lines, e.Name()+"="+string(b))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// upgrade installs, switches and confirms version into the store.
func upgrade(t *testing.T, s *Store, version string) {
	t.Helper()
	_, priv := testKey(t, "test")
	m, err := s.Install(context.Background(), bytes.NewReader(image(t, priv, version, target, payload(version, 100_000))), InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.State()
	if err := s.Switch(Inactive(st.Current)); err != nil {
		t.Fatal(err)
	}
	info, err := s.Boot()
	if err != nil || !info.Trial || info.Version != m.Version {
		t.Fatalf("Boot = %+v, %v; want a trial of %s", info, err, version)
	}
	if err := s.Trial(context.Background(), func(context.Context) error { return nil }, HealthOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestSignedImageUpgrades(t *testing.T) {
	s := newStore(t)
	_, priv := testKey(t, "test")
	pl := payload("1.1", 300_000)
	var seen []Progress
	m, err := s.Install(context.Background(), bytes.NewReader(image(t, priv, "1.1", target, pl)),
		InstallOptions{Progress: func(p Progress) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "1.1" || m.Size != int64(len(pl)) {
		t.Errorf("manifest = %+v", m)
	}
	if last := seen[len(seen)-1]; last.Phase != "installed" || last.Done != int64(len(pl)) || len(seen) < 4 {
		t.Errorf("progress = %+v", seen)
	}
	got, _ := os.ReadFile(s.SlotPath(SlotA))
	if !bytes.Equal(got, pl) {
		t.Fatal("slot a does not hold the payload")
	}
	st, _ := s.State()
	if st.Current != Factory || st.Slots[SlotA] == nil || st.Pending != nil {
		t.Fatalf("installing must not switch: %+v", st)
	}
	if err := s.Switch(SlotA); err != nil {
		t.Fatal(err)
	}
	info, err := s.Boot()
	if err != nil || info.Slot != SlotA || info.Binary != s.SlotPath(SlotA) || !info.Trial {
		t.Fatalf("Boot = %+v, %v", info, err)
	}
	if err := s.Trial(context.Background(), func(context.Context) error { return nil }, HealthOptions{}); err != nil {
		t.Fatal(err)
	}
	info, _ = s.Boot()
	if info.Trial || info.Slot != SlotA || info.Version != "1.1" {
		t.Fatalf("after confirm Boot = %+v", info)
	}
	// The next upgrade goes to b.
	upgrade(t, s, "1.2")
	st, _ = s.State()
	if st.Current != SlotB || st.Slots[SlotA].Version != "1.1" || st.Slots[SlotB].Version != "1.2" {
		t.Fatalf("state = %+v", st)
	}
}

func TestBadImagesRefusedAndNothingWritten(t *testing.T) {
	_, priv := testKey(t, "test")
	_, other := testKey(t, "other")
	good := image(t, priv, "2.0", target, payload("2.0", 70_000))
	hdrLen := len(Magic) + 4 + int(binary.BigEndian.Uint32(good[len(Magic):]))
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		img  []byte
		want error
	}{
		{"payload byte flipped", mod(func(b []byte) []byte { b[len(b)-10] ^= 1; return b }), ErrPayload},
		{"manifest edited", mod(func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"version":"2.0"`), []byte(`"version":"2.9"`), 1)
		}), ErrBadSignature},
		{"signature flipped", mod(func(b []byte) []byte { b[hdrLen+3] ^= 0x80; return b }), ErrBadSignature},
		{"signed by another key", image(t, other, "2.0", target, payload("2.0", 70_000)), ErrBadSignature},
		{"other target", image(t, priv, "2.0", "qemu/arm64", payload("2.0", 70_000)), ErrWrongTarget},
		{"truncated payload", good[:len(good)-1000], ErrPayload},
		{"payload swapped", append(bytes.Clone(good[:hdrLen+64]), payload("evil", 70_000)...), ErrPayload},
		{"data after payload", append(bytes.Clone(good), 'x'), ErrPayload},
		{"truncated header", good[:30], ErrNotImage},
		{"not an image", []byte("hello, this is not firmware at all"), ErrNotImage},
		{"empty", nil, ErrNotImage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			upgrade(t, s, "1.0")
			before := snapshot(t, s.Dir())
			_, err := s.Install(context.Background(), bytes.NewReader(c.img), InstallOptions{})
			if !errors.Is(err, c.want) {
				t.Fatalf("Install = %v, want %v", err, c.want)
			}
			if after := snapshot(t, s.Dir()); after != before {
				t.Errorf("the store changed:\nbefore %.300s\nafter  %.300s", before, after)
			}
		})
	}
}

func TestNoKeysRefusesEverything(t *testing.T) {
	_, priv := testKey(t, "test")
	s, err := Open(StoreOptions{Dir: t.TempDir(), Target: target})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Install(context.Background(), bytes.NewReader(image(t, priv, "1", target, []byte("x"))), InstallOptions{})
	if !errors.Is(err, ErrNoKeys) {
		t.Fatalf("Install = %v, want ErrNoKeys", err)
	}
}

func TestAcceptRefusesBeforeWriting(t *testing.T) {
	s := newStore(t)
	_, priv := testKey(t, "test")
	before := snapshot(t, s.Dir())
	want := errors.New("already running 3.0")
	r := &countReader{r: bytes.NewReader(image(t, priv, "3.0", target, payload("3.0", 200_000)))}
	_, err := s.Install(context.Background(), r, InstallOptions{Accept: func(m *Manifest) error { return want }})
	if !errors.Is(err, want) {
		t.Fatalf("Install = %v", err)
	}
	if r.n > 1000 {
		t.Errorf("read %d bytes: the payload should not be read once Accept refused", r.n)
	}
	if snapshot(t, s.Dir()) != before {
		t.Error("the store changed")
	}
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// failReader fails after n bytes, like a dropped upload.
type failReader struct {
	r    io.Reader
	n    int
	fail func()
}

func (f *failReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.fail != nil {
			f.fail()
			return 0, context.Canceled
		}
		return 0, errors.New("connection reset by peer")
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestInterruptedWriteKeepsActiveSlot(t *testing.T) {
	_, priv := testKey(t, "test")
	for _, name := range []string{"connection drops", "context cancelled"} {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			upgrade(t, s, "1.0")
			upgrade(t, s, "1.1") // a: 1.0, b: 1.1 (current)
			before := snapshot(t, s.Dir())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fr := &failReader{r: bytes.NewReader(image(t, priv, "1.2", target, payload("1.2", 500_000))), n: 250_000}
			if name == "context cancelled" {
				fr.fail = cancel
			}
			if _, err := s.Install(ctx, fr, InstallOptions{}); err == nil {
				t.Fatal("Install succeeded")
			}
			if after := snapshot(t, s.Dir()); after != before {
				t.Errorf("the store changed after a broken install")
			}
			info, err := s.Boot()
			if err != nil || info.Slot != SlotB || info.Version != "1.1" || info.Trial {
				t.Fatalf("Boot = %+v, %v", info, err)
			}
		})
	}
}

func TestCrashLeftovers(t *testing.T) {
	s := newStore(t)
	upgrade(t, s, "1.0")
	// A crash mid-write leaves a temporary file; Open removes it.
	os.WriteFile(filepath.Join(s.Dir(), ".slot-b.tmp123"), []byte("half"), 0o644)
	// A crash between writing pending and current leaves a pending that
	// names a slot that is not current.
	os.WriteFile(filepath.Join(s.Dir(), "pending"), []byte(`{"slot":"b","previous":"a","version":"9","boots":0}`), 0o644)
	s2, err := Open(StoreOptions{Dir: s.Dir(), Keys: s.o.Keys, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), ".slot-b.tmp123")); err == nil {
		t.Error("temporary file left behind")
	}
	info, err := s2.Boot()
	if err != nil || info.Slot != SlotA || info.Trial {
		t.Fatalf("Boot = %+v, %v", info, err)
	}
	if st, _ := s2.State(); st.Pending != nil {
		t.Errorf("stale pending kept: %+v", st.Pending)
	}
}

func TestFailedHealthCheckRollsBack(t *testing.T) {
	s := newStore(t)
	_, priv := testKey(t, "test")
	upgrade(t, s, "1.0")
	if _, err := s.Install(context.Background(), bytes.NewReader(image(t, priv, "2.0-bad", target, payload("2.0", 1000))), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Switch(SlotB); err != nil {
		t.Fatal(err)
	}
	info, _ := s.Boot()
	if !info.Trial || info.Slot != SlotB {
		t.Fatalf("Boot = %+v", info)
	}
	checks := 0
	var waited time.Duration
	err := s.Trial(context.Background(), func(context.Context) error {
		checks++
		return errors.New("media loop has not started")
	}, HealthOptions{Deadline: 30 * time.Second, Interval: time.Second, After: func(d time.Duration) <-chan time.Time {
		waited += d
		c := make(chan time.Time, 1)
		c <- t0.Add(waited)
		return c
	}})
	if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "media loop has not started") {
		t.Fatalf("Trial = %v", err)
	}
	if checks != 31 || waited != 30*time.Second {
		t.Errorf("checks = %d over %s, want 31 over 30s", checks, waited)
	}
	st, _ := s.State()
	if st.Current != SlotA || st.Pending != nil || st.Rejected != "2.0-bad" || !strings.Contains(st.LastError, "did not come up healthy") {
		t.Fatalf("after rollback: %+v", st)
	}
	info, _ = s.Boot()
	if info.Slot != SlotA || info.Trial || info.Version != "1.0" {
		t.Fatalf("Boot after rollback = %+v", info)
	}
}

func TestBootCounterRollsBack(t *testing.T) {
	s := newStore(t)
	_, priv := testKey(t, "test")
	if _, err := s.Install(context.Background(), bytes.NewReader(image(t, priv, "crashy", target, payload("c", 1000))), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Switch(SlotA); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= DefaultMaxBoots; i++ {
		info, err := s.Boot()
		if err != nil || !info.Trial || info.Slot != SlotA {
			t.Fatalf("start %d: Boot = %+v, %v", i, info, err)
		}
	}
	info, err := s.Boot()
	if err != nil || info.Slot != Factory || info.Binary != "" || info.RolledBack == "" {
		t.Fatalf("after %d starts Boot = %+v, %v; want a rollback to the factory binary", DefaultMaxBoots, info, err)
	}
}

func TestDamagedSlotNeverStarts(t *testing.T) {
	s := newStore(t)
	upgrade(t, s, "1.0")
	b, _ := os.ReadFile(s.SlotPath(SlotA))
	b[100] ^= 0xff
	os.WriteFile(s.SlotPath(SlotA), b, 0o755)
	info, err := s.Boot()
	if err != nil || info.Slot != Factory || !strings.Contains(info.RolledBack, "failed verification") {
		t.Fatalf("Boot = %+v, %v", info, err)
	}
}

func TestInstallDuringTrialRefused(t *testing.T) {
	s := newStore(t)
	_, priv := testKey(t, "test")
	if _, err := s.Install(context.Background(), bytes.NewReader(image(t, priv, "1", target, []byte("one"))), InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Switch(SlotA); err != nil {
		t.Fatal(err)
	}
	_, err := s.Install(context.Background(), bytes.NewReader(image(t, priv, "2", target, []byte("two"))), InstallOptions{})
	if !errors.Is(err, ErrTrialInProgress) {
		t.Fatalf("Install = %v, want ErrTrialInProgress", err)
	}
}

func TestKeysText(t *testing.T) {
	pub, priv := testKey(t, "test")
	if k, err := ParsePublicKey(FormatPublicKey(pub)); err != nil || !k.Equal(pub) {
		t.Fatal("public key does not round-trip", err)
	}
	if k, err := ParsePrivateKey(FormatPrivateKey(priv)); err != nil || !k.Equal(priv) {
		t.Fatal("private key does not round-trip", err)
	}
	for _, bad := range []string{"", "loopstart-fw-ed25519", "loopstart-fw-ed25519 AAAA", "ssh-ed25519 AAAA x"} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
	if _, err := BuiltinKeys(); err != nil {
		t.Fatal(err)
	}
}

func FuzzReadHeader(f *testing.F) {
	pub, priv := testKey(f, "test")
	f.Add(image(f, priv, "1.0", target, []byte("payload")))
	f.Add([]byte(Magic + "\x00\x00\x00\x02{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHeader(bytes.NewReader(b), Keys{pub})
		if err == nil && (h.Manifest.check() != nil || !bytes.HasPrefix(b, h.Raw)) {
			t.Fatalf("accepted an invalid header: %+v", h.Manifest)
		}
		VerifyImage(b, Keys{pub}, target)
	})
}
