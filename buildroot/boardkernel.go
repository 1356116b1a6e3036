package buildroot

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BoardKernelSpec is how a target's own kernel is configured from
// Debian's linux-source: a base configuration of the kernel tree
// (tinyconfig, a SoC defconfig) plus a fragment, everything the image
// needs to boot built in (no modules).
type BoardKernelSpec struct {
	// Arch is the kernel's ARCH=, Cross its CROSS_COMPILE= (empty for the
	// host's compiler).
	Arch, Cross string
	// Base is the make target of the base configuration.
	Base string
	// Fragment are the CONFIG_ lines merged over Base; every one must
	// survive olddefconfig (a dropped one is an error naming it).
	Fragment []string
	// Output is the kernel file to boot, relative to the build tree.
	Output string
	// Make is the make goal that builds Output.
	Make string
	// DTB, when set, is the board's device tree the kernel tree builds
	// (a make goal of its own, found under arch/ARCH/boot/dts): a card
	// target boots it with the kernel instead of the stock package's.
	DTB string
}

// amd64Fragment is the qemu-amd64 board kernel over tinyconfig: what Go
// and the init need (futex, epoll, eventfd, timers, madvise, tmpfs,
// devtmpfs, the CPU's random number generator), the QEMU machine (PVH
// entry for -kernel, serial console, virtio PCI disk and NIC, the
// i6300esb watchdog), ext4 for the data partition, and the board
// interfaces: spidev, CUSE (user-space SPI devices), ALSA with snd-aloop,
// gpio-sim.
var amd64Fragment = []string{
	"CONFIG_64BIT=y", "CONFIG_PRINTK=y", "CONFIG_BUG=y", "CONFIG_TTY=y",
	"CONFIG_SERIAL_8250=y", "CONFIG_SERIAL_8250_CONSOLE=y",
	"CONFIG_BLK_DEV_INITRD=y", "CONFIG_RD_XZ=y", "CONFIG_BINFMT_ELF=y", "CONFIG_BINFMT_SCRIPT=y",
	"CONFIG_MULTIUSER=y", "CONFIG_FUTEX=y", "CONFIG_EPOLL=y", "CONFIG_SIGNALFD=y", "CONFIG_TIMERFD=y",
	"CONFIG_EVENTFD=y", "CONFIG_SHMEM=y", "CONFIG_ADVISE_SYSCALLS=y", "CONFIG_FILE_LOCKING=y",
	"CONFIG_POSIX_TIMERS=y", "CONFIG_HIGH_RES_TIMERS=y", "CONFIG_NO_HZ_IDLE=y", "CONFIG_INOTIFY_USER=y",
	"CONFIG_PROC_FS=y", "CONFIG_PROC_SYSCTL=y", "CONFIG_SYSFS=y", "CONFIG_DEVTMPFS=y", "CONFIG_DEVTMPFS_MOUNT=y",
	"CONFIG_TMPFS=y", "CONFIG_CONFIGFS_FS=y",
	"CONFIG_HYPERVISOR_GUEST=y", "CONFIG_PARAVIRT=y", "CONFIG_PVH=y",
	"CONFIG_PCI=y", "CONFIG_VIRTIO_MENU=y", "CONFIG_VIRTIO_PCI=y", "CONFIG_BLOCK=y", "CONFIG_VIRTIO_BLK=y",
	"CONFIG_NET=y", "CONFIG_PACKET=y", "CONFIG_UNIX=y", "CONFIG_INET=y", "CONFIG_IPV6=y",
	"CONFIG_NETDEVICES=y", "CONFIG_NET_CORE=y", "CONFIG_VIRTIO_NET=y",
	"CONFIG_EXT4_FS=y", "CONFIG_WATCHDOG=y", "CONFIG_I6300ESB_WDT=y",
	"CONFIG_SPI=y", "CONFIG_SPI_MASTER=y", "CONFIG_SPI_SPIDEV=y", "CONFIG_FUSE_FS=y", "CONFIG_CUSE=y",
	"CONFIG_SOUND=y", "CONFIG_SND=y", "CONFIG_SND_DRIVERS=y", "CONFIG_SND_ALOOP=y",
	"CONFIG_GPIOLIB=y", "CONFIG_GPIO_SIM=y",
	// Seed the kernel's random number generator from RDRAND at boot, as
	// Debian's kernel does: without it the first getrandom(2) — loopstart's
	// start — waited about 1.3 s under TCG for the entropy pool.
	"CONFIG_RANDOM_TRUST_CPU=y",
	// What tinyconfig builds in that a headless gateway never uses and a
	// boot under TCG pays for: the virtual terminal, the input layer
	// with the i8042 keyboard and PS/2 mouse (the mouse port's probe ran
	// 0.86 s beside the boot), and 256 legacy BSD ptys (pty_init 0.2 s;
	// Unix98 ptys stay).
	"CONFIG_VT=n", "CONFIG_INPUT=n", "CONFIG_SERIO=n", "CONFIG_LEGACY_PTYS=n",
}

