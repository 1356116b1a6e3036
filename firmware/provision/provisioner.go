package provision

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/provision/grandstream"
	"github.com/loopstart/loopstart/firmware/provision/spa"
	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// Timing of resyncs.
const (
	// DefaultFirstDelay bounds the random delay before the first sync
	// after start, so a site's boxes do not all ask at once.
	DefaultFirstDelay = 30 * time.Second
	// RetryDelay is the wait after a failed attempt (capped by the interval).
	RetryDelay = 5 * time.Minute
	// BusyPoll is how often a deferred periodic resync checks for the
	// end of the call.
	BusyPoll = 5 * time.Second
)

// Options configure a Provisioner.
type Options struct {
	// Identity fills the URL macros and the MAC file names.
	Identity Identity
	// Current returns the configuration in force; required.
	Current func() *config.Config
	// Apply makes a merged, validated configuration the one in force
	// (stored and applied); an error keeps the old one; required.
	Apply func(*config.Config) error
	// Busy reports a call in progress; periodic resyncs wait for its end.
	// Nil means never busy.
	Busy func() bool
	// Fetcher gets the files; nil means a default Fetcher.
	Fetcher *Fetcher
	// Logger receives the provisioning log; nil means slog.Default().
	Logger *slog.Logger
	// Now and After are the clock; nil means the real one.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Jitter returns a random duration in [0, d); nil means math/rand.
	Jitter func(d time.Duration) time.Duration
	// FirstDelay bounds the random delay before the first sync; 0 means
	// DefaultFirstDelay, negative means none.
	FirstDelay time.Duration
	// Firmware installs the image named by <firmware><url> (macros
	// expanded, fetched with Fetcher.Open) after each successful sync. It
	// reads the image from the stream, may stop early, and returns
	// ErrFirmwareCurrent when the image needs no install. Nil means
	// firmware URLs are only logged.
	Firmware func(ctx context.Context, image io.Reader) error
	// Reboot restarts the device. A SIP NOTIFY asking for a reboot
	// (CheckSync) has it called after the resync, once no port is Busy.
	// Nil means such a NOTIFY only resyncs.
	Reboot func(ctx context.Context) error
	// ProfileKey returns the pass phrase encrypted profiles are decrypted
	// with (DecryptProfile) when the configuration's <profile-key> is
	// empty; nil or "" then means encrypted profiles are refused with
	// ErrNoProfileKey.
	ProfileKey func() string
	// SigningKeys are the ed25519 public keys a profile's signature file
	// (SignatureSuffix) may be made with; the app passes the firmware
	// signing keys. None means a signed profile is refused
	// (ErrNoSigningKeys), and so is every profile when
	// <provisioning><require-signature> is true.
	SigningKeys []ed25519.PublicKey
}

// ErrFirmwareCurrent is returned by Options.Firmware when the image at
// the firmware URL is the version already running (or was refused
// before); provisioning records it as up to date.
var ErrFirmwareCurrent = errors.New("firmware is up to date")

// Status describes provisioning for the status page and the API.
type Status struct {
	// Servers are the server URLs in use (credentials hidden).
	Servers []string
	// Source is "config", "dhcp" or "" when there is no server.
	Source string
	// State is off (no server), idle, fetching, deferred (a periodic
	// resync waiting for a call to end), reboot-pending (a reboot asked
	// by SIP NOTIFY waiting for the ports to be idle) or refused (DHCP
	// names servers that <allow-dhcp>/<allow-insecure> do not allow;
	// LastError says why).
	State string
	// LastAttempt, LastSuccess, LastFailure are when those happened.
	LastAttempt, LastSuccess, LastFailure time.Time
	// LastFile is the URL of the last file applied.
	LastFile string
	// LastError is why the last attempt failed; "" after a success.
	LastError string
	// Next is when the next periodic resync is due.
	Next time.Time
	// FirmwareURL is the firmware image URL last checked ("" when none).
	FirmwareURL string
	// Firmware is the outcome of the last firmware check: "up to date",
	// "installed ...", or why it failed.
	Firmware string
	// MAC is the gateway's MAC in lowercase hex, as the MAC-specific
	// file names (FileNames) carry it.
	MAC string
	// Tried lists the files asked for in the last attempt, in order,
	// each with what became of it ("not found", "refused: ...",
	// "applied", ...).
	Tried []string
	// Format is the format of the last file applied: loopstart
	// (native), grandstream or spa.
	Format string
	// Ignored lists the vendor parameters of the last file applied that
	// changed nothing, each with its line and the reason.
	Ignored []string
}

