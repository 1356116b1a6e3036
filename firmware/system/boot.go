package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// BootOptions configure Boot.
type BootOptions struct {
	// Binary is the loopstart executable started as `Binary run ...`.
	Binary string
	// Cmdline is the kernel command line (default: /proc/cmdline).
	Cmdline string
	// Console receives the boot log and the gateway's output.
	Console io.Writer
	// Version is logged.
	Version string
	// ResetButton opens the reset button of the named board: a reader
	// that reports it pressed, or nil when the board has none. Held for
	// ResetHold, it resets the gateway to its factory settings and
	// reboots. Nil means no button.
	ResetButton func(board string) (pressed func() (bool, error), err error)
}

// bootState is what `loopstart boot status` and the test hooks report.
type bootState struct {
	Version    string           `json:"version"`
	BootedAt   time.Time        `json:"booted_at"`
	Modules    []string         `json:"modules"`
	Addr       string           `json:"addr,omitempty"`
	Data       string           `json:"data"`
	Formatted  bool             `json:"formatted,omitempty"`
	Watchdog   string           `json:"watchdog"`
	Petting    bool             `json:"petting"`
	Gateway    SupervisorState  `json:"gateway"`
	GatewayRSS int64            `json:"gateway_rss_kib,omitempty"`
	Memory     *MemInfo         `json:"memory,omitempty"`
	Problems   []string         `json:"problems,omitempty"`
	DHCPOption map[uint8]string `json:"dhcp_options,omitempty"`
	// SelfTests are the results of loopstart.selftest=..., name -> line.
	SelfTests map[string]SelfTestResult `json:"selftests,omitempty"`
	// Slot, Trial and FellBack are a card board's A/B state (uboot.env):
	// the slot booted, whether it is still on trial, and the slot U-Boot
	// gave up on, if it did.
	Slot     string `json:"slot,omitempty"`
	Trial    bool   `json:"trial,omitempty"`
	FellBack string `json:"fell_back,omitempty"`
	// DataGrown is the data partition's new size in bytes when this boot
	// grew it to the card's end.
	DataGrown int64 `json:"data_grown,omitempty"`
}

// SelfTestResult is one self-test's outcome in the boot state.
type SelfTestResult struct {
	Pass bool   `json:"pass"`
	Line string `json:"line"`
}

// CrashFileName is the crash report's name in the data directory; the web
// UI's status page can show it.
const CrashFileName = "last-crash.txt"

// Boot is `loopstart boot`: it brings the board up, runs and supervises the
// gateway, pets the watchdog, and returns only after a reboot or power-off
// request could not be carried out. The steps, in order:
//
//	mountFS        kernel file systems, the kernel command line, the host name
//	loadModules    the image's kernel modules in dependency order
//	runSelfTests   loopstart.selftest=... before anything else starts
//	startHIL       the qemu-hil test image's chip-model server
//	startNetwork   loopback, then the network and the data partition in parallel
//	startSyslog    remote syslog (command line, else DHCP option 7)
//	startNTP       the clock (command line, else DHCP option 42), in the background
//	supervise      `loopstart run`, restarted when it ends
//	serveControl   the control socket, and the test hooks when asked for
//	armWatchdog    the hardware watchdog
//	watch          pet the watchdog while the media loop makes progress,
//	               until a reboot or power-off request
//	Shutdown       stop the gateway, unmount, reboot or power off
func Boot(ctx context.Context, o BootOptions) error {
	b := newBooter(o)
	b.mountFS()
	b.loadModules()
	b.cardBoot()
	b.runSelfTests(ctx)
	b.startHIL(ctx)
	b.startNetwork(ctx)
	b.startSyslog()
	b.startNTP()
	stopSup := b.supervise(ctx)
	defer stopSup()
	b.serveControl(ctx)
	b.watchResetButton(ctx)
	b.armWatchdog()
	action := b.watch(ctx)
	b.log.Info("shutting down", "action", action)
	return Shutdown(action, func() { stopSup(); waitStopped(b.sup, 6*time.Second); b.resetOnStop() }, b.set.DataDir, b.wd, b.log)
}

