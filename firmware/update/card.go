package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/loopstart/loopstart/firmware/card"
)

// CardOptions configure a CardSlots.
type CardOptions struct {
	// Boot is the card's boot partition (uboot.env), e.g. /dev/mmcblk0p1.
	Boot string
	// SlotDev returns the partition device of slot "a" or "b", e.g.
	// /dev/mmcblk0p3 for "b".
	SlotDev func(slot string) string
	// Running is the slot this system booted from (loopstart.slot=).
	Running string
	// Keys are the trusted signing keys; empty refuses every image.
	Keys Keys
	// Target is this board's target; images for another are refused.
	Target string
	// Logger gets the firmware log; nil means slog.Default().
	Logger *slog.Logger
}

// CardSlots is the firmware update of a board that boots from a card
// (firmware/card): a signed image's payload is a whole slot file system
// (kernel, device tree and initramfs), written to the partition of the
// slot not running, read back and checked against the signed hash, and
// only then marked in uboot.env for a trial boot. U-Boot counts the
// trial's boots and falls back to the running slot when it never
// confirms (firmware/system confirms a healthy one).
type CardSlots struct {
	o          CardOptions
	log        *slog.Logger
	installing sync.Mutex
}

// OpenCard checks the options and returns the card's slots.
func OpenCard(o CardOptions) (*CardSlots, error) {
	if o.Boot == "" || o.SlotDev == nil {
		return nil, errors.New("card firmware: no boot partition or slot devices")
	}
	if _, err := card.SlotPart(o.Running); err != nil {
		return nil, fmt.Errorf("card firmware: running slot: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &CardSlots{o: o, log: o.Logger}, nil
}

// Inactive is the slot an install writes.
func (c *CardSlots) Inactive() string { return Inactive(c.o.Running) }

// Install reads an image from r, checks its signature, target, the
// downgrade rule and opts.Accept before writing anything, then writes
// the payload to the inactive slot's partition (a payload larger than
// the partition is refused first), reads it back against the signed
// SHA-256 and marks the slot for trial in uboot.env. The running slot
// and uboot.env are untouched by any failure; the inactive slot then
// holds a partial system U-Boot never boots. The caller reboots to try
// the new system.
func (c *CardSlots) Install(ctx context.Context, r io.Reader, opts InstallOptions) (*Manifest, error) {
	if !c.installing.TryLock() {
		return nil, ErrBusy
	}
	defer c.installing.Unlock()
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	progress(Progress{Phase: "verifying"})
	h, err := ReadHeader(r, c.o.Keys)
	if err != nil {
		return nil, err
	}
	m := &h.Manifest
	if m.Target != c.o.Target {
		return nil, fmt.Errorf("%w: %s, this is %s", ErrWrongTarget, m.Target, c.o.Target)
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
	slot := c.Inactive()
	dev := c.o.SlotDev(slot)
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	if m.Size > size {
		return nil, fmt.Errorf("write slot %s: the %d-byte system does not fit the %d-byte partition", slot, m.Size, size)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	progress(Progress{Phase: "writing", Version: m.Version, Total: m.Size})
	if err := checkPayload(m, ctxReader{ctx: ctx, r: r}, f, func(n int64) {
		progress(Progress{Phase: "writing", Version: m.Version, Done: n, Total: m.Size})
	}); err != nil {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("write slot %s: %w", slot, err)
	}
	// Read it back: what U-Boot will load must be what was signed.
	hs := sha256.New()
	if _, err := io.Copy(hs, io.NewSectionReader(f, 0, m.Size)); err != nil {
		return nil, fmt.Errorf("verify slot %s: %w", slot, err)
	}
	if got := hex.EncodeToString(hs.Sum(nil)); got != m.SHA256 {
		return nil, fmt.Errorf("verify slot %s: %w: read back sha256 %s, signed %s", slot, ErrPayload, got, m.SHA256)
	}
	if err := (card.BootEnv{Dev: c.o.Boot}).SetTrial(slot); err != nil {
		return nil, fmt.Errorf("mark slot %s for trial: %w", slot, err)
	}
	progress(Progress{Phase: "installed", Version: m.Version, Done: m.Size, Total: m.Size})
	c.log.Info("firmware: system installed on the card", "slot", slot, "version", m.Version, "bytes", m.Size)
	return m, nil
}

// State returns uboot.env's A/B state.
func (c *CardSlots) State() (card.State, error) {
	e, _, err := card.BootEnv{Dev: c.o.Boot}.Read()
	if err != nil {
		return card.State{}, err
	}
	return card.StateOf(e), nil
}