// Provisioner fetches and applies the configuration: periodically, when
// asked (Resync, CheckSync) and once after start.
type Provisioner struct {
	opts Options
	log  *slog.Logger
	kick chan struct{}

	rebootAsked atomic.Bool

	mu      sync.Mutex
	dhcp    []*url.URL
	st      Status
	syncing sync.Mutex
}

// New makes a Provisioner; it does nothing until Run or Sync.
func New(opts Options) *Provisioner {
	if opts.Fetcher == nil {
		opts.Fetcher = &Fetcher{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.Jitter == nil {
		opts.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d)
		}
	}
	if opts.Busy == nil {
		opts.Busy = func() bool { return false }
	}
	if opts.FirstDelay == 0 {
		opts.FirstDelay = DefaultFirstDelay
	}
	return &Provisioner{opts: opts, log: opts.Logger, kick: make(chan struct{}, 1), st: Status{State: "idle"}}
}

// SetDHCPServers records the servers a DHCP lease named (see
// ServerFromDHCP); they are used when the configuration names none.
func (p *Provisioner) SetDHCPServers(us []*url.URL) {
	p.mu.Lock()
	p.dhcp = us
	p.mu.Unlock()
}

// servers returns the servers to use and where they came from.
func (p *Provisioner) servers() ([]*url.URL, string, error) {
	c := p.opts.Current()
	if c.Provisioning != nil && strings.TrimSpace(c.Provisioning.URL) != "" {
		u, err := parseServer(strings.TrimSpace(c.Provisioning.URL))
		if err != nil {
			return nil, "config", fmt.Errorf("provisioning url: %w", err)
		}
		return []*url.URL{u}, "config", nil
	}
	p.mu.Lock()
	dhcp := append([]*url.URL(nil), p.dhcp...)
	p.mu.Unlock()
	if len(dhcp) == 0 {
		return nil, "", nil
	}
	if !c.Provisioning.DHCPAllowed() {
		return nil, "dhcp", ErrDHCPRefused
	}
	insecure := c.Provisioning.InsecureAllowed()
	var out []*url.URL
	var plain []string
	for _, u := range dhcp {
		if u.Scheme == "https" || insecure {
			out = append(out, u)
		} else {
			plain = append(plain, u.Redacted())
		}
	}
	if len(out) == 0 {
		return nil, "dhcp", fmt.Errorf("%w: %s", ErrInsecureDHCP, strings.Join(plain, ", "))
	}
	return out, "dhcp", nil
}

// ErrDHCPRefused means DHCP names provisioning servers but
// <allow-dhcp>false</allow-dhcp> says not to use them.
var ErrDHCPRefused = errors.New("dhcp names a provisioning server, but <provisioning><allow-dhcp> is false")

// ErrInsecureDHCP means the only servers DHCP names are plain (tftp://,
// http://) and <provisioning><allow-insecure> is not true.
var ErrInsecureDHCP = errors.New("dhcp names only plain provisioning servers; set <provisioning><allow-insecure>true</allow-insecure> or <url> to use them")

// Status returns a snapshot of the provisioning state.
func (p *Provisioner) Status() Status {
	srv, src, err := p.servers()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	if err != nil && src == "dhcp" {
		// Show the servers DHCP offered and why they are not used.
		srv = p.dhcp
		st.State = "refused"
		if st.LastError == "" {
			st.LastError = err.Error()
		}
	}
	st.Servers, st.Source = nil, src
	st.MAC = p.opts.Identity.MACHex()
	st.Tried = slices.Clone(st.Tried)
	st.Ignored = slices.Clone(st.Ignored)
	for _, u := range srv {
		st.Servers = append(st.Servers, u.Redacted())
	}
	if len(srv) == 0 && st.State == "idle" {
		st.State = "off"
	}
	return st
}