// booter is one run of Boot: the settings, the boot state, and the
// system calls each step makes, which the tests replace.
type booter struct {
	o   BootOptions
	t0  time.Time
	con io.Writer
	log *slog.Logger

	logMu  sync.Mutex
	logOut io.Writer // the console, and the remote syslog once there is one
	// childOut receives the gateway's output (console, syslog).
	childOut io.Writer

	stMu sync.Mutex
	st   *bootState

	set    Settings
	net    *NetState
	sipIP  string
	sup    *Supervisor
	wd     *Watchdog
	health *LoopHealth
	power  chan PowerAction
	// resetPending is set when the reset button asked for a factory reset.
	resetPending atomic.Bool
	// resetHold replaces ResetHold (tests).
	resetHold time.Duration

	// The system the steps act on; newBooter sets the real one.
	cmdlinePath   string
	dtPath        string // the device tree's compatible property
	mountBase     func() error
	setHostname   func(string) error
	modulesDir    string
	loadMods      func(dir string) ([]ModuleLoad, error)
	selfTest      func(ctx context.Context, binary, name string, out io.Writer) (string, bool)
	upLoopback    func() error
	network       func(ctx context.Context) *NetState
	mountData     func(dev, dir, mkfs string, wait time.Duration) (bool, error)
	mountTmpData  func(dir string) error
	setClock      func(server string, timeout time.Duration) (time.Duration, error)
	controlSocket string
	healthSocket  string
	openWatchdog  func(dev string, timeout time.Duration) (*Watchdog, error)
	tick          time.Duration // how often watch checks the loop
	grace         time.Duration // how long a new gateway may take to start its loop
	cardConfirmed bool          // a card's trial slot was confirmed (cardHealthy)
}

func newBooter(o BootOptions) *booter {
	b := &booter{
		o: o, t0: time.Now(), con: o.Console,
		cmdlinePath: "/proc/cmdline", dtPath: DeviceTreeCompatible, mountBase: MountBase,
		setHostname: func(h string) error { return unix.Sethostname([]byte(h)) },
		modulesDir:  ModulesDir, loadMods: LoadModules, selfTest: RunSelfTest,
		upLoopback: UpLoopback, mountData: MountData, mountTmpData: MountTmpData,
		setClock: SetClockNTP, controlSocket: ControlSocket, healthSocket: HealthSocket,
		openWatchdog: OpenWatchdog, tick: time.Second, grace: 15 * time.Second,
		set: DefaultSettings(), sipIP: "0.0.0.0",
	}
	b.network = b.bringUpNetwork
	if b.con == nil {
		b.con = os.Stderr
	}
	b.logOut, b.childOut = b.con, b.con
	lw := writerFunc(func(p []byte) (int, error) {
		b.logMu.Lock()
		defer b.logMu.Unlock()
		return b.logOut.Write(p)
	})
	b.log = slog.New(slog.NewTextHandler(lw, nil)).With("proc", "boot")
	b.st = &bootState{Version: o.Version, BootedAt: b.t0, Watchdog: "off"}
	return b
}

// problem logs err and keeps it in the boot state.
func (b *booter) problem(err error) {
	b.log.Error("boot", "err", err)
	b.stMu.Lock()
	b.st.Problems = append(b.st.Problems, err.Error())
	b.stMu.Unlock()
}

// state is a snapshot of the boot state with the gateway's.
func (b *booter) state() bootState {
	b.stMu.Lock()
	defer b.stMu.Unlock()
	c := *b.st
	if b.sup != nil {
		c.Gateway = b.sup.State()
		if c.Gateway.Pid != 0 {
			c.GatewayRSS = rssKiB(c.Gateway.Pid)
		}
	}
	c.Memory = readMemInfo()
	return c
}

