package buildroot

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Kernel is an unpacked Debian kernel package.
type Kernel struct {
	// Package is the versioned package, e.g. linux-image-6.1.0-56-amd64.
	Package string
	// Release is the uname -r, e.g. 6.1.0-56-amd64.
	Release string
	// Root is where the package is unpacked (boot/, lib/modules/...).
	Root string
	// Image is the kernel as Debian ships it (boot/vmlinuz-RELEASE).
	Image string
}

// ModulesDir is the kernel's module tree.
func (k Kernel) ModulesDir() string { return filepath.Join(k.Root, "lib", "modules", k.Release) }

// FetchKernel downloads target's kernel package with apt-get into cache
// and unpacks it there (see aptFor: nothing is installed on the host). A
// package already unpacked is reused.
func FetchKernel(t Target, cache string, log io.Writer) (Kernel, error) {
	a, err := aptFor(t, cache, log)
	if err != nil {
		return Kernel{}, err
	}
	out, err := exec.Command("apt-cache", append(a.opts, "depends", t.KernelMeta)...).CombinedOutput()
	if err != nil {
		return Kernel{}, fmt.Errorf("apt-cache depends %s: %w\n%s", t.KernelMeta, err, out)
	}
	pkg := ""
	for _, l := range strings.Split(string(out), "\n") {
		if d, ok := strings.CutPrefix(strings.TrimSpace(l), "Depends: "); ok && strings.HasPrefix(d, "linux-image-") {
			pkg = strings.TrimSpace(d)
			break
		}
	}
	if pkg == "" {
		return Kernel{}, fmt.Errorf("%s: no linux-image dependency in:\n%s", t.KernelMeta, out)
	}
	k := Kernel{Package: pkg, Release: strings.TrimPrefix(pkg, "linux-image-"), Root: filepath.Join(a.root, "unpacked", pkg)}
	k.Image = filepath.Join(k.Root, "boot", "vmlinuz-"+k.Release)
	if _, err := os.Stat(k.Image); err == nil {
		return k, nil
	}
	if err := a.install(k.Root, pkg); err != nil {
		return Kernel{}, err
	}
	return k, nil
}

// apt runs apt-get on a private state directory for one architecture: the
// host's sources, no dpkg database, nothing installed or added to the host.
type apt struct {
	t    Target
	root string
	opts []string
	log  io.Writer
}

// aptFor prepares the private apt state for t in cache, refreshing the
// index when it is older than a day.
func aptFor(t Target, cache string, log io.Writer) (*apt, error) {
	root, err := filepath.Abs(filepath.Join(cache, "apt-"+t.DebArch))
	if err != nil {
		return nil, err
	}
	lists := filepath.Join(root, "lists")
	for _, d := range []string{filepath.Join(lists, "partial"), filepath.Join(root, "cache", "archives", "partial"), filepath.Join(root, "debs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("apt cache: %w", err)
		}
	}
	a := &apt{t: t, root: root, log: log, opts: []string{"-o", "Dir::State::Lists=" + lists, "-o", "Dir::Cache=" + filepath.Join(root, "cache"),
		"-o", "Dir::State::status=/dev/null", "-o", "APT::Architecture=" + t.DebArch,
		"-o", "APT::Architectures::=" + t.DebArch, "-o", "APT::Sandbox::User=root"}}
	stamp := filepath.Join(root, "updated")
	if fi, err := os.Stat(stamp); err != nil || time.Since(fi.ModTime()) > 24*time.Hour {
		fmt.Fprintf(log, "apt: update (%s index, private state in %s)\n", t.DebArch, root)
		if out, err := exec.Command("apt-get", append(a.opts, "-qq", "update")...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("apt-get update for %s: %w\n%s", t.DebArch, err, out)
		}
		_ = os.WriteFile(stamp, nil, 0o644)
	}
	return a, nil
}

