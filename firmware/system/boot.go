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
	Problems   []string         `json:"problems,omitempty"`
	DHCPOption map[uint8]string `json:"dhcp_options,omitempty"`
	// SelfTests are the results of loopstart.selftest=..., name -> line.
	SelfTests map[string]SelfTestResult `json:"selftests,omitempty"`
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
// request could not be carried out.
func Boot(ctx context.Context, o BootOptions) error {
	t0 := time.Now()
	con := o.Console
	if con == nil {
		con = os.Stderr
	}
	var logOut io.Writer = con
	var logMu sync.Mutex
	lw := writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logOut.Write(p)
	})
	log := slog.New(slog.NewTextHandler(lw, nil)).With("proc", "boot")
	st := &bootState{Version: o.Version, BootedAt: t0, Watchdog: "off"}
	var stMu sync.Mutex
	problem := func(err error) {
		log.Error("boot", "err", err)
		stMu.Lock()
		st.Problems = append(st.Problems, err.Error())
		stMu.Unlock()
	}

	if err := MountBase(); err != nil {
		problem(err)
	}
	cmdline := o.Cmdline
	if cmdline == "" {
		b, _ := os.ReadFile("/proc/cmdline")
		cmdline = string(b)
	}
	set, errs := ParseCmdline(cmdline)
	for _, err := range errs {
		problem(err)
	}
	_ = unix.Sethostname([]byte("loopstart"))
	mods, err := LoadModules(ModulesDir)
	if err != nil {
		problem(err)
	}
	var slow []string
	for _, m := range mods {
		st.Modules = append(st.Modules, m.Name)
		if m.Took >= 20*time.Millisecond {
			slow = append(slow, fmt.Sprintf("%s:%dms", m.Name, m.Took.Milliseconds()))
		}
	}
	log.Info("modules loaded", "n", len(mods), "ms", time.Since(t0).Milliseconds(), "slow", slow)
	for _, name := range set.SelfTest {
		line, pass := RunSelfTest(ctx, o.Binary, name, con)
		if st.SelfTests == nil {
			st.SelfTests = map[string]SelfTestResult{}
		}
		st.SelfTests[name] = SelfTestResult{Pass: pass, Line: line}
		if !pass {
			problem(fmt.Errorf("selftest %s failed: %s", name, line))
		}
	}
	if err := UpLoopback(); err != nil {
		problem(err)
	}

	// Network and data partition in parallel.
	var wg sync.WaitGroup
	var netSt *NetState
	wg.Add(2)
	go func() {
		defer wg.Done()
		netSt = bringUpNetwork(ctx, set, log, problem)
	}()
	go func() {
		defer wg.Done()
		st.Data = set.DataDir
		if set.DataDev == "none" {
			if err := MountTmpData(set.DataDir); err != nil {
				problem(err)
			}
			return
		}
		formatted, err := MountData(set.DataDev, set.DataDir, Mke2fs, 3*time.Second)
		st.Formatted = formatted
		if err != nil {
			problem(fmt.Errorf("%w; config and state will not persist", err))
			if err := MountTmpData(set.DataDir); err != nil {
				problem(err)
			}
			st.Data += " (tmpfs)"
			return
		}
		log.Info("data partition mounted", "dev", set.DataDev, "dir", set.DataDir, "formatted", formatted)
	}()
	wg.Wait()

	sipIP := "0.0.0.0"
	if netSt != nil {
		sipIP = netSt.Addr.Addr().String()
		st.Addr = netSt.Addr.String()
		st.DHCPOption = map[uint8]string{}
		for k, v := range netSt.Options {
			st.DHCPOption[k] = fmt.Sprintf("%x", v)
		}
	}

	// Remote syslog: the command line, else DHCP option 7.
	syslogAddr := set.Syslog
	if syslogAddr == "" && netSt != nil {
		if ls, _ := netSt.Options.IPv4s(OptLogServers); len(ls) > 0 {
			syslogAddr = ls[0].String()
		}
	}
	var childOut io.Writer = con
	if syslogAddr != "" {
		sl, err := DialSyslog(syslogAddr, "loopstart", time.Now)
		if err != nil {
			problem(err)
		} else {
			logMu.Lock()
			logOut = io.MultiWriter(con, sl.Writer(6))
			logMu.Unlock()
			childOut = io.MultiWriter(con, sl.Writer(6))
			log.Info("remote syslog", "server", syslogAddr)
		}
	}
	// Clock: the command line, else DHCP option 42; in the background.
	ntpServer := set.NTP
	if ntpServer == "" && netSt != nil {
		if ns, _ := netSt.Options.IPv4s(OptNTPServers); len(ns) > 0 {
			ntpServer = ns[0].String()
		}
	}
	if ntpServer != "" {
		go func() {
			off, err := SetClockNTP(ntpServer, 3*time.Second)
			if err != nil {
				problem(err)
				return
			}
			log.Info("clock set", "ntp", ntpServer, "offset", off)
		}()
	}

	// The gateway, supervised.
	args := []string{"run", "--board", set.Board, "--data", set.DataDir,
		"--http", net.JoinHostPort("0.0.0.0", strconv.Itoa(set.HTTP)),
		"--sip", net.JoinHostPort(sipIP, strconv.Itoa(set.SIP))}
	if set.Debug {
		args = append(args, "--log-level", "debug")
	}
	sup := &Supervisor{
		Start: func(out io.Writer) (Process, error) {
			cmd := exec.Command(o.Binary, args...)
			cmd.Stdout, cmd.Stderr = out, out
			cmd.Dir = set.DataDir
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			return execProcess{cmd}, nil
		},
		CrashFile: filepath.Join(set.DataDir, CrashFileName),
		Output:    childOut,
		Log:       log,
	}
	supCtx, stopSup := context.WithCancel(ctx)
	defer stopSup()
	go sup.Run(supCtx)
	log.Info("gateway starting", "args", args, "ms", time.Since(t0).Milliseconds())

	power := make(chan PowerAction, 1)
	ctl := &controller{sup: sup, power: power, state: func() any {
		stMu.Lock()
		defer stMu.Unlock()
		c := *st
		c.Gateway = sup.State()
		if c.Gateway.Pid != 0 {
			c.GatewayRSS = rssKiB(c.Gateway.Pid)
		}
		return c
	}}
	if err := ctl.serveSocket(ctx, ControlSocket); err != nil {
		problem(err)
	}
	if set.TestHooks {
		log.Warn("TEST HOOKS ENABLED", "port", TestHooksPort)
		go func() {
			srv := &http.Server{Addr: fmt.Sprintf(":%d", TestHooksPort), Handler: ctl.testHooks(), ReadHeaderTimeout: 5 * time.Second}
			if err := srv.ListenAndServe(); err != nil {
				problem(fmt.Errorf("test hooks: %w", err))
			}
		}()
	}

	// The watchdog: pet only while the loop makes progress.
	var wd *Watchdog
	if set.Watchdog != "none" {
		if wd, err = OpenWatchdog(set.Watchdog, set.WatchdogTimeout); err != nil {
			problem(err)
		} else {
			stMu.Lock()
			st.Watchdog = fmt.Sprintf("%s timeout %s", set.Watchdog, wd.Timeout)
			stMu.Unlock()
			log.Info("watchdog armed", "dev", set.Watchdog, "timeout", wd.Timeout)
		}
	}
	health := &LoopHealth{URL: fmt.Sprintf("http://127.0.0.1:%d/api/status", set.HTTP)}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastPid int
	var action PowerAction
	wasHealthy := true