// nanopiFragment is the NanoPi NEO board kernel over sunxi_defconfig
// (which already builds in the H3's SD host, USB hosts and PHY, SPI, I2S,
// the watchdog and ext4): the xz initramfs, IPv6 and packet sockets, the
// EMAC, the SPI device node, CUSE, snd-aloop, gpio-sim, and CDC Ethernet
// for a USB network adapter (QEMU's guest network).
var nanopiFragment = []string{
	"CONFIG_BLK_DEV_INITRD=y", "CONFIG_RD_XZ=y", "CONFIG_IPV6=y", "CONFIG_PACKET=y",
	"CONFIG_STMMAC_ETH=y", "CONFIG_STMMAC_PLATFORM=y", "CONFIG_DWMAC_SUN8I=y",
	"CONFIG_MMC_SUNXI=y", "CONFIG_EXT4_FS=y", "CONFIG_WATCHDOG=y", "CONFIG_SUNXI_WATCHDOG=y",
	"CONFIG_SPI=y", "CONFIG_SPI_SUN6I=y", "CONFIG_SPI_SPIDEV=y", "CONFIG_SND=y", "CONFIG_SND_SOC=y", "CONFIG_SND_SUN4I_I2S=y",
	"CONFIG_FUSE_FS=y", "CONFIG_CUSE=y", "CONFIG_SND_DRIVERS=y", "CONFIG_SND_ALOOP=y",
	"CONFIG_CONFIGFS_FS=y", "CONFIG_GPIOLIB=y", "CONFIG_GPIO_SIM=y",
	"CONFIG_USB=y", "CONFIG_USB_EHCI_HCD=y", "CONFIG_USB_EHCI_HCD_PLATFORM=y", "CONFIG_USB_OHCI_HCD=y",
	"CONFIG_USB_OHCI_HCD_PLATFORM=y", "CONFIG_PHY_SUN4I_USB=y",
	"CONFIG_USB_NET_DRIVERS=y", "CONFIG_USB_USBNET=y", "CONFIG_USB_NET_CDCETHER=y",
}

// BoardKernels are the targets that have a board kernel (make kernel).
var BoardKernels = map[string]BoardKernelSpec{
	"qemu-amd64": {Arch: "x86", Base: "tinyconfig", Fragment: amd64Fragment, Output: "vmlinux", Make: "vmlinux"},
	"nanopi-neo": {Arch: "arm", Cross: "arm-linux-gnueabihf-", Base: "sunxi_defconfig", Fragment: nanopiFragment,
		Output: "arch/arm/boot/zImage", Make: "zImage", DTB: "sun8i-h3-nanopi-neo.dtb"},
}

// KernelSourcePackage is Debian's kernel source metapackage.
const KernelSourcePackage = "linux-source"