// mountFS mounts the kernel file systems, reads the settings from the
// kernel command line and sets the host name.
func (b *booter) mountFS() {
	if err := b.mountBase(); err != nil {
		b.problem(err)
	}
	cmdline := b.o.Cmdline
	if cmdline == "" {
		c, _ := os.ReadFile(b.cmdlinePath)
		cmdline = string(c)
	}
	set, errs := ParseCmdline(cmdline)
	for _, err := range errs {
		b.problem(err)
	}
	b.set = set
	b.pickBoard(cmdline, b.dtPath)
	_ = b.setHostname("loopstart")
}

// loadModules loads the image's kernel modules and logs the slow ones.
func (b *booter) loadModules() {
	mods, err := b.loadMods(b.modulesDir)
	if err != nil {
		b.problem(err)
	}
	names, slow := moduleSummary(mods)
	b.st.Modules = append(b.st.Modules, names...)
	b.log.Info("modules loaded", "n", len(mods), "ms", time.Since(b.t0).Milliseconds(), "slow", slow)
}

// moduleSummary returns the modules' names and, as name:Nms, those that
// took 20 ms or more to load.
func moduleSummary(mods []ModuleLoad) (names, slow []string) {
	for _, m := range mods {
		names = append(names, m.Name)
		if m.Took >= 20*time.Millisecond {
			slow = append(slow, fmt.Sprintf("%s:%dms", m.Name, m.Took.Milliseconds()))
		}
	}
	return names, slow
}

// runSelfTests runs the self-tests the command line asks for, with their
// output on the console and their results in the boot state.
func (b *booter) runSelfTests(ctx context.Context) {
	for _, name := range b.set.SelfTest {
		line, pass := b.selfTest(ctx, b.o.Binary, name, b.con)
		if b.st.SelfTests == nil {
			b.st.SelfTests = map[string]SelfTestResult{}
		}
		b.st.SelfTests[name] = SelfTestResult{Pass: pass, Line: line}
		if !pass {
			b.problem(fmt.Errorf("selftest %s failed: %s", name, line))
		}
	}
}

// startNetwork brings up loopback, then the network and the data
// partition in parallel, and records the address in the boot state.
func (b *booter) startNetwork(ctx context.Context) {
	if err := b.upLoopback(); err != nil {
		b.problem(err)
	}
	var wg sync.WaitGroup
	var netSt *NetState
	wg.Add(2)
	go func() {
		defer wg.Done()
		netSt = b.network(ctx)
	}()
	go func() {
		defer wg.Done()
		b.openData()
	}()
	wg.Wait()
	b.net = netSt
	if netSt != nil {
		b.sipIP = netSt.Addr.Addr().String()
		b.stMu.Lock()
		b.st.Addr = netSt.Addr.String()
		b.st.DHCPOption = map[uint8]string{}
		for k, v := range netSt.Options {
			b.st.DHCPOption[k] = fmt.Sprintf("%x", v)
		}
		b.stMu.Unlock()
	}
}

