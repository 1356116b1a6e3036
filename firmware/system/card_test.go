package system

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/card"
)

func TestSplitPartition(t *testing.T) {
	for _, tc := range []struct {
		dev, disk string
		part      int
		bad       bool
	}{
		{"/dev/mmcblk0p4", "/dev/mmcblk0", 4, false},
		{"/dev/mmcblk1p1", "/dev/mmcblk1", 1, false},
		{"/dev/sda4", "/dev/sda", 4, false},
		{"/dev/vda2", "/dev/vda", 2, false},
		{"/dev/sda", "", 0, true},
		{"/dev/sda5", "", 0, true},
		{"4", "", 0, true},
	} {
		disk, part, err := SplitPartition(tc.dev)
		if (err != nil) != tc.bad || disk != tc.disk || part != tc.part {
			t.Errorf("%s: %s %d %v", tc.dev, disk, part, err)
		}
	}
}

func TestCmdlineCard(t *testing.T) {
	s, errs := ParseCmdline("console=ttyS0 loopstart.slot=b loopstart.trial=1 loopstart.boot=/dev/mmcblk0p1 loopstart.data=/dev/mmcblk0p4")
	if len(errs) != 0 || s.Slot != "b" || !s.Trial || s.BootDev != "/dev/mmcblk0p1" || s.DataDev != "/dev/mmcblk0p4" {
		t.Fatalf("%+v %v", s, errs)
	}
	s, errs = ParseCmdline("loopstart.slot=c loopstart.trial=0")
	if len(errs) != 1 || s.Slot != "" || s.Trial {
		t.Fatalf("%+v %v", s, errs)
	}
}

// cardBootImage is a boot partition with uboot.env holding env.
func cardBootImage(t *testing.T, env card.Env) string {
	t.Helper()
	raw, err := card.EncodeEnv(env, card.EnvSize)
	if err != nil {
		t.Fatal(err)
	}
	img, err := card.FormatFAT(card.BootMiB<<20, 2048, "LOOPSTART", 1, []card.File{{Name: card.EnvFile, Data: raw}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "boot.img")
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCardConfirm(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       card.Env
		set       Settings
		wantTrial bool   // still on trial in uboot.env after cardHealthy
		problem   string // a boot problem expected
	}{
		{"trial confirmed", card.Env{card.VarSlot: "b", card.VarTrial: "1", card.VarTries: "2"}, Settings{Slot: "b", Trial: true}, false, ""},
		{"not on trial", card.Env{card.VarSlot: "a", card.VarTrial: "0"}, Settings{Slot: "a"}, false, ""},
		{"fell back", card.Env{card.VarSlot: "b", card.VarTrial: "0", card.VarFellBack: "a"}, Settings{Slot: "b"}, false, "gave up on slot a"},
		{"other slot", card.Env{card.VarSlot: "a", card.VarTrial: "1", card.VarTries: "1"}, Settings{Slot: "b", Trial: true}, true, "not the running b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			b := newBooter(BootOptions{Console: &out})
			b.log = slog.New(slog.NewTextHandler(&out, nil))
			b.set = tc.set
			b.set.BootDev = cardBootImage(t, tc.env)
			b.cardBoot()
			b.cardHealthy()
			b.cardHealthy() // once only
			e, _, err := card.BootEnv{Dev: b.set.BootDev}.Read()
			if err != nil {
				t.Fatal(err)
			}
			if got := card.StateOf(e); got.Trial != tc.wantTrial {
				t.Errorf("uboot.env trial = %v, want %v", got.Trial, tc.wantTrial)
			}
			probs := strings.Join(b.state().Problems, "; ")
			if tc.problem == "" && probs != "" || !strings.Contains(probs, tc.problem) {
				t.Errorf("problems %q, want %q", probs, tc.problem)
			}
		})
	}
}