// KernelCacheDir is where board kernels are built and kept, outside the
// tree: $LOOPSTART_KERNEL_CACHE, else the user's cache directory's
// loopstart/kernel.
func KernelCacheDir() (string, error) {
	if d := os.Getenv("LOOPSTART_KERNEL_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("kernel cache: %w", err)
	}
	return filepath.Join(d, "loopstart", "kernel"), nil
}

// KernelSource is the versioned linux-source package apt would install.
type KernelSource struct {
	// Package is e.g. linux-source-6.1, Version its Debian version.
	Package, Version string
}

// ResolveKernelSource asks the host's apt cache (no network) which
// linux-source-X.Y package and version the metapackage stands for.
func ResolveKernelSource() (KernelSource, error) {
	out, err := exec.Command("apt-cache", "depends", KernelSourcePackage).CombinedOutput()
	if err != nil {
		return KernelSource{}, fmt.Errorf("apt-cache depends %s: %w\n%s", KernelSourcePackage, err, out)
	}
	var ks KernelSource
	for _, l := range strings.Split(string(out), "\n") {
		if d, ok := strings.CutPrefix(strings.TrimSpace(l), "Depends: "); ok && strings.HasPrefix(d, "linux-source-") {
			ks.Package = strings.TrimSpace(d)
			break
		}
	}
	if ks.Package == "" {
		return ks, fmt.Errorf("%s: no linux-source-X.Y dependency in:\n%s", KernelSourcePackage, out)
	}
	out, err = exec.Command("apt-cache", "policy", ks.Package).CombinedOutput()
	if err != nil {
		return ks, fmt.Errorf("apt-cache policy %s: %w\n%s", ks.Package, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Candidate: "); ok && v != "(none)" {
			ks.Version = v
		}
	}
	if ks.Version == "" {
		return ks, fmt.Errorf("%s has no candidate version (apt-get update?)", ks.Package)
	}
	return ks, nil
}