// openData mounts the data partition, formatting a blank one; without
// one (loopstart.data=none, or it fails) the data directory is a tmpfs.
func (b *booter) openData() {
	set := b.set
	b.stMu.Lock()
	b.st.Data = set.DataDir
	b.stMu.Unlock()
	if set.DataDev == "none" {
		if err := b.mountTmpData(set.DataDir); err != nil {
			b.problem(err)
		}
		return
	}
	if set.BootDev != "" {
		// A card's data partition is grown to the card's end before it is
		// mounted, and its file system right after.
		b.waitDev(set.DataDev, 3*time.Second)
		if grown, err := GrowPartition(set.DataDev); err != nil {
			b.problem(fmt.Errorf("data partition: %w", err))
		} else if grown {
			b.log.Info("data partition grown to the end of the card", "dev", set.DataDev)
		}
	}
	formatted, err := b.mountData(set.DataDev, set.DataDir, Mke2fs, 3*time.Second)
	if err == nil && set.BootDev != "" {
		if n, gerr := GrowExt4(set.DataDev, set.DataDir); gerr != nil {
			b.problem(fmt.Errorf("data partition: %w", gerr))
		} else if n > 0 {
			b.log.Info("data file system grown", "dev", set.DataDev, "mib", n>>20)
			b.stMu.Lock()
			b.st.DataGrown = n
			b.stMu.Unlock()
		}
	}
	b.stMu.Lock()
	b.st.Formatted = formatted
	b.stMu.Unlock()
	if err != nil {
		b.problem(fmt.Errorf("%w; config and state will not persist", err))
		if err := b.mountTmpData(set.DataDir); err != nil {
			b.problem(err)
		}
		b.stMu.Lock()
		b.st.Data += " (tmpfs)"
		b.stMu.Unlock()
		return
	}
	b.log.Info("data partition mounted", "dev", set.DataDev, "dir", set.DataDir, "formatted", formatted)
}

// syslogServer is the remote syslog server: the command line's, else the
// first of DHCP option 7, else none ("").
func syslogServer(set Settings, n *NetState) string {
	if set.Syslog != "" || n == nil {
		return set.Syslog
	}
	if ls, _ := n.Options.IPv4s(OptLogServers); len(ls) > 0 {
		return ls[0].String()
	}
	return ""
}

// ntpServer is the NTP server: the command line's, else the first of
// DHCP option 42, else none ("").
func ntpServer(set Settings, n *NetState) string {
	if set.NTP != "" || n == nil {
		return set.NTP
	}
	if ns, _ := n.Options.IPv4s(OptNTPServers); len(ns) > 0 {
		return ns[0].String()
	}
	return ""
}

// startSyslog copies the boot log and the gateway's output to the remote
// syslog server, when there is one.
func (b *booter) startSyslog() {
	addr := syslogServer(b.set, b.net)
	if addr == "" {
		return
	}
	sl, err := DialSyslog(addr, "loopstart", time.Now)
	if err != nil {
		b.problem(err)
		return
	}
	b.logMu.Lock()
	b.logOut = io.MultiWriter(b.con, sl.Writer(6))
	b.logMu.Unlock()
	b.childOut = io.MultiWriter(b.con, sl.Writer(6))
	b.log.Info("remote syslog", "server", addr)
}

// startNTP sets the clock in the background, when there is a server.
// The returned channel is closed when that is done.
func (b *booter) startNTP() <-chan struct{} {
	done := make(chan struct{})
	server := ntpServer(b.set, b.net)
	if server == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		off, err := b.setClock(server, 3*time.Second)
		if err != nil {
			b.problem(err)
			return
		}
		b.log.Info("clock set", "ntp", server, "offset", off)
	}()
	return done
}

// gatewayArgs is the supervised gateway's command line: the web UI on
// HTTPS with HTTP redirecting to it, unless loopstart.https=off.
func gatewayArgs(set Settings, sipIP, healthSocket string) []string {
	args := []string{"run", "--board", set.Board, "--data", set.DataDir,
		"--http", net.JoinHostPort("0.0.0.0", strconv.Itoa(set.HTTP)),
		"--sip", net.JoinHostPort(sipIP, strconv.Itoa(set.SIP)),
		"--health-socket", healthSocket}
	if set.HTTPS != 0 {
		args = append(args, "--https", net.JoinHostPort("0.0.0.0", strconv.Itoa(set.HTTPS)), "--http-redirect")
	}
	if set.FXS > 0 || set.FXO > 0 {
		args = append(args, "--fxs", strconv.Itoa(set.FXS), "--fxo", strconv.Itoa(set.FXO))
	}
	if set.Debug {
		args = append(args, "--log-level", "debug")
	}
	return args
}

