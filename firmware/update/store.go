package update

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBoots is how many starts a trial image gets without
// confirming before Boot rolls it back.
const DefaultMaxBoots = 3

// Slot names.
const (
	SlotA = "a"
	SlotB = "b"
	// Factory is the built-in binary (no slot): what runs before the
	// first upgrade and after a rollback past it.
	Factory = ""
)

// More errors callers branch on.
var (
	// ErrTrialInProgress means an upgraded image is on trial: confirm or
	// roll it back before installing another.
	ErrTrialInProgress = errors.New("an upgrade is still on trial (not yet confirmed healthy)")
	// ErrBusy means another install is running.
	ErrBusy = errors.New("another firmware upgrade is in progress")
	// ErrNoTrial means there is nothing to confirm or roll back.
	ErrNoTrial = errors.New("no upgrade on trial")
)

// StoreOptions configure a Store.
type StoreOptions struct {
	// Dir is the firmware directory, e.g. DATA/firmware; created if missing.
	Dir string
	// Keys are the trusted signing keys; empty refuses every image.
	Keys Keys
	// Target is this board's target, e.g. "sim/amd64"; images for another
	// target are refused.
	Target string
	// MaxBoots is how many unconfirmed starts a trial gets; 0 means
	// DefaultMaxBoots.
	MaxBoots int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets the firmware log; nil means slog.Default().
	Logger *slog.Logger
}

// Pending is a trial start: the slot switched to and the one to return to.
type Pending struct {
	Slot     string    `json:"slot"`
	Previous string    `json:"previous"`
	Version  string    `json:"version"`
	Boots    int       `json:"boots"`
	Since    time.Time `json:"since"`
}

// State is a snapshot of the slots.
type State struct {
	// Current is the slot started: "a", "b" or Factory.
	Current string `json:"current"`
	// Pending is the trial in progress, nil when none.
	Pending *Pending `json:"pending,omitempty"`
	// Slots are the manifests of the slots holding a complete image.
	Slots map[string]*Manifest `json:"slots"`
	// LastError is why the last trial was rolled back.
	LastError string `json:"last_error,omitempty"`
	// Rejected is the version that was rolled back.
	Rejected string `json:"rejected,omitempty"`
}

// Progress reports an install as it runs.
type Progress struct {
	// Phase is "verifying", "writing", "installed".
	Phase string
	// Version is the image's version, once the manifest is verified.
	Version string
	// Done and Total are payload bytes written and expected.
	Done, Total int64
}

// InstallOptions adjust one Install.
type InstallOptions struct {
	// Running is the firmware running now. An image older than it (see
	// Compare) is refused with ErrDowngrade before anything is written,
	// unless AllowDowngrade; a zero Running checks nothing.
	Running Release
	// AllowDowngrade installs an image older than Running: the admin or
	// the provisioning profile confirmed it.
	AllowDowngrade bool
	// Accept is called with the verified manifest before anything is
	// written; an error refuses the image (e.g. the version already runs).
	Accept func(*Manifest) error
	// Progress, when set, is called as the install advances.
	Progress func(Progress)
}

// Store is the A/B slot store in one directory. Its methods are safe
// for concurrent use; one Install runs at a time.
type Store struct {
	o   StoreOptions
	log *slog.Logger

	installing sync.Mutex
	mu         sync.Mutex // guards the pointer files
}

// Open prepares dir and removes temporary files a crash left behind.
func Open(o StoreOptions) (*Store, error) {
	if o.Dir == "" {
		return nil, errors.New("firmware store: no directory")
	}
	if o.MaxBoots <= 0 {
		o.MaxBoots = DefaultMaxBoots
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("firmware store: %w", err)
	}
	tmps, _ := filepath.Glob(filepath.Join(o.Dir, ".*.tmp*"))
	for _, t := range tmps {
		os.Remove(t)
	}
	return &Store{o: o, log: o.Logger}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.o.Dir }

// SlotPath is the payload file of slot.
func (s *Store) SlotPath(slot string) string { return filepath.Join(s.o.Dir, "slot-"+slot) }

func (s *Store) path(name string) string { return filepath.Join(s.o.Dir, name) }

// State returns a snapshot of the slots and pointers.
func (s *Store) State() (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state()
}