// ConfigHash is the hash of a spec's configuration inputs (arch, base,
// fragment), a part of the cache key.
func (s BoardKernelSpec) ConfigHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", s.Arch, s.Cross, s.Base, s.Make)
	if s.DTB != "" {
		fmt.Fprintf(h, "dtb %s\n", s.DTB)
	}
	frag := append([]string(nil), s.Fragment...)
	sort.Strings(frag)
	for _, l := range frag {
		fmt.Fprintln(h, l)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// BoardKernelDir is the cache directory of target's kernel built from
// source version ks with spec: cache/TARGET-VERSION-CONFIGHASH.
func BoardKernelDir(cache, target string, ks KernelSource, s BoardKernelSpec) string {
	v := strings.NewReplacer("/", "_", ":", "_", "~", "_").Replace(ks.Version)
	return filepath.Join(cache, fmt.Sprintf("%s-%s-%s", target, v, s.ConfigHash()))
}

// BoardKernel is a built board kernel in the cache.
type BoardKernel struct {
	// Dir is its cache directory; Kernel the file to boot, Config the
	// final .config, Release its uname -r.
	Dir, Kernel, Config, Release string
	// DTB is the board's device tree built with it ("" when the spec
	// names none).
	DTB string
}

func boardKernelAt(dir string) (BoardKernel, bool) {
	bk := BoardKernel{Dir: dir, Kernel: filepath.Join(dir, "kernel"), Config: filepath.Join(dir, "config")}
	rel, err := os.ReadFile(filepath.Join(dir, "release"))
	if err != nil {
		return bk, false
	}
	bk.Release = strings.TrimSpace(string(rel))
	if _, err := os.Stat(bk.Kernel); err != nil {
		return bk, false
	}
	if _, err := os.Stat(filepath.Join(dir, "dtb")); err == nil {
		bk.DTB = filepath.Join(dir, "dtb")
	}
	return bk, true
}

// CachedBoardKernel returns target's board kernel when one was built for
// the current linux-source version and spec; ok is false when the target
// has none or it is not built (the image then uses Debian's kernel).
func CachedBoardKernel(target string) (bk BoardKernel, ok bool) {
	s, has := BoardKernels[target]
	if !has {
		return bk, false
	}
	cache, err := KernelCacheDir()
	if err != nil {
		return bk, false
	}
	ks, err := ResolveKernelSource()
	if err != nil {
		return bk, false
	}
	return boardKernelAt(BoardKernelDir(cache, target, ks, s))
}

// KernelBuildOptions configure BuildBoardKernel.
type KernelBuildOptions struct {
	// Cache is the kernel cache (KernelCacheDir).
	Cache string
	// Jobs is make's -j (default: the number of CPUs).
	Jobs int
	// Log receives progress; the compiler's output goes to a log file in
	// the build tree, whose tail an error carries.
	Log io.Writer
}

// BuildBoardKernel builds target's kernel from Debian's linux-source (the
// package fetched with apt-get download into the cache, its tarball
// unpacked once per version), configured as its BoardKernelSpec says,
// and keeps the result in the cache keyed by source version and config
// hash. A kernel already there is returned without building.
func BuildBoardKernel(target string, o KernelBuildOptions) (BoardKernel, error) {
	s, ok := BoardKernels[target]
	if !ok {
		var names []string
		for n := range BoardKernels {
			names = append(names, n)
		}
		sort.Strings(names)
		return BoardKernel{}, fmt.Errorf("board kernel: target %s has none (targets with one: %s)", target, strings.Join(names, ", "))
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	for _, tool := range []string{"make", "gcc", "bison", "flex", "bc", "xz"} {
		if _, err := exec.LookPath(tool); err != nil {
			return BoardKernel{}, fmt.Errorf("board kernel: %s not found (apt-get install build-essential bison flex bc libelf-dev libssl-dev xz-utils)", tool)
		}
	}
	if s.Cross != "" {
		if _, err := exec.LookPath(s.Cross + "gcc"); err != nil {
			return BoardKernel{}, fmt.Errorf("board kernel: %sgcc not found: %w", s.Cross, err)
		}
	}
	ks, err := ResolveKernelSource()
	if err != nil {
		return BoardKernel{}, err
	}
	dir := BoardKernelDir(o.Cache, target, ks, s)
	// One build per target at a time: a second caller (make test's
	// background build and a test needing the kernel, two make kernel)
	// waits here and then finds the first one's kernel cached.
	unlock, err := lockBuild(o.Cache, target, o.Log)
	if err != nil {
		return BoardKernel{}, err
	}
	defer unlock()
	if bk, ok := boardKernelAt(dir); ok {
		fmt.Fprintf(o.Log, "kernel %s: cached %s (%s)\n", target, bk.Kernel, bk.Release)
		return bk, nil
	}
	src, err := unpackKernelSource(o.Cache, ks, o.Log)
	if err != nil {
		return BoardKernel{}, err
	}
	// One object tree per target and source version (O=): a changed
	// fragment rebuilds only what it touches.
	obj := filepath.Join(o.Cache, "build", fmt.Sprintf("%s-%s", target, filepath.Base(src)))
	if err := os.MkdirAll(obj, 0o755); err != nil {
		return BoardKernel{}, err
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	mk := func(logName string, args ...string) error {
		a := append([]string{"-C", src, "O=" + obj, "ARCH=" + s.Arch}, args...)
		if s.Cross != "" {
			a = append(a, "CROSS_COMPILE="+s.Cross)
		}
		lf, err := os.Create(filepath.Join(obj, logName))
		if err != nil {
			return err
		}
		defer lf.Close()
		cmd := exec.Command("make", a...)
		cmd.Stdout, cmd.Stderr = lf, lf
		cmd.Env = append(os.Environ(), "KBUILD_BUILD_USER=loopstart", "KBUILD_BUILD_HOST=loopstart",
			"KBUILD_BUILD_TIMESTAMP="+time.Unix(0, 0).UTC().Format(time.RFC1123))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("make %s: %w\n%s", strings.Join(args, " "), err, tailFile(lf.Name(), 40))
		}
		return nil
	}
	start := time.Now()
	fmt.Fprintf(o.Log, "kernel %s: configure %s (%s) + %d fragment lines in %s\n", target, ks.Package, ks.Version, len(s.Fragment), obj)
	if err := mk("config.log", s.Base); err != nil {
		return BoardKernel{}, err
	}
	cfgPath := filepath.Join(obj, ".config")
	if err := mergeConfig(cfgPath, s.Fragment); err != nil {
		return BoardKernel{}, err
	}
	if err := mk("config.log", "olddefconfig"); err != nil {
		return BoardKernel{}, err
	}
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return BoardKernel{}, err
	}
	if missing := MissingConfig(string(cfg), s.Fragment); len(missing) > 0 {
		return BoardKernel{}, fmt.Errorf("board kernel %s: olddefconfig dropped %s (a dependency is not set)", target, strings.Join(missing, ", "))
	}
	fmt.Fprintf(o.Log, "kernel %s: make -j%d %s (minutes; the compiler's output is in %s)\n", target, jobs, s.Make, filepath.Join(obj, "build.log"))
	goals := []string{s.Make}
	if s.DTB != "" {
		goals = append(goals, s.DTB)
	}
	if err := mk("build.log", append([]string{"-j" + strconv.Itoa(jobs)}, goals...)...); err != nil {
		return BoardKernel{}, err
	}
	rel, err := exec.Command("make", "-s", "-C", src, "O="+obj, "ARCH="+s.Arch, "kernelrelease").Output()
	if err != nil {
		return BoardKernel{}, fmt.Errorf("make kernelrelease: %w", err)
	}
	kernel, err := os.ReadFile(filepath.Join(obj, s.Output))
	if err != nil {
		return BoardKernel{}, err
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return BoardKernel{}, err
	}
	files := map[string][]byte{"kernel": kernel, "config": cfg, "release": rel,
		"source": []byte(ks.Package + " " + ks.Version + "\n")}
	if s.DTB != "" {
		if files["dtb"], err = os.ReadFile(filepath.Join(obj, "arch", s.Arch, "boot", "dts", s.DTB)); err != nil {
			return BoardKernel{}, fmt.Errorf("board kernel %s: device tree: %w", target, err)
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return BoardKernel{}, err
		}
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return BoardKernel{}, err
	}
	bk, _ := boardKernelAt(dir)
	fmt.Fprintf(o.Log, "kernel %s: %s %.1f MiB (%s) built in %v\n", target, bk.Kernel, mib(int64(len(kernel))), bk.Release, time.Since(start).Round(time.Second))
	return bk, nil
}

// unpackKernelSource fetches ks (apt-get download into cache/src) and
// unpacks its tarball into cache/src/VERSION, returning the tree.
func unpackKernelSource(cache string, ks KernelSource, log io.Writer) (string, error) {
	srcDir := filepath.Join(cache, "src")
	tree := filepath.Join(srcDir, ks.Package+"_"+strings.NewReplacer("/", "_", ":", "_").Replace(ks.Version))
	if _, err := os.Stat(filepath.Join(tree, "Makefile")); err == nil {
		return tree, nil
	}
	if err := os.MkdirAll(srcDir, 0o755); err != nil {
		return "", err
	}
	deb := filepath.Join(srcDir, fmt.Sprintf("%s_%s_all.deb", ks.Package, strings.ReplaceAll(ks.Version, ":", "%3a")))
	if _, err := os.Stat(deb); err != nil {
		fmt.Fprintf(log, "kernel: apt-get download %s=%s\n", ks.Package, ks.Version)
		cmd := exec.Command("apt-get", "-qq", "download", ks.Package+"="+ks.Version)
		cmd.Dir = srcDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get download %s: %w\n%s", ks.Package, err, out)
		}
		if _, err := os.Stat(deb); err != nil {
			return "", fmt.Errorf("apt-get download %s: %w", ks.Package, err)
		}
	}
	fmt.Fprintf(log, "kernel: unpack %s\n", filepath.Base(deb))
	tmp := tree + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	// The package holds usr/src/linux-source-X.Y.tar.xz: extract the
	// tarball from the package, then the tree from the tarball.
	sh := fmt.Sprintf("dpkg-deb --fsys-tarfile %q | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' | tar -xJ -C %q --strip-components=1",
		deb, tmp)
	if out, err := exec.Command("sh", "-c", sh).CombinedOutput(); err != nil {
		return "", fmt.Errorf("unpack %s: %w\n%s", filepath.Base(deb), err, out)
	}
	if _, err := os.Stat(filepath.Join(tmp, "Makefile")); err != nil {
		return "", fmt.Errorf("unpack %s: no kernel tree in it: %w", filepath.Base(deb), err)
	}
	_ = os.RemoveAll(tree)
	if err := os.Rename(tmp, tree); err != nil {
		return "", err
	}
	return tree, nil
}

