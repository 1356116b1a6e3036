package system

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBoardForCompatible(t *testing.T) {
	for _, c := range []struct {
		compat []string
		want   string
	}{
		{[]string{"friendlyarm,nanopi-neo", "allwinner,sun8i-h3"}, "nanopi-neo"},
		{[]string{"raspberrypi,4-model-b", "brcm,bcm2711"}, "rpi-tdm400"},
		{[]string{"raspberrypi,3-model-b-plus", "brcm,bcm2837"}, "rpi-tdm400"},
		{[]string{"xunlong,orangepi-pc", "allwinner,sun8i-h3"}, ""},
		{[]string{"friendlyarm,nanopi-neo-air"}, ""},
		{[]string{"friendlyarm,nanopi-neo2", "allwinner,sun50i-h5"}, ""},
		{nil, ""},
	} {
		if got := BoardForCompatible(c.compat); got != c.want {
			t.Errorf("%q: %q, want %q", c.compat, got, c.want)
		}
	}
	if got := ParseCompatible([]byte("friendlyarm,nanopi-neo\x00allwinner,sun8i-h3\x00")); strings.Join(got, "|") != "friendlyarm,nanopi-neo|allwinner,sun8i-h3" {
		t.Errorf("ParseCompatible: %q", got)
	}
}

// TestPickBoard: the command line wins over the device tree, which wins
// over the default; an unknown or absent device tree keeps the default,
// and so does a model board sized on the command line.
func TestPickBoard(t *testing.T) {
	dir := t.TempDir()
	dt := filepath.Join(dir, "compatible")
	if err := os.WriteFile(dt, []byte("raspberrypi,3-model-b\x00brcm,bcm2837\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown")
	if err := os.WriteFile(unknown, []byte("xunlong,orangepi-pc\x00allwinner,sun8i-h3\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	neo := filepath.Join(dir, "neo")
	if err := os.WriteFile(neo, []byte("friendlyarm,nanopi-neo\x00allwinner,sun8i-h3\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cmdline, dt, want string
	}{
		{"quiet loopstart.board=qemu-hil", dt, "qemu-hil"},
		{"quiet", dt, "rpi-tdm400"},
		{"quiet", unknown, "sim"},
		{"quiet", filepath.Join(dir, "absent"), "sim"},
		{"quiet", neo, "nanopi-neo"},
		// The card image sizes a model board: the device tree's real
		// board is not taken.
		{"quiet loopstart.fxs=1 loopstart.fxo=0", neo, "sim"},
		{"quiet loopstart.fxo=1", dt, "sim"},
		{"loopstart.fxs=1 loopstart.board=qemu", neo, "qemu"},
	} {
		b, _ := testBooter(t, c.cmdline)
		b.pickBoard(c.cmdline, c.dt)
		if b.set.Board != c.want {
			t.Errorf("%q with %s: board %q, want %q", c.cmdline, filepath.Base(c.dt), b.set.Board, c.want)
		}
	}
}

// TestStartHILWithoutHelper: on qemu-hil without the helper binary the
// boot goes on with a problem naming it; other boards start nothing.
func TestStartHILWithoutHelper(t *testing.T) {
	b, _ := testBooter(t, "loopstart.board=qemu-hil")
	b.startHIL(context.Background())
	if len(b.st.Problems) != 1 || !strings.Contains(b.st.Problems[0], "/nonexistent/spidevd") {
		t.Errorf("problems %q", b.st.Problems)
	}
	b, _ = testBooter(t, "loopstart.board=sim")
	b.startHIL(context.Background())
	if len(b.st.Problems) != 0 {
		t.Errorf("sim board: problems %q", b.st.Problems)
	}
}