// Resync asks for a sync now; Run does it in the background.
func (p *Provisioner) Resync() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// CheckSync handles the Event header of a SIP NOTIFY (the SIP stack has
// authenticated it) and reports whether it was a provisioning event:
//
//   - check-sync, resync, sys-control and report start a resync;
//   - check-sync;reboot=true, reboot, reboot_now, restart_now and the bare
//     reboot=true some SPA templates send also reboot after the resync,
//     once no port is busy (Options.Reboot; without it they only
//     resync); check-sync;reboot=false and reboot=false only resync.
//
// Applying a configuration never needs a reboot.
func (p *Provisioner) CheckSync(event string) bool {
	name, params, _ := strings.Cut(strings.ToLower(strings.TrimSpace(event)), ";")
	reboot := false
	switch strings.TrimSpace(name) {
	case "check-sync":
		for _, kv := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(kv, "=")
			if strings.TrimSpace(k) == "reboot" && strings.Trim(strings.TrimSpace(v), `"`) == "true" {
				reboot = true
			}
		}
	case "resync", "sys-control", "report", "reboot=false":
	case "reboot", "reboot_now", "restart_now", "reboot=true":
		reboot = true
	default:
		return false
	}
	p.log.Info("provisioning: resync asked by SIP NOTIFY", "event", event, "reboot", reboot)
	if reboot {
		p.rebootAsked.Store(true)
	}
	p.Resync()
	return true
}

// rebootWhenIdle waits until no port is busy, then calls Options.Reboot.
func (p *Provisioner) rebootWhenIdle(ctx context.Context) {
	if p.opts.Reboot == nil {
		p.log.Warn("provisioning: reboot asked by SIP NOTIFY, but this build cannot reboot; resynced only")
		return
	}
	for p.opts.Busy() {
		p.setState("reboot-pending")
		select {
		case <-ctx.Done():
			return
		case <-p.opts.After(BusyPoll):
		}
	}
	p.setState("idle")
	p.log.Info("provisioning: rebooting as SIP NOTIFY asked")
	if err := p.opts.Reboot(ctx); err != nil {
		p.log.Warn("provisioning: reboot failed", "err", err)
	}
}

// Run syncs once after a random first delay, then every interval (with
// random jitter, deferred while Busy), and whenever Resync is called,
// until ctx ends.
func (p *Provisioner) Run(ctx context.Context) error {
	wait := time.Duration(0)
	if p.opts.FirstDelay > 0 {
		wait = p.opts.Jitter(p.opts.FirstDelay)
	}
	periodic := true
	for {
		p.setNext(p.opts.Now().Add(wait))
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
			periodic = false
		case <-p.opts.After(wait):
			periodic = true
		}
		if periodic && p.opts.Busy() {
			p.setState("deferred")
			wait = BusyPoll
			continue
		}
		err := p.Sync(ctx)
		if p.rebootAsked.Swap(false) {
			p.rebootWhenIdle(ctx)
		}
		interval := time.Duration(config.DefaultProvisioningInterval) * time.Second
		if c := p.opts.Current(); c.Provisioning != nil && c.Provisioning.Interval > 0 {
			interval = time.Duration(c.Provisioning.Interval) * time.Second
		}
		wait = interval
		if err != nil && !errors.Is(err, ErrNoServers) {
			wait = min(RetryDelay, interval)
		}
		wait += p.opts.Jitter(wait / 10)
	}
}

// ErrNoServers means neither the configuration nor DHCP names a server.
var ErrNoServers = errors.New("no provisioning server (set <provisioning><url> or DHCP option 66/160/150/43)")