// lockBuild takes the cache's build lock of target (an flock, released
// when the process ends too), saying so in log when it has to wait.
func lockBuild(cache, target string, log io.Writer) (func(), error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("board kernel: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(cache, target+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("board kernel: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(log, "kernel %s: waiting for another build of it (%s)\n", target, f.Name())
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("board kernel: lock %s: %w", f.Name(), err)
		}
	}
	return func() { f.Close() }, nil
}

// mergeConfig sets each CONFIG_X=v line of frag in the .config at path,
// replacing the symbol's line ("CONFIG_X=..." or "# CONFIG_X is not set")
// or appending it; CONFIG_X=n is written as "# CONFIG_X is not set".
func mergeConfig(path string, frag []string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("merge config: %w", err)
	}
	want := map[string]string{}
	var order []string
	for _, l := range frag {
		sym, _, ok := strings.Cut(l, "=")
		if !ok || !strings.HasPrefix(sym, "CONFIG_") {
			return fmt.Errorf("merge config: fragment line %q is not CONFIG_X=value", l)
		}
		if _, dup := want[sym]; !dup {
			order = append(order, sym)
		}
		if l == sym+"=n" {
			l = "# " + sym + " is not set"
		}
		want[sym] = l
	}
	var out strings.Builder
	done := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if sym := configSymbol(l); sym != "" {
			if w, ok := want[sym]; ok {
				if !done[sym] {
					out.WriteString(w + "\n")
					done[sym] = true
				}
				continue
			}
		}
		out.WriteString(l + "\n")
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("merge config: %w", err)
	}
	for _, sym := range order {
		if !done[sym] {
			out.WriteString(want[sym] + "\n")
		}
	}
	return os.WriteFile(path, []byte(out.String()), 0o644)
}

