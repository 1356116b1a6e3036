package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// fileOps are the steps of Save that tests make fail.
type fileOps struct {
	sync   func(*os.File) error
	rename func(oldpath, newpath string) error
}

// Save validates c and writes it to path atomically: the XML goes to a
// temporary file in the same directory, which is synced and then renamed
// over path, and the directory is synced. If anything fails the old file
// is left as it was and the temporary file is removed. The file is
// created with mode 0600, since it holds passwords.
func Save(path string, c *Config) error {
	return save(path, c, fileOps{sync: (*os.File).Sync, rename: os.Rename})
}

func save(path string, c *Config, ops fileOps) (err error) {
	if err := c.Validate(); err != nil {
		return err
	}
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := ops.sync(f); err != nil {
		return fmt.Errorf("save config: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := ops.rename(tmp, path); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	// Make the rename durable; a failure here cannot be undone, so report
	// it without removing anything.
	if d, derr := os.Open(dir); derr == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil {
			return fmt.Errorf("save config: sync directory: %w", serr)
		}
	}
	return nil
}
