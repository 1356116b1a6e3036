package buildroot

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMergeConfig(t *testing.T) {
	base := "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\n# a comment\nCONFIG_D=m\n"
	for _, tc := range []struct {
		name    string
		frag    []string
		want    string
		wantErr string
	}{
		{"set an unset one", []string{"CONFIG_B=y"}, "CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=\"x\"\n# a comment\nCONFIG_D=m\n", ""},
		{"module to built in", []string{"CONFIG_D=y"}, "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\n# a comment\nCONFIG_D=y\n", ""},
		{"unset a set one", []string{"# CONFIG_A is not set"}, "", "not CONFIG_X=value"},
		{"new symbols appended in order", []string{"CONFIG_Z=y", "CONFIG_E=64"},
			base + "CONFIG_Z=y\nCONFIG_E=64\n", ""},
		{"last of a repeated symbol wins", []string{"CONFIG_A=n", "CONFIG_A=y"}, base, ""},
		{"string value", []string{"CONFIG_C=\"y z\""}, "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"y z\"\n# a comment\nCONFIG_D=m\n", ""},
		{"not a config line", []string{"A=y"}, "", "not CONFIG_X=value"},
		{"=n unsets a set one", []string{"CONFIG_A=n", "CONFIG_Y=n"},
			"# CONFIG_A is not set\n# CONFIG_B is not set\nCONFIG_C=\"x\"\n# a comment\nCONFIG_D=m\n# CONFIG_Y is not set\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), ".config")
			if err := os.WriteFile(p, []byte(base), 0o644); err != nil {
				t.Fatal(err)
			}
			err := mergeConfig(p, tc.frag)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				b, _ := os.ReadFile(p)
				if string(b) != base {
					t.Errorf("a refused fragment changed the config:\n%s", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			if string(b) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b, tc.want)
			}
		})
	}
}

func TestMissingConfig(t *testing.T) {
	cfg := "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\n"
	for _, tc := range []struct {
		frag, want []string
	}{
		{[]string{"CONFIG_A=y"}, nil},
		{[]string{"CONFIG_A=y", "CONFIG_B=y", "CONFIG_C=y", "CONFIG_X=y"}, []string{"CONFIG_B=y", "CONFIG_C=y", "CONFIG_X=y"}},
		{[]string{"CONFIG_B=n", "CONFIG_X=n"}, nil},
		{[]string{"CONFIG_A=n", "CONFIG_C=n"}, []string{"CONFIG_A=n", "CONFIG_C=n"}},
	} {
		got := MissingConfig(cfg, tc.frag)
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("MissingConfig(%v) = %v, want %v", tc.frag, got, tc.want)
		}
	}
}

