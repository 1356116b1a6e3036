package buildroot

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileMap is one file to put in the initramfs: Src on the host, Dst its
// path in the image (relative, no leading slash).
type FileMap struct{ Src, Dst string }

// ELFClosure returns bin (a path inside sysroot) with its program
// interpreter and every shared library it needs, transitively, found in
// sysroot's lib directories.
func ELFClosure(sysroot, bin string) ([]FileMap, error) {
	var out []FileMap
	seen := map[string]bool{}
	seenReal := map[string]bool{} // the loader is both the interpreter and a library of libc
	var libDirs []string
	for _, pat := range []string{"lib/*-linux-gnu*", "usr/lib/*-linux-gnu*", "lib", "usr/lib", "lib64"} {
		m, _ := filepath.Glob(filepath.Join(sysroot, pat))
		libDirs = append(libDirs, m...)
	}
	var add func(rel string, interp bool) error
	add = func(rel string, interp bool) error {
		rel = strings.TrimPrefix(rel, "/")
		if seen[rel] {
			return nil
		}
		seen[rel] = true
		src := filepath.Join(sysroot, rel)
		// Follow symlinks inside the sysroot, keep the link's name.
		real, err := resolveIn(sysroot, rel)
		if err != nil {
			return err
		}
		if seenReal[real] {
			return nil
		}
		seenReal[real] = true
		out = append(out, FileMap{Src: real, Dst: rel})
		f, err := elf.Open(real)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		defer f.Close()
		if !interp {
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					b := make([]byte, p.Filesz)
					if _, err := p.ReadAt(b, 0); err != nil {
						return fmt.Errorf("%s: interpreter: %w", src, err)
					}
					if err := add(strings.TrimRight(string(b), "\x00"), true); err != nil {
						return err
					}
				}
			}
		}
		libs, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		for _, l := range libs {
			found := ""
			for _, d := range libDirs {
				if _, err := os.Stat(filepath.Join(d, l)); err == nil {
					found, _ = filepath.Rel(sysroot, filepath.Join(d, l))
					break
				}
			}
			if found == "" {
				return fmt.Errorf("%s needs %s: not in %s", rel, l, sysroot)
			}
			if err := add(found, false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := add(bin, false); err != nil {
		return nil, err
	}
	return out, nil
}

// resolveIn follows symlinks of rel with sysroot as the root directory.
func resolveIn(sysroot, rel string) (string, error) {
	p := rel
	for range 16 {
		full := filepath.Join(sysroot, p)
		fi, err := os.Lstat(full)
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return full, nil
		}
		target, err := os.Readlink(full)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			p = strings.TrimPrefix(target, "/")
		} else {
			p = filepath.Join(filepath.Dir(p), target)
		}
	}
	return "", fmt.Errorf("%s: too many symlinks", rel)
}