// install downloads pkgs and unpacks them all into dir (atomically: dir
// appears only when complete).
func (a *apt) install(dir string, pkgs ...string) error {
	debs := filepath.Join(a.root, "debs")
	var names []string
	for _, p := range pkgs {
		names = append(names, p+":"+a.t.DebArch)
	}
	fmt.Fprintf(a.log, "apt: download %s\n", strings.Join(names, " "))
	cmd := exec.Command("apt-get", append(append(a.opts, "-qq", "download"), names...)...)
	cmd.Dir = debs
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s: %w\n%s", strings.Join(pkgs, " "), err, out)
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for _, p := range pkgs {
		matches, _ := filepath.Glob(filepath.Join(debs, p+"_*_*.deb"))
		if len(matches) == 0 {
			return fmt.Errorf("apt-get download %s: no .deb in %s", p, debs)
		}
		sort.Strings(matches)
		if out, err := exec.Command("dpkg-deb", "-x", matches[len(matches)-1], tmp).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg-deb -x %s: %w\n%s", matches[len(matches)-1], err, out)
		}
		for _, m := range matches {
			_ = os.Remove(m)
		}
	}
	_ = os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

var xzMagic = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}

// UnpackKernel returns a kernel QEMU can boot without decompressing it:
// an x86 bzImage's embedded xz payload (decompressed by xz(1)) decompressed to the vmlinux ELF
// (booted through its PVH entry), or an arm64 Image as it is.
func UnpackKernel(image []byte) ([]byte, error) {
	if bytes.HasPrefix(image, []byte("\x7fELF")) || (len(image) > 0x3c && string(image[0x38:0x3c]) == "ARM\x64") {
		return image, nil // already uncompressed
	}
	off := bytes.Index(image, xzMagic)
	if off < 0 {
		return nil, errors.New("unpack kernel: no xz payload in the image (not a Debian x86 bzImage?)")
	}
	// Debian's x86 payload uses the x86 BCJ filter, which pure-Go xz
	// readers lack: use xz(1) (xz-utils); the stream is followed by other
	// data, hence --single-stream.
	var out, stderr bytes.Buffer
	cmd := exec.Command("xz", "-dc", "--single-stream")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(image[off:]), &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("unpack kernel: xz: %w: %s", err, stderr.String())
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("\x7fELF")) {
		return nil, errors.New("unpack kernel: the xz payload is not an ELF vmlinux")
	}
	return out.Bytes(), nil
}

// Module is one kernel module file.
type Module struct {
	// Name is the module name (dashes as underscores).
	Name string
	// Path is the .ko file.
	Path string
}

// ModuleOrder resolves wanted module names and their dependencies (the
// depends= field of each .ko's .modinfo section) against the module tree
// dir, and returns them in load order: every module after the modules it
// depends on. Names that are built into the kernel (modules.builtin) are
// skipped.
func ModuleOrder(dir string, wanted []string) ([]Module, error) {
	index := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			index[modName(filepath.Base(p))] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("modules: %w", err)
	}
	builtin := map[string]bool{}
	if f, err := os.Open(filepath.Join(dir, "modules.builtin")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			builtin[modName(filepath.Base(sc.Text()))] = true
		}
		f.Close()
	}
	var order []Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		name = modName(name)
		switch state[name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("modules: dependency cycle %s -> %s", strings.Join(chain, " -> "), name)
		}
		p, ok := index[name]
		if !ok {
			if builtin[name] {
				state[name] = 2
				return nil
			}
			return fmt.Errorf("modules: %s not found in %s (needed by %s)", name, dir, strings.Join(append(chain, "image"), " <- "))
		}
		state[name] = 1
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, Module{Name: name, Path: p})
		return nil
	}
	for _, w := range wanted {
		if err := visit(w, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func modName(base string) string {
	return strings.ReplaceAll(strings.TrimSuffix(base, ".ko"), "-", "_")
}

// moduleDepends reads the depends= entry of a module's .modinfo section.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("module %s: no .modinfo section", path)
	}
	b, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}
