package buildroot

import (
	"strings"
	"testing"
)

// TestQEMUArgsInitrd checks which initramfs and how much RAM QEMUArgs
// hands the guest.
func TestQEMUArgsInitrd(t *testing.T) {
	tg, err := Lookup("qemu-amd64")
	if err != nil {
		t.Fatal(err)
	}
	img := Paths(tg, "/out")
	for _, c := range []struct {
		name string
		o    QEMUOptions
		want []string
	}{
		{"raw, default RAM", QEMUOptions{Image: img}, []string{"-initrd " + img.Initramfs, "-m 256"}},
		{"xz in 64 MiB", QEMUOptions{Image: img, InitramfsXZ: true, MemMiB: 64}, []string{"-initrd " + img.InitramfsXZ, "-m 64"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := " " + strings.Join(QEMUArgs(c.o), " ") + " "
			for _, w := range c.want {
				if !strings.Contains(got, " "+w+" ") {
					t.Errorf("args %q lack %q", got, w)
				}
			}
			if strings.Count(got, " -initrd ") != 1 {
				t.Errorf("args %q: want one -initrd", got)
			}
		})
	}
}
