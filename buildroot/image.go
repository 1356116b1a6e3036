package buildroot

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// InitCmd is the u-root init command embedded in every image; the gateway
// binary is added as a file, not built by u-root.
const InitCmd = "github.com/u-root/u-root/cmds/core/init"

// DebugCmds are the u-root commands a debug image adds: a shell (gosh, the
// console's default shell once loopstart boot ends) and a few tools to look
// around. Each is a Go tool directive in go.mod.
var DebugCmds = []string{
	"github.com/u-root/u-root/cmds/core/gosh", "github.com/u-root/u-root/cmds/core/ls",
	"github.com/u-root/u-root/cmds/core/cat", "github.com/u-root/u-root/cmds/core/ip",
	"github.com/u-root/u-root/cmds/core/dmesg", "github.com/u-root/u-root/cmds/core/ps",
	"github.com/u-root/u-root/cmds/core/mount",
}

// BuildOptions configure Build.
type BuildOptions struct {
	// Repo is the module root (where go.mod is).
	Repo string
	// Out is the output directory (vmlinux, initramfs.cpio, initramfs.cpio.xz).
	Out string
	// Cache holds the kernel packages and the host u-root tool.
	Cache string
	// Version is stamped into the gateway binary.
	Version string
	// Log receives progress and the sizes.
	Log io.Writer
	// Debug adds a shell and DebugCmds (never for a product image).
	Debug bool
	// ExtraModules are kernel modules loaded on top of the target's own
	// (their dependencies are added in order), e.g. SoundTestModules for
	// the ALSA self-test image. A product image has none.
	ExtraModules []string
	// ExtraCmds are main packages of this module (e.g. "./tools/spidevd",
	// see HILTestCmds) built like loopstart and added as /bin/<name>: a
	// test image's helpers. A product image has none.
	ExtraCmds []string
	// BuildKeys are extra trusted firmware signing keys (base64, comma
	// separated) linked into loopstart, e.g. the test key of a test image
	// that installs signed updates.
	BuildKeys string
	// StockKernel uses Debian's kernel and modules even when a board
	// kernel is cached for the target (see CachedBoardKernel).
	StockKernel bool
	// Firmware is the directory holding a card target's closed boot
	// firmware (CardSpec.Firmware), e.g. the Raspberry Pi's.
	Firmware string
}

// SoundTestModules are the extra modules of the image the ALSA self-test
// boots (buildroot/qemutest TestBootALSA, make image MODULES_EXTRA=...):
// snd-aloop, the virtual loopback sound card, which pulls in soundcore,
// snd, snd-timer and snd-pcm.
var SoundTestModules = []string{"snd_aloop"}

// Image is a built image.
type Image struct {
	Target Target
	// Kernel is the unpacked kernel file to boot.
	Kernel string
	// Initramfs is the uncompressed cpio, InitramfsXZ the xz one.
	Initramfs, InitramfsXZ string
	// KernelRelease is uname -r.
	KernelRelease string
	// Modules are the module names in load order.
	Modules []string
	// DTB is the board kernel's device tree (BoardKernel.DTB), "" with
	// Debian's kernel.
	DTB string
}

// Paths returns where Build puts target's files in out.
func Paths(t Target, out string) Image {
	return Image{Target: t, Kernel: filepath.Join(out, "kernel"),
		Initramfs: filepath.Join(out, "initramfs.cpio"), InitramfsXZ: filepath.Join(out, "initramfs.cpio.xz")}
}