// configSymbol is the symbol a .config line sets or leaves unset, or "".
func configSymbol(l string) string {
	if rest, ok := strings.CutPrefix(l, "# "); ok {
		if sym, ok := strings.CutSuffix(rest, " is not set"); ok && strings.HasPrefix(sym, "CONFIG_") {
			return sym
		}
		return ""
	}
	if sym, _, ok := strings.Cut(l, "="); ok && strings.HasPrefix(sym, "CONFIG_") {
		return sym
	}
	return ""
}

// MissingConfig returns the fragment lines a final .config does not hold
// as written (olddefconfig drops a symbol whose dependencies are unmet);
// CONFIG_X=n holds when the symbol is unset or absent.
func MissingConfig(config string, frag []string) []string {
	have := map[string]bool{}
	set := map[string]bool{}
	for _, l := range strings.Split(config, "\n") {
		l = strings.TrimSpace(l)
		have[l] = true
		if sym := configSymbol(l); sym != "" && !strings.HasPrefix(l, "#") {
			set[sym] = true
		}
	}
	var missing []string
	for _, l := range frag {
		if sym, ok := strings.CutSuffix(l, "=n"); ok {
			if set[sym] {
				missing = append(missing, l)
			}
			continue
		}
		if !have[l] {
			missing = append(missing, l)
		}
	}
	return missing
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return tailText(string(b), n)
}

func tailText(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
