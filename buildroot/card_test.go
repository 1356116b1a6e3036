package buildroot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/card"
)

func TestCardQEMUArgs(t *testing.T) {
	tg, err := Lookup("nanopi-neo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		serial string
		want   []string
	}{
		{"", []string{"-M orangepi-pc", "-m 1G", "-drive file=sd.img,if=sd,format=raw", "-nic none",
			"-netdev user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80", "-device usb-net,netdev=n0,bus=usb-bus.7", "-serial mon:stdio"}},
		{"/tmp/s.log", []string{"-serial file:/tmp/s.log", "-monitor none"}},
	} {
		got := " " + strings.Join(CardQEMUArgs(CardQEMUOptions{Target: tg, Card: "sd.img", Serial: tc.serial,
			Forwards: []string{"tcp:127.0.0.1:8080-:80"}}), " ") + " "
		for _, w := range tc.want {
			if !strings.Contains(got, " "+w+" ") {
				t.Errorf("args %q lack %q", got, w)
			}
		}
		if strings.Contains(got, "-kernel") {
			t.Errorf("a card boots from the card, not -kernel: %q", got)
		}
	}
}

// TestCardImageFiles lays out a small card the way BuildCard does (boot
// partition with the environment) and checks CopyCard and SetCardArgs.
func TestCardImageFiles(t *testing.T) {
	dir := t.TempDir()
	parts := card.Layout()
	env, _ := card.EncodeEnv(card.Env{"bootcmd": "run distro_bootcmd", card.VarSlot: "a"}, card.EnvSize)
	boot, err := card.FormatFAT(parts[0].Size(), parts[0].Start, "LOOPSTART", 1, []card.File{{Name: card.EnvFile, Data: env}})
	if err != nil {
		t.Fatal(err)
	}
	mbr, _ := card.MBR(1, parts)
	img := filepath.Join(dir, "card.img")
	f, _ := os.Create(img)
	f.Truncate(card.ImageMiB << 20)
	f.WriteAt(mbr, 0)
	f.WriteAt(boot, parts[0].Offset())
	f.WriteAt([]byte("tail"), card.ImageMiB<<20-4)
	f.Close()
	cp := filepath.Join(dir, "sd.img")
	if err := CopyCard(img, cp); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(img)
	b, _ := os.ReadFile(cp)
	if !bytes.Equal(a, b) {
		t.Fatal("copy differs")
	}
	for _, args := range []string{"maxcpus=1 loopstart.iface=usb0", ""} {
		if err := SetCardArgs(cp, args); err != nil {
			t.Fatal(err)
		}
		e, _, err := card.BootEnv{Dev: cp, Base: parts[0].Offset()}.Read()
		if err != nil {
			t.Fatal(err)
		}
		if e[card.VarArgs] != args || e["bootcmd"] != "run distro_bootcmd" {
			t.Errorf("ls_args %q bootcmd %q, want %q", e[card.VarArgs], e["bootcmd"], args)
		}
	}
	if err := CopyCard(filepath.Join(dir, "none"), cp); err == nil {
		t.Error("copying a missing image succeeded")
	}
}