loop:
	for {
		select {
		case action = <-power:
			break loop
		case <-ctx.Done():
			action = ActionReboot
			break loop
		case <-tick.C:
		}
		gs := sup.State()
		if gs.Pid != lastPid {
			health.Reset()
			lastPid = gs.Pid
		}
		healthy := false
		if gs.Running {
			cctx, cancel := context.WithTimeout(ctx, 800*time.Millisecond)
			_, err := health.Check(cctx)
			cancel()
			healthy = err == nil
			if err != nil && wasHealthy && time.Since(gs.Started) > 15*time.Second {
				log.Warn("media loop unhealthy: not petting the watchdog", "err", err)
			}
			if healthy && !wasHealthy {
				log.Info("media loop healthy")
			}
			wasHealthy = healthy || time.Since(gs.Started) < 15*time.Second
		}
		pet := PetDecision(gs.Running, time.Since(gs.Started), 15*time.Second, healthy)
		stMu.Lock()
		st.Petting = pet
		stMu.Unlock()
		if wd != nil && pet {
			if err := wd.Pet(); err != nil {
				problem(err)
			}
		}
	}
	log.Info("shutting down", "action", action)
	return Shutdown(action, func() { stopSup(); waitStopped(sup, 6*time.Second) }, set.DataDir, wd, log)
}

func bringUpNetwork(ctx context.Context, set Settings, log *slog.Logger, problem func(error)) *NetState {
	iface := set.Iface
	if iface == "" {
		var err error
		if iface, err = FindIface(3 * time.Second); err != nil {
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
