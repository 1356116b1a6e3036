package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/loopstart/loopstart/firmware/provision"
	"github.com/loopstart/loopstart/firmware/update"
	"github.com/loopstart/loopstart/webui"
)

// Environment passed across a firmware re-exec on the sim board.
const (
	// envBooted tells the started slot binary that its parent already ran
	// Store.Boot: "SLOT trial|ok" (so a start is counted once).
	envBooted = "LOOPSTART_FW_BOOTED"
	// envFactory is the path of the built-in (factory) binary, to return
	// to after rolling back past every slot.
	envFactory = "LOOPSTART_FACTORY_BINARY"
)

// firmwareTarget is what images for this binary must name.
func firmwareTarget(board string) string { return board + "/" + runtime.GOARCH }

// firmwareManager installs images through the update store, switches to
// them when the lines are idle and restarts into them; it implements
// webui.Firmware and provisioning's firmware step.
type firmwareManager struct {
	store *update.Store
	// card, when set, is the update path of a board booted from a card:
	// a new system goes to the inactive card slot and restart reboots.
	card    *update.CardSlots
	version string
	log     *slog.Logger
	// busy reports a call or an off-hook phone (the restart waits).
	busy func() bool
	// restart replaces the process with binary ("" = factory); it
	// returns only on failure (nil: a supervisor took over).
	restart func(binary string) error
	// after is the health check's timer; nil means time.After.
	after func(time.Duration) <-chan time.Time
	// poll is the idle check period.
	poll time.Duration
	// grace is how long the restart waits after the install for the
	// answer to the request that installed it to reach its client (the
	// restart replaces the process, cutting whatever it is still
	// writing); 0 means restartGrace.
	grace time.Duration
	// factory is the release of the built-in binary; nil means
	// update.BuiltIn(version).
	factory func() update.Release
	// allowDowngrade reports the provisioning profile's
	// <firmware><allow-downgrade>; nil means false.
	allowDowngrade func() bool

	mu  sync.Mutex
	st  webui.FirmwareStatus
	run bool // an install or switch is in progress
}

var _ webui.Firmware = (*firmwareManager)(nil)