func (s *Store) state() (State, error) {
	st := State{Slots: map[string]*Manifest{}}
	cur, err := s.current()
	if err != nil {
		return st, err
	}
	st.Current = cur
	if st.Pending, err = s.pending(); err != nil {
		return st, err
	}
	for _, sl := range []string{SlotA, SlotB} {
		if h, err := s.slotHeader(sl); err == nil {
			st.Slots[sl] = &h.Manifest
		}
	}
	st.LastError = readTrim(s.path("last-error"))
	st.Rejected = readTrim(s.path("rejected"))
	return st, nil
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

func (s *Store) current() (string, error) {
	b, err := os.ReadFile(s.path("current"))
	if errors.Is(err, fs.ErrNotExist) {
		return Factory, nil
	}
	if err != nil {
		return "", fmt.Errorf("firmware store: %w", err)
	}
	switch v := strings.TrimSpace(string(b)); v {
	case SlotA, SlotB:
		return v, nil
	default:
		return "", fmt.Errorf("firmware store: current pointer holds %q", v)
	}
}

func (s *Store) pending() (*Pending, error) {
	b, err := os.ReadFile(s.path("pending"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("firmware store: %w", err)
	}
	var p Pending
	if err := json.Unmarshal(b, &p); err != nil || (p.Slot != SlotA && p.Slot != SlotB) {
		// A damaged pending file cannot name a trial: drop it.
		s.log.Warn("firmware: damaged pending file removed", "err", err)
		os.Remove(s.path("pending"))
		return nil, nil
	}
	return &p, nil
}

// slotHeader reads a slot's stored header and verifies its signature.
func (s *Store) slotHeader(slot string) (*Header, error) {
	b, err := os.ReadFile(s.SlotPath(slot) + ".manifest")
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", slot, err)
	}
	h, err := ReadHeader(bytes.NewReader(b), s.o.Keys)
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", slot, err)
	}
	return h, nil
}

// VerifySlot checks slot's signature, target and payload hash.
func (s *Store) VerifySlot(slot string) (*Manifest, error) {
	h, err := s.slotHeader(slot)
	if err != nil {
		return nil, err
	}
	if h.Manifest.Target != s.o.Target {
		return nil, fmt.Errorf("slot %s: %w: %s", slot, ErrWrongTarget, h.Manifest.Target)
	}
	f, err := os.Open(s.SlotPath(slot))
	if err != nil {
		return nil, fmt.Errorf("slot %s: %w", slot, err)
	}
	defer f.Close()
	if err := checkPayload(&h.Manifest, f, io.Discard, nil); err != nil {
		return nil, fmt.Errorf("slot %s: %w", slot, err)
	}
	return &h.Manifest, nil
}

// Inactive is the slot an install writes: the one not started.
func Inactive(current string) string {
	if current == SlotA {
		return SlotB
	}
	return SlotA
}