// supervise starts `loopstart run` under a Supervisor; the returned
// function stops it.
func (b *booter) supervise(ctx context.Context) (stop context.CancelFunc) {
	args := gatewayArgs(b.set, b.sipIP, b.healthSocket)
	dir := b.set.DataDir
	b.sup = &Supervisor{
		Start: func(out io.Writer) (Process, error) {
			cmd := exec.Command(b.o.Binary, args...)
			cmd.Stdout, cmd.Stderr = out, out
			cmd.Dir = dir
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			return execProcess{cmd}, nil
		},
		CrashFile: filepath.Join(dir, CrashFileName),
		Output:    b.childOut,
		Log:       b.log,
	}
	b.health = &LoopHealth{Socket: b.healthSocket}
	supCtx, stopSup := context.WithCancel(ctx)
	go b.sup.Run(supCtx)
	b.log.Info("gateway starting", "args", args, "ms", time.Since(b.t0).Milliseconds())
	return stopSup
}

// serveControl answers the control socket and, with
// loopstart.testhooks=1, the test hooks.
func (b *booter) serveControl(ctx context.Context) {
	b.power = make(chan PowerAction, 1)
	ctl := &controller{sup: b.sup, power: b.power, state: func() any { return b.state() }, webUI: webUIURL(b.set.HTTP, b.set.HTTPS)}
	if err := ctl.serveSocket(ctx, b.controlSocket); err != nil {
		b.problem(err)
	}
	if b.set.TestHooks {
		b.log.Warn("TEST HOOKS ENABLED", "port", TestHooksPort)
		go func() {
			srv := &http.Server{Addr: fmt.Sprintf(":%d", TestHooksPort), Handler: ctl.testHooks(), ReadHeaderTimeout: 5 * time.Second}
			if err := srv.ListenAndServe(); err != nil {
				b.problem(fmt.Errorf("test hooks: %w", err))
			}
		}()
	}
}

// armWatchdog opens the hardware watchdog unless loopstart.watchdog=none.
func (b *booter) armWatchdog() {
	if b.set.Watchdog == "none" {
		return
	}
	wd, err := b.openWatchdog(b.set.Watchdog, b.set.WatchdogTimeout)
	if err != nil {
		b.problem(err)
		return
	}
	b.wd = wd
	b.stMu.Lock()
	b.st.Watchdog = fmt.Sprintf("%s timeout %s", b.set.Watchdog, wd.Timeout)
	b.stMu.Unlock()
	b.log.Info("watchdog armed", "dev", b.set.Watchdog, "timeout", wd.Timeout)
}

// watch pets the watchdog only while the loop makes progress, until a
// power request or the end of ctx (a reboot), and returns the action.
func (b *booter) watch(ctx context.Context) PowerAction {
	tick := time.NewTicker(b.tick)
	defer tick.Stop()
	var lastPid int
	wasHealthy := true
	for {
		select {
		case action := <-b.power:
			return action
		case <-ctx.Done():
			return ActionReboot
		case <-tick.C:
		}
		gs := b.sup.State()
		if gs.Pid != lastPid {
			b.health.Reset()
			lastPid = gs.Pid
		}
		healthy := false
		age := time.Since(gs.Started)
		if gs.Running {
			cctx, cancel := context.WithTimeout(ctx, 800*time.Millisecond)
			_, err := b.health.Check(cctx)
			cancel()
			healthy = err == nil
			if since := b.health.Since(); since.After(gs.Started) {
				age = time.Since(since) // re-executed in place (firmware upgrade): a new start
			}
			if err != nil && wasHealthy && age > b.grace {
				b.log.Warn("media loop unhealthy: not petting the watchdog", "err", err)
			}
			if healthy && !wasHealthy {
				b.log.Info("media loop healthy")
			}
			if healthy {
				b.cardHealthy()
			}
			wasHealthy = healthy || age < b.grace
		}
		pet := PetDecision(gs.Running, age, b.grace, healthy)
		b.stMu.Lock()
		b.st.Petting = pet
		b.stMu.Unlock()
		if b.wd != nil && pet {
			if err := b.wd.Pet(); err != nil {
				b.problem(err)
			}
		}
	}
}