// TestBoardKernelKey: the cache key changes with the source version and
// with the configuration, not with the fragment's order.
func TestBoardKernelKey(t *testing.T) {
	s := BoardKernels["qemu-amd64"]
	if s.Base != "tinyconfig" || len(s.Fragment) == 0 {
		t.Fatalf("qemu-amd64 board kernel %+v", s)
	}
	ks := KernelSource{Package: "linux-source-6.1", Version: "6.1.192-3"}
	d := BoardKernelDir("/c", "qemu-amd64", ks, s)
	if !strings.HasPrefix(d, "/c/qemu-amd64-6.1.192-3-") || len(filepath.Base(d)) != len("qemu-amd64-6.1.192-3-")+12 {
		t.Errorf("dir %s", d)
	}
	rev := s
	rev.Fragment = append([]string(nil), s.Fragment...)
	for i, j := 0, len(rev.Fragment)-1; i < j; i, j = i+1, j-1 {
		rev.Fragment[i], rev.Fragment[j] = rev.Fragment[j], rev.Fragment[i]
	}
	if BoardKernelDir("/c", "qemu-amd64", ks, rev) != d {
		t.Error("the fragment's order changed the key")
	}
	more := s
	more.Fragment = append(append([]string(nil), s.Fragment...), "CONFIG_KALLSYMS=y")
	newer := ks
	newer.Version = "6.1.193-1"
	dtb := s
	dtb.DTB = "board.dtb"
	for _, other := range []string{BoardKernelDir("/c", "qemu-amd64", ks, more), BoardKernelDir("/c", "qemu-amd64", newer, s),
		BoardKernelDir("/c", "qemu-amd64", ks, dtb)} {
		if other == d {
			t.Errorf("%s: same key as the original", other)
		}
	}
	if _, ok := boardKernelAt(filepath.Join(t.TempDir(), "none")); ok {
		t.Error("an empty cache has a kernel")
	}
	dir := t.TempDir()
	for n, v := range map[string]string{"kernel": "ELF", "release": "6.1.192\n"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if bk, ok := boardKernelAt(dir); !ok || bk.Release != "6.1.192" || bk.DTB != "" {
		t.Errorf("cached kernel %+v %v", bk, ok)
	}
	if err := os.WriteFile(filepath.Join(dir, "dtb"), []byte{0xd0, 0x0d, 0xfe, 0xed}, 0o644); err != nil {
		t.Fatal(err)
	}
	if bk, ok := boardKernelAt(dir); !ok || bk.DTB != filepath.Join(dir, "dtb") {
		t.Errorf("cached kernel with a device tree %+v %v", bk, ok)
	}
	if _, err := BuildBoardKernel("qemu-arm64", KernelBuildOptions{Cache: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "nanopi-neo, qemu-amd64") {
		t.Errorf("a target without a board kernel: %v", err)
	}
}

// TestBoardKernelFragment: every fragment line builds a symbol in
// (CONFIG_X=y) or leaves it out (CONFIG_X=n), no symbol twice, and the
// interfaces the issue asks for are built in, for each target.
func TestBoardKernelFragment(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   []string
	}{
		{"qemu-amd64", []string{"CONFIG_VIRTIO_NET", "CONFIG_VIRTIO_BLK", "CONFIG_EXT4_FS", "CONFIG_I6300ESB_WDT", "CONFIG_SPI_SPIDEV",
			"CONFIG_CUSE", "CONFIG_SND_ALOOP", "CONFIG_GPIO_SIM", "CONFIG_PVH"}},
		{"nanopi-neo", []string{"CONFIG_DWMAC_SUN8I", "CONFIG_MMC_SUNXI", "CONFIG_EXT4_FS", "CONFIG_SUNXI_WATCHDOG", "CONFIG_SPI_SUN6I",
			"CONFIG_SPI_SPIDEV", "CONFIG_SND_SUN4I_I2S", "CONFIG_CUSE", "CONFIG_SND_ALOOP", "CONFIG_GPIO_SIM", "CONFIG_RD_XZ",
			"CONFIG_USB_NET_CDCETHER"}},
	} {
		t.Run(tc.target, func(t *testing.T) {
			s, ok := BoardKernels[tc.target]
			if !ok {
				t.Fatalf("no board kernel for %s", tc.target)
			}
			have := map[string]bool{}
			for _, l := range s.Fragment {
				if !strings.HasPrefix(l, "CONFIG_") || !strings.HasSuffix(l, "=y") && !strings.HasSuffix(l, "=n") {
					t.Errorf("fragment line %q", l)
				}
				if have[l] {
					t.Errorf("%s twice", l)
				}
				have[l] = true
			}
			for _, w := range tc.want {
				if !have[w+"=y"] {
					t.Errorf("%s is not built in", w)
				}
			}
			if tgt, err := Lookup(tc.target); err != nil || (tgt.Card != nil) != (s.DTB != "") {
				t.Errorf("target %s (%v): a card target's kernel needs its device tree (DTB %q)", tc.target, err, s.DTB)
			}
		})
	}
}

// TestLockBuild: a second lock of a target's build waits for the first
// to be released; other targets do not.
func TestLockBuild(t *testing.T) {
	cache := t.TempDir()
	unlock, err := lockBuild(cache, "qemu-amd64", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	other, err := lockBuild(cache, "nanopi-neo", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	other()
	got := make(chan func(), 1)
	var log strings.Builder
	go func() {
		u, err := lockBuild(cache, "qemu-amd64", &log)
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("a second lock of the same target did not wait")
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case u := <-got:
		u()
	case <-time.After(10 * time.Second):
		t.Fatal("the second lock was not granted after the first was released")
	}
	if !strings.Contains(log.String(), "waiting for another build") {
		t.Errorf("the waiting build did not say so: %q", log.String())
	}
}