// Install reads an image from r, verifies it and writes it to the
// inactive slot; it does not switch (see Switch). The signature, target,
// the downgrade rule (opts.Running) and opts.Accept are checked before
// any file is created; the payload
// goes to a temporary file that becomes the slot only when its size and
// SHA-256 match the manifest. On any error the slots are as before.
func (s *Store) Install(ctx context.Context, r io.Reader, opts InstallOptions) (m *Manifest, err error) {
	if !s.installing.TryLock() {
		return nil, ErrBusy
	}
	defer s.installing.Unlock()
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	progress(Progress{Phase: "verifying"})
	h, err := ReadHeader(r, s.o.Keys)
	if err != nil {
		return nil, err
	}
	m = &h.Manifest
	if m.Target != s.o.Target {
		return nil, fmt.Errorf("%w: %s, this is %s", ErrWrongTarget, m.Target, s.o.Target)
	}
	if !opts.AllowDowngrade && opts.Running != (Release{}) {
		if err := CheckDowngrade(m.Release(), opts.Running); err != nil {
			return nil, err
		}
	}
	if opts.Accept != nil {
		if err := opts.Accept(m); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	cur, err := s.current()
	var p *Pending
	if err == nil {
		p, err = s.pending()
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if p != nil && p.Slot == cur {
		return nil, ErrTrialInProgress
	}
	slot := Inactive(cur)
	dst := s.SlotPath(slot)
	tmp, err := os.CreateTemp(s.o.Dir, ".slot-"+slot+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	total := m.Size
	progress(Progress{Phase: "writing", Version: m.Version, Total: total})
	cr := ctxReader{ctx: ctx, r: r}
	if err = checkPayload(m, cr, tmp, func(n int64) {
		progress(Progress{Phase: "writing", Version: m.Version, Done: n, Total: total})
	}); err != nil {
		return nil, err
	}
	if err = tmp.Chmod(0o755); err == nil {
		if err = tmp.Sync(); err == nil {
			err = tmp.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	// The old manifest goes first, so the slot never pairs a new payload
	// with an old signature; the new one is written last.
	s.mu.Lock()
	defer s.mu.Unlock()
	if err = os.Remove(dst + ".manifest"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	if err = writeAtomic(dst+".manifest", h.Raw); err != nil {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	progress(Progress{Phase: "installed", Version: m.Version, Done: total, Total: total})
	s.log.Info("firmware: image installed", "slot", slot, "version", m.Version, "bytes", m.Size)
	return m, nil
}

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Switch makes slot (which must hold a verified image) the one to start,
// as a trial: pending is written first, then current.
func (s *Store) Switch(slot string) error {
	m, err := s.VerifySlot(slot)
	if err != nil {
		return fmt.Errorf("switch: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.current()
	if err != nil {
		return err
	}
	if cur == slot {
		return fmt.Errorf("switch: slot %s is already current", slot)
	}
	p := Pending{Slot: slot, Previous: cur, Version: m.Version, Since: s.o.Now().UTC()}
	b, _ := json.Marshal(p)
	if err := writeAtomic(s.path("pending"), b); err != nil {
		return fmt.Errorf("switch: %w", err)
	}
	if err := writeAtomic(s.path("current"), []byte(slot+"\n")); err != nil {
		os.Remove(s.path("pending"))
		return fmt.Errorf("switch: %w", err)
	}
	s.log.Info("firmware: switched", "slot", slot, "version", m.Version, "previous", slotName(cur))
	return nil
}

func slotName(s string) string {
	if s == Factory {
		return "factory"
	}
	return s
}

// BootInfo says what to start.
type BootInfo struct {
	// Slot is the slot to start, Factory for the built-in binary.
	Slot string
	// Binary is the payload path to start, "" for the built-in binary.
	Binary string
	// Version is the slot's version ("" for Factory).
	Version string
	// Trial is true when this start must be confirmed (see Trial).
	Trial bool
	// RolledBack says why Boot rolled back, "" when it did not.
	RolledBack string
}

// Boot is called once per start, before the firmware runs: it counts a
// trial start, rolls back a trial that used up MaxBoots starts or whose
// slot fails verification, and says what to start.
func (s *Store) Boot() (BootInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.current()
	if err != nil {
		// An unreadable pointer: start the built-in binary.
		s.log.Error("firmware: current pointer unreadable; starting the built-in firmware", "err", err)
		return BootInfo{}, nil
	}
	p, err := s.pending()
	if err != nil {
		return BootInfo{}, err
	}
	var info BootInfo
	if p != nil && p.Slot != cur {
		// The switch never completed: nothing is on trial.
		os.Remove(s.path("pending"))
		p = nil
	}
	if p != nil {
		p.Boots++
		if p.Boots > s.o.MaxBoots {
			reason := fmt.Sprintf("version %s started %d times without coming up healthy", p.Version, p.Boots-1)
			if err := s.rollback(p, reason); err != nil {
				return BootInfo{}, err
			}
			cur, p, info.RolledBack = p.Previous, nil, reason
		} else {
			b, _ := json.Marshal(p)
			if err := writeAtomic(s.path("pending"), b); err != nil {
				return BootInfo{}, fmt.Errorf("firmware boot: %w", err)
			}
		}
	}
	for cur != Factory {
		m, verr := s.VerifySlot(cur)
		if verr == nil {
			info.Slot, info.Binary, info.Version, info.Trial = cur, s.SlotPath(cur), m.Version, p != nil
			return info, nil
		}
		// A damaged slot is never started.
		reason := fmt.Sprintf("slot %s failed verification: %v", cur, verr)
		s.log.Error("firmware: "+reason, "slot", cur)
		if p != nil {
			if err := s.rollback(p, reason); err != nil {
				return BootInfo{}, err
			}
			cur, p = p.Previous, nil
		} else {
			if err := os.Remove(s.path("current")); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return BootInfo{}, fmt.Errorf("firmware boot: %w", err)
			}
			writeAtomic(s.path("last-error"), []byte(reason+"\n"))
			cur = Factory
		}
		info.RolledBack = reason
	}
	return info, nil
}

// Confirm ends a trial: the running slot is good.
func (s *Store) Confirm() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pending()
	if err != nil {
		return err
	}
	if p == nil {
		return ErrNoTrial
	}
	if err := os.Remove(s.path("pending")); err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	syncDir(s.o.Dir)
	os.Remove(s.path("last-error"))
	s.log.Info("firmware: upgrade confirmed healthy", "slot", p.Slot, "version", p.Version)
	return nil
}

// Rollback ends a trial as failed: current goes back to the previous
// slot and the reason and the version are recorded.
func (s *Store) Rollback(reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pending()
	if err != nil {
		return err
	}
	if p == nil {
		return ErrNoTrial
	}
	return s.rollback(p, reason)
}

func (s *Store) rollback(p *Pending, reason string) error {
	if p.Previous == Factory {
		if err := os.Remove(s.path("current")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rollback: %w", err)
		}
		syncDir(s.o.Dir)
	} else if err := writeAtomic(s.path("current"), []byte(p.Previous+"\n")); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	os.Remove(s.path("pending"))
	syncDir(s.o.Dir)
	writeAtomic(s.path("last-error"), []byte(reason+"\n"))
	writeAtomic(s.path("rejected"), []byte(p.Version+"\n"))
	s.log.Error("firmware: upgrade rolled back", "version", p.Version, "to", slotName(p.Previous), "reason", reason)
	return nil
}

// writeAtomic writes b to path through a synced temporary file and a
// rename, then syncs the directory.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(b); err == nil {
		if err = f.Sync(); err == nil {
			err = f.Close()
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	syncDir(dir)
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