// bringUpNetwork configures the network: the command line's interface or
// the first one found, a static address or DHCP (renewed in the
// background). It returns nil when there is no network.
func (b *booter) bringUpNetwork(ctx context.Context) *NetState {
	set, log, problem := b.set, b.log, b.problem
	iface := set.Iface
	if iface == "" {
		var err error
		// A USB network adapter appears seconds after its host
		// controller's module loads (over 10 s on an emulated H3).
		if iface, err = FindIface(30 * time.Second); err != nil {
			problem(err)
			return nil
		}
	}
	if set.Static.IsValid() {
		st, err := ConfigureStatic(iface, set.Static, set.Gateway, set.DNS)
		if err != nil {
			problem(err)
			return nil
		}
		log.Info("network", "iface", iface, "addr", st.Addr, "gw", st.Gateway, "static", true)
		return st
	}
	st, err := ConfigureDHCP(ctx, iface)
	if err != nil {
		problem(err)
		return nil
	}
	if err := WriteDHCPOptions(DHCPOptionsFile, st.Options); err != nil {
		problem(err)
	}
	log.Info("network", "iface", iface, "addr", st.Addr, "gw", st.Gateway, "dns", st.DNS,
		"lease", st.Lease, "provisioning_options", provisioningSummary(st.Options))
	go renewDHCP(ctx, iface, st.Lease, log, problem)
	return st
}

// renewDHCP asks for a new lease at half of each lease's time.
func renewDHCP(ctx context.Context, iface string, lease time.Duration, log *slog.Logger, problem func(error)) {
	for {
		wait := max(lease/2, 30*time.Second)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		st, err := ConfigureDHCP(ctx, iface)
		if err != nil {
			problem(err)
			lease = time.Minute
			continue
		}
		if err := WriteDHCPOptions(DHCPOptionsFile, st.Options); err != nil {
			problem(err)
		}
		lease = st.Lease
		log.Info("dhcp renewed", "addr", st.Addr, "lease", lease)
	}
}

func provisioningSummary(o DHCPOptions) map[string]string {
	m := map[string]string{}
	for _, c := range ProvisioningOptions {
		if v, ok := o.Get(c); ok {
			m[strconv.Itoa(int(c))] = fmt.Sprintf("%q", v)
		}
	}
	return m
}

func waitStopped(s *Supervisor, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for s.State().Running && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

// Shutdown stops the gateway (stop), syncs and unmounts the data partition,
// disarms the watchdog and reboots or powers off. It returns only on
// failure.
func Shutdown(action PowerAction, stop func(), dataDir string, wd *Watchdog, log *slog.Logger) error {
	if stop != nil {
		stop()
	}
	unix.Sync()
	if err := unix.Unmount(dataDir, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		log.Error("unmount data", "err", err)
		_ = unix.Unmount(dataDir, unix.MNT_DETACH)
		unix.Sync()
	} else {
		log.Info("data partition unmounted cleanly")
	}
	if wd != nil {
		_ = wd.Disarm()
	}
	cmd := unix.LINUX_REBOOT_CMD_RESTART
	if action == ActionPowerOff {
		cmd = unix.LINUX_REBOOT_CMD_POWER_OFF
	}
	if err := unix.Reboot(cmd); err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	select {} // the kernel takes over
}

type execProcess struct{ cmd *exec.Cmd }

func (p execProcess) Wait() error                     { return p.cmd.Wait() }
func (p execProcess) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }
func (p execProcess) Pid() int                        { return p.cmd.Process.Pid }

// rssKiB returns a process's resident set (VmRSS) in KiB, 0 if unknown.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
