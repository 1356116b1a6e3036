package system

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ModulesDir is where the image keeps its kernel modules, with a
// modules.order file that lists them in dependency order (the image build
// resolves the dependencies). It is deliberately not /lib/modules, which
// u-root's init would load alphabetically.
const ModulesDir = "/lib/loopstart/modules"

// ModuleLoad is one loaded module and how long finit_module took.
type ModuleLoad struct {
	Name string
	Took time.Duration
}

// LoadModules loads every module listed in dir/modules.order, in that
// order, with finit_module(2). A module already loaded or built in is fine;
// other failures are collected and loading goes on with the next module.
func LoadModules(dir string) (loaded []ModuleLoad, err error) {
	f, err := os.Open(filepath.Join(dir, "modules.order"))
	if err != nil {
		return nil, fmt.Errorf("modules: %w", err)
	}
	defer f.Close()
	var errs []error
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		start := time.Now()
		if err := loadModule(filepath.Join(dir, name)); err != nil {
			errs = append(errs, err)
			continue
		}
		loaded = append(loaded, ModuleLoad{strings.TrimSuffix(name, ".ko"), time.Since(start)})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("modules.order: %w", err))
	}
	return loaded, errors.Join(errs...)
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("module %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("module %s: %w", filepath.Base(path), err)
	}
	return nil
}