func (p *Provisioner) setNext(t time.Time) {
	p.mu.Lock()
	p.st.Next = t
	p.mu.Unlock()
}

func (p *Provisioner) setState(s string) {
	p.mu.Lock()
	p.st.State = s
	p.mu.Unlock()
}

// Sync fetches, validates and applies the configuration once. On any
// failure the old configuration stays, and the reason is returned,
// logged and kept in Status.
func (p *Provisioner) Sync(ctx context.Context) error {
	p.syncing.Lock()
	defer p.syncing.Unlock()
	servers, _, err := p.servers()
	if err == nil && len(servers) == 0 {
		return ErrNoServers
	}
	p.mu.Lock()
	p.st.State = "fetching"
	p.st.LastAttempt = p.opts.Now()
	p.mu.Unlock()
	var file string
	if err == nil {
		file, err = p.syncFrom(ctx, servers)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.State = "idle"
	if err != nil {
		p.st.LastFailure = p.opts.Now()
		p.st.LastError = err.Error()
		p.log.Warn("provisioning failed; the old configuration stays", "err", err)
		return err
	}
	p.st.LastSuccess = p.opts.Now()
	p.st.LastError = ""
	p.st.LastFile = file
	p.mu.Unlock()
	p.syncFirmware(ctx)
	p.mu.Lock()
	return nil
}

// syncFirmware fetches the image named by <firmware><url> in the
// configuration in force and hands it to Options.Firmware.
func (p *Provisioner) syncFirmware(ctx context.Context) {
	c := p.opts.Current()
	if c.Firmware == nil || strings.TrimSpace(c.Firmware.URL) == "" {
		return
	}
	res := p.firmware(ctx, strings.TrimSpace(c.Firmware.URL))
	p.mu.Lock()
	p.st.Firmware = res
	p.mu.Unlock()
}

func (p *Provisioner) firmware(ctx context.Context, raw string) string {
	u, err := parseServer(p.opts.Identity.Expand(raw))
	if err != nil {
		p.log.Warn("provisioning: bad firmware url", "url", raw, "err", err)
		return "bad firmware url: " + err.Error()
	}
	p.mu.Lock()
	p.st.FirmwareURL = u.Redacted()
	p.mu.Unlock()
	if p.opts.Firmware == nil {
		p.log.Warn("provisioning: firmware url set, but this build cannot install firmware", "url", u.Redacted())
		return "firmware upgrades are not available here"
	}
	rc, err := p.opts.Fetcher.Open(ctx, u)
	if err != nil {
		p.log.Warn("provisioning: firmware image not fetched", "url", u.Redacted(), "err", err)
		return fmt.Sprintf("%s: %v", u.Redacted(), err)
	}
	defer rc.Close()
	switch err := p.opts.Firmware(ctx, rc); {
	case errors.Is(err, ErrFirmwareCurrent):
		p.log.Info("provisioning: firmware up to date", "url", u.Redacted(), "detail", err)
		return err.Error()
	case err != nil:
		p.log.Warn("provisioning: firmware not installed", "url", u.Redacted(), "err", err)
		return fmt.Sprintf("%s: not installed: %v", u.Redacted(), err)
	}
	p.log.Info("provisioning: firmware installed", "url", u.Redacted())
	return "installed from " + u.Redacted()
}

// syncFrom tries each server's candidates in order; the first file
// found is merged, validated and applied. It returns its URL. A
// Grandstream binary file name is refused without fetching it, and the
// next candidate tried.
func (p *Provisioner) syncFrom(ctx context.Context, servers []*url.URL) (string, error) {
	var errs []string
	var log []string
	defer func() {
		p.mu.Lock()
		p.st.Tried = log
		p.mu.Unlock()
	}()
	for _, srv := range servers {
		cands, err := Candidates(srv, p.opts.Identity)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", srv.Redacted(), err))
			continue
		}
		var tried []string
		for _, u := range cands {
			if IsGrandstreamBinary(u.Path) {
				tried = append(tried, u.Redacted())
				log = append(log, u.Redacted()+": refused: Grandstream binary format (use cfg<mac>.xml)")
				continue
			}
			data, err := p.opts.Fetcher.Fetch(ctx, u)
			if errors.Is(err, ErrNotFound) {
				tried = append(tried, u.Redacted())
				log = append(log, u.Redacted()+": not found")
				continue
			}
			if err != nil {
				log = append(log, u.Redacted()+": "+err.Error())
				errs = append(errs, fmt.Sprintf("%s: %v", u.Redacted(), err))
				break // the server itself failed: next server
			}
			sigLine, err := p.checkSignature(ctx, u, data)
			if sigLine != "" {
				log = append(log, sigLine)
			}
			if err != nil {
				log = append(log, u.Redacted()+": refused: "+err.Error())
				return u.Redacted(), fmt.Errorf("%s: %w", u.Redacted(), err)
			}
			err = p.use(u, data)
			if err != nil {
				log = append(log, u.Redacted()+": refused")
			} else {
				log = append(log, u.Redacted()+": applied")
			}
			return u.Redacted(), err
		}
		if len(tried) == len(cands) {
			errs = append(errs, "none of "+strings.Join(tried, ", ")+" exists")
		}
	}
	return "", errors.New(strings.Join(errs, "; "))
}

