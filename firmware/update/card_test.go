package update

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/loopstart/loopstart/firmware/card"
)

// cardFixture is a boot partition image and two slot "partitions" (files).
type cardFixture struct {
	boot, a, b string
}

func newCardFixture(t *testing.T, slotSize int64) cardFixture {
	t.Helper()
	dir := t.TempDir()
	raw, err := card.EncodeEnv(card.Env{"bootcmd": "run distro_bootcmd", card.VarSlot: "a", card.VarTrial: "0", card.VarTries: "0"}, card.EnvSize)
	if err != nil {
		t.Fatal(err)
	}
	img, err := card.FormatFAT(card.BootMiB<<20, 2048, "LOOPSTART", 1, []card.File{{Name: card.EnvFile, Data: raw}})
	if err != nil {
		t.Fatal(err)
	}
	f := cardFixture{boot: filepath.Join(dir, "p1"), a: filepath.Join(dir, "p2"), b: filepath.Join(dir, "p3")}
	if err := os.WriteFile(f.boot, img, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{f.a, f.b} {
		if err := os.WriteFile(p, bytes.Repeat([]byte{0xee}, int(slotSize)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f cardFixture) open(t *testing.T, keys Keys) *CardSlots {
	t.Helper()
	c, err := OpenCard(CardOptions{Boot: f.boot, Running: "a", Keys: keys, Target: "nanopi-neo/arm",
		SlotDev: func(s string) string { return map[string]string{"a": f.a, "b": f.b}[s] }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCardInstall(t *testing.T) {
	pub, priv := testKey(t, "test")
	_, other := testKey(t, "other")
	sys := payload("2.0.0", 100_000)
	good := image(t, priv, "2.0.0", "nanopi-neo/arm", sys)
	tampered := bytes.Clone(good)
	tampered[len(tampered)-10] ^= 1
	for _, tc := range []struct {
		name    string
		img     []byte
		slot    int64
		wantErr error
	}{
		{"installed", good, 200_000, nil},
		{"bad signature", image(t, other, "2.0.0", "nanopi-neo/arm", sys), 200_000, ErrBadSignature},
		{"wrong target", image(t, priv, "2.0.0", "qemu/arm64", sys), 200_000, ErrWrongTarget},
		{"tampered payload", tampered, 200_000, ErrPayload},
		{"short stream", good[:len(good)-5], 200_000, ErrPayload},
		{"too large for the slot", good, 50_000, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCardFixture(t, tc.slot)
			c := f.open(t, Keys{pub})
			envBefore, _ := os.ReadFile(f.boot)
			aBefore, _ := os.ReadFile(f.a)
			m, err := c.Install(context.Background(), bytes.NewReader(tc.img), InstallOptions{})
			aAfter, _ := os.ReadFile(f.a)
			if !bytes.Equal(aBefore, aAfter) {
				t.Fatal("the running slot was written")
			}
			if tc.name == "installed" {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(f.b)
				if m.Version != "2.0.0" || !bytes.Equal(b[:len(sys)], sys) {
					t.Fatal("slot b does not hold the payload")
				}
				st, err := c.State()
				if err != nil || st != (card.State{Slot: "b", Trial: true, Tries: card.TrialTries}) {
					t.Fatalf("state %+v %v", st, err)
				}
				return
			}
			if err == nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			envAfter, _ := os.ReadFile(f.boot)
			if !bytes.Equal(envBefore, envAfter) {
				t.Fatal("uboot.env changed by a failed install")
			}
		})
	}
}

func TestOpenCardErrors(t *testing.T) {
	if _, err := OpenCard(CardOptions{}); err == nil {
		t.Error("no devices accepted")
	}
	if _, err := OpenCard(CardOptions{Boot: "x", SlotDev: func(string) string { return "" }, Running: "c"}); err == nil {
		t.Error("running slot c accepted")
	}
}