// trustedKeys returns the firmware signing keys this build trusts: the
// built-in ones and the --firmware-key file, when given. On an error it
// returns the keys it could read with the error.
func trustedKeys(keyFile string) (update.Keys, error) {
	keys, err := update.BuiltinKeys()
	if err != nil {
		return keys, err
	}
	if keyFile != "" {
		k, err := update.ReadPublicKeyFile(keyFile)
		if err != nil {
			return keys, fmt.Errorf("--firmware-key: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// openFirmware opens DATA/firmware, runs the boot step and, on the sim
// board, re-executes into the slot that should run. It returns the
// manager and the boot info of this process.
func openFirmware(data, board, keyFile string, log *slog.Logger) (*update.Store, update.BootInfo, error) {
	keys, err := trustedKeys(keyFile)
	if err != nil {
		return nil, update.BootInfo{}, err
	}
	store, err := update.Open(update.StoreOptions{Dir: filepath.Join(data, "firmware"), Keys: keys,
		Target: firmwareTarget(board), Logger: log.With("part", "firmware")})
	if err != nil {
		return nil, update.BootInfo{}, err
	}
	if v := os.Getenv(envBooted); v != "" {
		// The parent ran Boot and started us from the slot.
		os.Unsetenv(envBooted)
		slot, trial, _ := strings.Cut(v, " ")
		st, _ := store.State()
		info := update.BootInfo{Slot: slot, Trial: trial == "trial"}
		if slot != update.Factory {
			info.Binary = store.SlotPath(slot)
			if m := st.Slots[slot]; m != nil {
				info.Version = m.Version
			}
		}
		return store, info, nil
	}
	info, err := store.Boot()
	if err != nil {
		return nil, info, err
	}
	if info.RolledBack != "" {
		log.Error("firmware rolled back at start", "reason", info.RolledBack)
	}
	self, _ := os.Executable()
	want := info.Binary
	if want == "" {
		want = factoryBinary()
	}
	if want != "" && self != "" && !sameFile(want, self) {
		log.Info("firmware: starting the installed slot", "slot", info.Slot, "version", info.Version, "binary", want)
		state := "ok"
		if info.Trial {
			state = "trial"
		}
		os.Setenv(envBooted, info.Slot+" "+state)
		if err := execBinary(want); err != nil {
			os.Unsetenv(envBooted)
			log.Error("firmware: cannot start the slot; running the built-in firmware", "err", err)
		}
	}
	return store, info, nil
}

// factoryBinary is the built-in binary: the one first started.
func factoryBinary() string {
	if p := os.Getenv(envFactory); p != "" {
		return p
	}
	p, _ := os.Executable()
	return p
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// execBinary replaces this process with binary, same arguments and
// environment (sockets close on exec; the PID stays, so whoever
// started us keeps watching the same process).
func execBinary(binary string) error {
	if os.Getenv(envFactory) == "" {
		os.Setenv(envFactory, factoryBinary())
	}
	if binary == "" {
		binary = factoryBinary()
	}
	return syscall.Exec(binary, append([]string{binary}, os.Args[1:]...), os.Environ())
}

// running is the release running now, for the downgrade check: the
// current slot's signed manifest, or the built-in binary's release.
func (f *firmwareManager) running() update.Release {
	if s, err := f.store.State(); err == nil && s.Current != update.Factory {
		if m := s.Slots[s.Current]; m != nil && m.Version == f.version {
			return m.Release()
		}
	}
	if f.factory != nil {
		return f.factory()
	}
	return update.BuiltIn(f.version)
}

// unknownOrder says why older images may not be recognised, "" when
// they are.
func unknownOrder(r update.Release) string {
	if !r.Built.IsZero() {
		return ""
	}
	if _, ok := update.ParseSemver(r.Version); ok {
		return "the running firmware's build date is unknown: only images with a semantic version (vX.Y.Z) are checked for being older"
	}
	return "the running firmware's build date is unknown: images are installed without checking whether they are older"
}

// FirmwareStatus implements webui.Firmware.
func (f *firmwareManager) FirmwareStatus() webui.FirmwareStatus {
	f.mu.Lock()
	st := f.st
	f.mu.Unlock()
	st.Version = f.version
	run := f.running()
	st.Built, st.Notice = run.Built, unknownOrder(run)
	if f.card != nil {
		if s, err := f.card.State(); err == nil {
			st.Slot, st.Trial = s.Slot, s.Trial
			if s.FellBack != "" && st.LastError == "" {
				st.LastError = "slot " + s.FellBack + " never confirmed a boot; U-Boot went back to slot " + s.Slot
			}
		}
		return st
	}
	if s, err := f.store.State(); err == nil {
		st.Slot = s.Current
		if st.Slot == update.Factory {
			st.Slot = "factory"
		}
		if s.Pending != nil {
			st.Trial = true
		}
		if st.LastError == "" {
			st.LastError = s.LastError
		}
		for _, sl := range []string{update.SlotA, update.SlotB} {
			if m := s.Slots[sl]; m != nil {
				st.Slots = append(st.Slots, webui.FirmwareSlot{Slot: sl, Version: m.Version, Size: m.Size,
					Created: m.Created, Active: sl == s.Current})
			}
		}
	}
	return st
}

func (f *firmwareManager) set(fn func(*webui.FirmwareStatus)) {
	f.mu.Lock()
	fn(&f.st)
	f.mu.Unlock()
}

// Upgrade implements webui.Firmware: verify and install the uploaded
// image, then switch and restart into it once the lines are idle. An
// image older than the running firmware needs opts.AllowDowngrade.
func (f *firmwareManager) Upgrade(ctx context.Context, image io.Reader, opts webui.UpgradeOptions) error {
	err := f.install(ctx, image, "web UI", opts.AllowDowngrade, nil)
	if errors.Is(err, update.ErrDowngrade) {
		return downgradeError{fmt.Errorf("%w; confirm it to install", err)}
	}
	return err
}

// downgradeError is an update.ErrDowngrade refusal that also matches
// webui.ErrDowngrade, so the web UI offers to confirm it.
type downgradeError struct{ err error }

func (e downgradeError) Error() string   { return e.err.Error() }
func (e downgradeError) Unwrap() []error { return []error{e.err, webui.ErrDowngrade} }

// provision is provisioning's firmware step: the running version and a
// version rolled back before are not installed, nor an older one unless
// the profile says <allow-downgrade>true</allow-downgrade>.
func (f *firmwareManager) provision(ctx context.Context, image io.Reader) error {
	allow := f.allowDowngrade != nil && f.allowDowngrade()
	err := f.install(ctx, image, "provisioning", allow, func(m *update.Manifest) error {
		if s, err := f.store.State(); err == nil && s.Rejected == m.Version {
			return fmt.Errorf("%w: version %s was rolled back before (%s)", provision.ErrFirmwareCurrent, m.Version, s.LastError)
		}
		return nil
	})
	if errors.Is(err, update.ErrDowngrade) {
		return fmt.Errorf("%w; the profile's <firmware><allow-downgrade>true</allow-downgrade> would install it", err)
	}
	return err
}

func (f *firmwareManager) install(ctx context.Context, image io.Reader, source string, allowDowngrade bool, accept func(*update.Manifest) error) error {
	f.mu.Lock()
	if f.run {
		f.mu.Unlock()
		return update.ErrBusy
	}
	f.run = true
	f.st.Progress, f.st.Phase, f.st.Done, f.st.Total, f.st.NewVersion, f.st.LastError = "receiving the image", "verifying", 0, 0, "", ""
	f.mu.Unlock()
	done := func(err error) error {
		f.set(func(s *webui.FirmwareStatus) {
			if err != nil {
				s.Phase, s.Progress = "failed", ""
				if !errors.Is(err, provision.ErrFirmwareCurrent) {
					s.LastError = err.Error()
				}
			}
		})
		f.mu.Lock()
		f.run = err == nil // a restart is still coming
		f.mu.Unlock()
		return err
	}
	running := f.running()
	inst := f.store.Install
	if f.card != nil {
		inst = f.card.Install
	}
	m, err := inst(ctx, image, update.InstallOptions{
		Running:        running,
		AllowDowngrade: allowDowngrade,
		Accept: func(m *update.Manifest) error {
			if m.Version == f.version {
				return fmt.Errorf("%w: version %s is already running", provision.ErrFirmwareCurrent, m.Version)
			}
			if accept != nil {
				return accept(m)
			}
			return nil
		},
		Progress: func(p update.Progress) {
			f.set(func(s *webui.FirmwareStatus) {
				s.Phase, s.NewVersion, s.Done, s.Total = p.Phase, p.Version, p.Done, p.Total
				s.Progress = p.Phase
				if p.Total > 0 {
					s.Progress = fmt.Sprintf("%s version %s: %d of %d bytes", p.Phase, p.Version, p.Done, p.Total)
				}
			})
		},
	})
	if err != nil {
		f.log.Warn("firmware refused", "source", source, "err", err)
		return done(err)
	}
	if f.card == nil {
		st, err := f.store.State()
		if err == nil {
			err = f.store.Switch(update.Inactive(st.Current))
		}
		if err != nil {
			return done(err)
		}
	}
	switch c, by := update.Compare(m.Release(), running); {
	case c < 0:
		f.log.Warn("firmware downgrade installed, as confirmed", "source", source, "version", m.Version, "running", running.Version, "by", by)
	case by == "":
		f.log.Warn("firmware: cannot tell whether the image is older than the running firmware; installed",
			"source", source, "version", m.Version, "running", running.Version)
	}
	f.log.Info("firmware installed", "source", source, "version", m.Version)
	done(nil)
	go f.restartWhenIdle(m.Version)
	return nil
}

// restartGrace is firmwareManager.grace's default.
const restartGrace = time.Second

// restartWhenIdle waits for the lines to be idle, then restarts into the
// new slot.
func (f *firmwareManager) restartWhenIdle(version string) {
	poll := f.poll
	if poll == 0 {
		poll = time.Second
	}
	grace := f.grace
	if grace == 0 {
		grace = restartGrace
	}
	time.Sleep(grace)
	for f.busy != nil && f.busy() {
		f.set(func(s *webui.FirmwareStatus) {
			s.Phase, s.Progress = "waiting", "version "+version+" installed; restarting when the lines are idle"
		})
		time.Sleep(poll)
	}
	f.set(func(s *webui.FirmwareStatus) { s.Phase, s.Progress = "restarting", "restarting into version "+version })
	if f.card != nil {
		// U-Boot starts the new system on its trial.
		err := f.restart("")
		if err == nil {
			return
		}
		f.log.Error("firmware: reboot failed", "err", err)
		f.set(func(s *webui.FirmwareStatus) {
			s.Phase, s.Progress, s.LastError = "failed", "", "reboot failed: "+err.Error()
		})
		f.mu.Lock()
		f.run = false
		f.mu.Unlock()
		return
	}
	info, err := f.store.Boot()
	if err == nil {
		os.Setenv(envBooted, info.Slot+" "+map[bool]string{true: "trial", false: "ok"}[info.Trial])
		if err = f.restart(info.Binary); err == nil {
			return
		}
	}
	// Only reached when the restart failed.
	os.Unsetenv(envBooted)
	f.log.Error("firmware: restart failed", "err", err)
	if rerr := f.store.Rollback("restart failed: " + fmt.Sprint(err)); rerr != nil {
		f.log.Error("firmware: rollback", "err", rerr)
	}
	f.set(func(s *webui.FirmwareStatus) {
		s.Phase, s.Progress, s.LastError = "failed", "", "restart failed: "+fmt.Sprint(err)
	})
	f.mu.Lock()
	f.run = false
	f.mu.Unlock()
}

// trial proves a trial start: the media loop ticks and the web UI
// answers within the deadline, else the slot is rolled back and the
// previous firmware started.
func (f *firmwareManager) trial(ctx context.Context, ticks func() uint64, webURL string, deadline time.Duration) {
	f.set(func(s *webui.FirmwareStatus) { s.Phase, s.Progress = "trial", "checking that this version is healthy" })
	var last uint64
	seen := false
	// The web UI is up when its listener answers; with --http-redirect
	// that answer is the redirect to HTTPS, which is not followed.
	client := &http.Client{Timeout: 2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	check := func(ctx context.Context) error {
		n := ticks()
		moved := seen && n > last
		last, seen = n, true
		if !moved {
			return fmt.Errorf("media loop not ticking (tick %d)", n)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, webURL+"/healthz", nil)
		res, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("web UI: %w", err)
		}
		res.Body.Close()
		if res.StatusCode >= 400 {
			return fmt.Errorf("web UI: /healthz answered %s", res.Status)
		}
		return nil
	}
	err := f.store.Trial(ctx, check, update.HealthOptions{Deadline: deadline, After: f.after})
	switch {
	case err == nil:
		f.set(func(s *webui.FirmwareStatus) { s.Phase, s.Progress = "", "" })
	case errors.Is(err, update.ErrUnhealthy):
		f.log.Error("firmware: this version is not healthy; going back", "err", err)
		info, berr := f.store.Boot()
		if berr == nil {
			os.Setenv(envBooted, info.Slot+" ok")
			berr = f.restart(info.Binary)
		}
		if berr != nil {
			f.log.Error("firmware: cannot restart the previous version", "err", berr)
		}
	}
}