// Convert turns a fetched file into the configuration it makes of cur:
// native <loopstart> files are merged as they are, Grandstream
// <gs_provision> and Cisco SPA <flat-profile> files are converted first
// (mac, in lowercase hex, must match a Grandstream file's <mac>). It
// returns the format ("loopstart", "grandstream" or "spa") and, for a
// vendor file, the parameters that changed nothing. cur is not changed.
func Convert(cur *config.Config, data []byte, mac string) (next *config.Config, format string, ignored []string, err error) {
	var doc *vendor.Doc
	switch vendor.Root(data) {
	case grandstream.RootElement:
		format = grandstream.Format
		doc, err = grandstream.Convert(data, grandstream.Options{Current: cur, MAC: mac})
	case spa.RootElement:
		format = spa.Format
		doc, err = spa.Convert(data, spa.Options{Current: cur})
	default:
		next, err = config.Merge(cur, data)
		return next, "loopstart", nil, err
	}
	if doc != nil {
		ignored = doc.IgnoredNames()
	}
	if err != nil {
		return nil, format, ignored, err
	}
	next, err = doc.Merge(cur)
	return next, format, ignored, err
}

// use converts, merges, validates and applies one fetched file.
func (p *Provisioner) use(u *url.URL, data []byte) error {
	if IsEncrypted(data) {
		key := ""
		if pr := p.opts.Current().Provisioning; pr != nil {
			key = pr.ProfileKey
		}
		if key == "" && p.opts.ProfileKey != nil {
			key = p.opts.ProfileKey()
		}
		plain, err := DecryptProfile(data, key)
		if err != nil {
			return fmt.Errorf("%s: %w", u.Redacted(), err)
		}
		p.log.Info("provisioning: encrypted profile decrypted", "file", u.Redacted())
		data = plain
	}
	cur := p.opts.Current()
	next, format, ignored, err := Convert(cur, data, p.opts.Identity.MACHex())
	if len(ignored) > 0 {
		p.log.Info("provisioning: vendor parameters ignored", "file", u.Redacted(), "format", format, "count", len(ignored))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", u.Redacted(), err)
	}
	p.mu.Lock()
	p.st.Format, p.st.Ignored = format, ignored
	p.mu.Unlock()
	a, _ := cur.Marshal()
	b, _ := next.Marshal()
	if bytes.Equal(a, b) {
		p.log.Info("provisioning: configuration unchanged", "file", u.Redacted(), "format", format)
		return nil
	}
	if err := p.opts.Apply(next); err != nil {
		return fmt.Errorf("%s: not applied: %w", u.Redacted(), err)
	}
	p.log.Info("provisioning: new configuration applied", "file", u.Redacted(), "format", format)
	return nil
}