// Build makes target's image: the board kernel when cached (everything
// built in), else Debian's kernel fetched and unpacked with its modules in
// dependency order, loopstart cross-built with CGO_ENABLED=0, the u-root
// initramfs (init + loopstart, no shell), and its xz form (XZArgs).
func Build(t Target, o BuildOptions) (Image, error) {
	img := Paths(t, o.Out)
	log := o.Log
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return img, err
	}
	// The board kernel (make kernel) when one is cached for the current
	// linux-source and configuration: everything built in, no modules.
	// Otherwise Debian's kernel with the target's modules.
	bk, board := BoardKernel{}, false
	if !o.StockKernel {
		bk, board = CachedBoardKernel(t.Name)
	}
	var k Kernel
	var vmlinux []byte
	var err error
	if board {
		img.KernelRelease, img.DTB = bk.Release, bk.DTB
		if vmlinux, err = os.ReadFile(bk.Kernel); err != nil {
			return img, err
		}
		fmt.Fprintf(log, "image %s: board kernel %s from %s\n", t.Name, bk.Release, bk.Dir)
	} else {
		if k, err = FetchKernel(t, o.Cache, log); err != nil {
			return img, err
		}
		img.KernelRelease = k.Release
		raw, err := os.ReadFile(k.Image)
		if err != nil {
			return img, err
		}
		vmlinux = raw // a card target's U-Boot boots the zImage as Debian ships it
		if t.Card == nil {
			if vmlinux, err = UnpackKernel(raw); err != nil {
				return img, err
			}
		}
	}
	if err := os.WriteFile(img.Kernel, vmlinux, 0o644); err != nil {
		return img, err
	}

	stage := filepath.Join(o.Out, "stage")
	_ = os.RemoveAll(stage)
	modDir := filepath.Join(stage, "modules")
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		return img, err
	}
	var mods []Module
	if !board {
		if mods, err = ModuleOrder(k.ModulesDir(), append(append([]string(nil), t.Modules...), o.ExtraModules...)); err != nil {
			return img, err
		}
	}
	var order strings.Builder
	fmt.Fprintf(&order, "# %s, load order (dependencies first)\n", img.KernelRelease)
	for _, m := range mods {
		b, err := os.ReadFile(m.Path)
		if err != nil {
			return img, err
		}
		if err := os.WriteFile(filepath.Join(modDir, m.Name+".ko"), b, 0o644); err != nil {
			return img, err
		}
		fmt.Fprintf(&order, "%s.ko\n", m.Name)
		img.Modules = append(img.Modules, m.Name)
	}
	if err := os.WriteFile(filepath.Join(modDir, "modules.order"), []byte(order.String()), 0o644); err != nil {
		return img, err
	}

	// No mke2fs: loopstart formats a blank data disk itself
	// (system.FormatExt4), and a card's data partition is made by
	// BuildCard.

	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+t.GOARCH)
	if t.GOARM != "" {
		env = append(env, "GOARM="+t.GOARM)
	}
	bin := filepath.Join(stage, "loopstart")
	// The build date orders this firmware against later images when
	// versions are bare commit names (firmware/update's downgrade check).
	ldflags := "-s -w -X main.version=" + o.Version +
		" -X github.com/loopstart/loopstart/firmware/update.BuildDate=" + time.Now().UTC().Format(time.RFC3339)
	if o.BuildKeys != "" {
		ldflags += " -X github.com/loopstart/loopstart/firmware/update.BuildKeys=" + o.BuildKeys
	}
	if err := run(o.Repo, env, log, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./firmware/cmd/loopstart"); err != nil {
		return img, err
	}
	var extra []string
	for _, pkg := range o.ExtraCmds {
		out := filepath.Join(stage, filepath.Base(pkg))
		if err := run(o.Repo, env, log, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg); err != nil {
			return img, err
		}
		extra = append(extra, "-files", out+":bin/"+filepath.Base(pkg))
	}
	// The u-root tool itself runs on the host.
	uroot := filepath.Join(o.Cache, "u-root")
	if err := run(o.Repo, os.Environ(), log, "go", "build", "-o", uroot, "github.com/u-root/u-root"); err != nil {
		return img, err
	}
	// A product image's /init is loopstart itself (system.Init: PID 1
	// starts `loopstart boot` and reaps), with u-root's base archive
	// (directories, device nodes) and no Go command of u-root's; a debug
	// image keeps u-root's init, which runs `loopstart boot` as its uinit
	// and the shell after it.
	args := []string{"-o", img.Initramfs, "-skip-ldd", "-defaultsh", "",
		"-files", bin + ":bin/loopstart", "-files", modDir + ":lib/loopstart/modules"}
	args = append(args, extra...)
	if o.Debug {
		// The commands last: u-root's flags end at the first of them.
		args = append(args, "-uinitcmd", "/bin/loopstart boot", "-defaultsh", "gosh", InitCmd)
		args = append(args, DebugCmds...)
	} else {
		args = append(args, "-uinitcmd", "", "-initcmd", "/bin/loopstart", "-nocmd")
	}
	if err := run(o.Repo, env, log, uroot, args...); err != nil {
		return img, err
	}
	xzOut, err := os.Create(img.InitramfsXZ)
	if err != nil {
		return img, err
	}
	cmd := exec.Command("xz", append(XZArgs(t), "-c", img.Initramfs)...)
	cmd.Stdout, cmd.Stderr = xzOut, log
	err = cmd.Run()
	xzOut.Close()
	if err != nil {
		return img, fmt.Errorf("xz: %w", err)
	}
	sz := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	fmt.Fprintf(log, "image %s: kernel %s (%s unpacked, %.1f MiB)\n", t.Name, img.KernelRelease, img.Kernel, mib(sz(img.Kernel)))
	fmt.Fprintf(log, "image %s: modules %s\n", t.Name, strings.Join(img.Modules, " "))
	fmt.Fprintf(log, "image %s: loopstart %.1f MiB, initramfs %.2f MiB raw, %.2f MiB xz (%s)\n", t.Name,
		mib(sz(bin)), mib(sz(img.Initramfs)), mib(sz(img.InitramfsXZ)), img.InitramfsXZ)
	_ = os.RemoveAll(stage)
	return img, nil
}

// XZDict is the LZMA2 dictionary of the initramfs's xz. The kernel's
// decoder allocates the whole dictionary the stream names before it
// unpacks a byte, and preset 9's 64 MiB could not be had on a 64 MiB
// board ("XZ decompressor ran out of memory"); 4 MiB costs about 10 KB
// (0.2 %) of the qemu-amd64 initramfs against 64 MiB.
const XZDict = "4MiB"

// XZArgs are the xz options of t's initramfs: the strongest LZMA2
// preset with a dictionary a small board can allocate (XZDict), the
// CRC32 check the kernel's decoder knows, and the branch converter (BCJ)
// filter for the target's code where Linux 6.1's decoder has one (x86,
// ARM; none for arm64), which takes about 5 % off.
func XZArgs(t Target) []string {
	args := []string{"--check=crc32"}
	switch t.GOARCH {
	case "amd64", "386":
		args = append(args, "--x86")
	case "arm":
		args = append(args, "--arm")
	}
	return append(args, "--lzma2=preset=9e,dict="+XZDict)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func run(dir string, env []string, log io.Writer, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return nil
}
