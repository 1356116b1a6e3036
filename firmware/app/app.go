// Package app is the application wiring of `loopstart run`: given a way
// to open the board and the command's flag values, Run takes the firmware
// slot step, loads the configuration, opens the board and runs the
// gateway (under its supervisor), provisioning, the web UI and the health
// socket until its context ends. The
// parts it wires live here too: the configuration manager that the web UI
// and provisioning apply changes through, the firmware upgrade manager
// with its trial health check, the provisioning hooks, the SIP trace and
// HTTPS serving. The command keeps only flag parsing, logging set-up and
// opening the board.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/health"
	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
	"github.com/loopstart/loopstart/voice/status"
	"github.com/loopstart/loopstart/webui"
)

// Options are what Run needs: the flag values of `loopstart run` and what
// the command opened before calling it.
type Options struct {
	// OpenBoard opens the board the gateway runs on; required. Run calls
	// it after the firmware slot step (which may re-execute the process,
	// so the chips are brought up once, by the firmware that runs) and
	// after loading the configuration, with the country of the first
	// port; it closes the board when it returns.
	OpenBoard func(country string) (*Board, error)
	// BoardName names the board definition (--board): firmware images
	// must target BoardName/GOARCH, and provisioning reports the model
	// "loopstart-"+BoardName.
	BoardName string
	// DefaultPorts is how many ports (1..DefaultPorts, extensions 101,
	// 102, ...) the built-in configuration has when no file is given; 0
	// means 2, the default sim board's FXS ports.
	DefaultPorts int
	// HealthSocket is where the gateway answers the boot supervisor's
	// health check (package firmware/health, --health-socket); empty
	// means none.
	HealthSocket string

	// DataDir is the data directory (--data): config, firmware slots,
	// admin password and certificate. Empty means a new temporary
	// directory.
	DataDir string
	// ConfigFile is the configuration file (--config); empty means
	// DataDir/config.xml when it exists, else the built-in default.
	ConfigFile string
	// HTTP is the web UI's listen address (--http).
	HTTP string
	// HTTPS is the web UI's HTTPS listen address (--https); empty means
	// no HTTPS. With HTTPRedirect (--http-redirect) the HTTP listener
	// only redirects to it.
	HTTPS        string
	HTTPRedirect bool
	// WebHosts are extra names the web UI answers to besides its IP
	// addresses, localhost and the host name (--web-host); requests for
	// other names are refused (DNS rebinding).
	WebHosts []string
	// MetricsAllow are the addresses that may scrape /metrics without a
	// token (webui.ParseAllowList); nil means none.
	MetricsAllow []netip.Prefix
	// WebLimits are the web servers' timeouts and header limit; the zero
	// value means webui.DefaultServerLimits.
	WebLimits webui.ServerLimits
	// SIP is the SIP listen address, IP:PORT (--sip); RTP uses its IP.
	SIP string
	// SIPTLS, when set, is an address SIP over TLS is accepted on
	// (--sip-tls), with the PEM certificate chain and key of SIPTLSCert
	// and SIPTLSKey (--sip-tls-cert, --sip-tls-key).
	SIPTLS, SIPTLSCert, SIPTLSKey string
	// FirmwareKey is an extra trusted firmware signing key, a .pub file
	// (--firmware-key); empty means the built-in keys only.
	FirmwareKey string
	// FirmwareHealth is how long an upgraded version has to come up
	// healthy before it is rolled back (--firmware-health).
	FirmwareHealth time.Duration
	// LoopWorkers is how many goroutines share the media loop's busy
	// frames (--loop-workers; gateway.Config.LoopWorkers): 0 picks by the
	// number of ports and CPUs.
	LoopWorkers int

	// Version is the running firmware's version.
	Version string
	// Logger receives the log; nil means slog.Default().
	Logger *slog.Logger
	// Logs is the ring of recent records the web UI's logs page shows;
	// nil means the page is empty.
	Logs *webui.LogRing
}

// Board is an opened board as Run uses it.
type Board struct {
	// Board is what the gateway drives.
	Board *board.Board
	// Sim is the simulated board's control surface (the web UI's
	// /api/sim); nil on a real board.
	Sim webui.SimControl
	// Close halts the chips and closes the highway; nil means nothing to
	// close.
	Close func() error
}

// Run runs the gateway until ctx ends (nil then) or it cannot start or
// go on (the error says why, in one line where it can). At start it may
// replace the process with the firmware slot that should run, and an
// upgrade later does the same (same PID and arguments). It reserves spare
// Ps for the media loop (gateway.ReserveLoopProcs) and hooks the SIP
// trace into sipgo, both process-wide.
func Run(ctx context.Context, o Options) error {
	if o.OpenBoard == nil {
		return errors.New("app: no board")
	}
	started := time.Now()
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	gateway.ReserveLoopProcs() // spare Ps for the media loop (voice/gateway/runtime.go)
	if o.DataDir == "" {
		dir, err := os.MkdirTemp("", "loopstart-data-")
		if err != nil {
			return err
		}
		o.DataDir = dir
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	// Firmware slots (firmware.go): may restart into the slot that should run.
	fwStore, fwBoot, err := openFirmware(o.DataDir, o.BoardName, o.FirmwareKey, log)
	if err != nil {
		return fmt.Errorf("firmware: %w", err)
	}
	cfg, source, err := loadConfig(o.ConfigFile, o.DataDir, o.DefaultPorts)
	if err != nil {
		return err
	}
	country := ""
	if len(cfg.Ports) > 0 {
		country = cfg.Ports[0].Country
	}
	b, err := o.OpenBoard(country)
	if err != nil {
		return err
	}
	if b.Close != nil {
		defer b.Close()
	}
	sipAddr, err := netip.ParseAddrPort(o.SIP)
	if err != nil {
		return fmt.Errorf("--sip %q: want IP:PORT: %w", o.SIP, err)
	}
	httpLn, err := net.Listen("tcp", o.HTTP)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	defer httpLn.Close()

	trace := sip.InstallTrace(log)      // SIP trace into the log ring, switched from the web UI
	capt := newCapture(trace)           // packet capture of SIP and RTP (diagnostics page)
	quality := status.NewCallQuality()  // finished calls' MOS/loss/jitter for /metrics
	notify := &notifyHook{}             // SIP NOTIFY check-sync → provisioning
	mwi := openMWIStore(o.DataDir, log) // message waiting → the ports, kept in the data directory
	build := func(c *config.Config) gateway.Config {
		gc := gatewayConfig(c, b.Board, sipAddr, o.Version, log)
		gc.SIP.OnNotify = notify.handle
		gc.LoopWorkers = o.LoopWorkers
		gc.SIP.OnMessageWaiting = mwi.handle
		gc.MessageWaiting = mwi.waiting
		gc.FeaturesFile = filepath.Join(o.DataDir, "features.json") // star-code state; provisioning never writes it
		gc.Capture, gc.CallQuality = capt, quality
		gc.SIP.TLSListen, gc.SIP.TLSCertFile, gc.SIP.TLSKeyFile = o.SIPTLS, o.SIPTLSCert, o.SIPTLSKey
		return gc
	}
	gw, err := gateway.NewSupervisor(build(cfg)) // rebuilds the gateway on config changes
	if err != nil {
		return err
	}
	mwi.sup.Store(gw)
	mgr := &configManager{path: filepath.Join(o.DataDir, "config.xml"), sup: gw, cur: cfg, log: log, build: build}
	fw := &firmwareManager{store: fwStore, version: o.Version, log: log, restart: execBinary,
		busy:           func() bool { return len(gw.Gateway().BusyPorts()) > 0 },
		allowDowngrade: func() bool { return mgr.Current().Firmware.DowngradeAllowed() }}
	if fw.card, err = openCardFirmware("/proc/cmdline", o.BoardName, o.FirmwareKey, log); err != nil {
		log.Error("firmware: card slots unusable; updates go to the data partition", "err", err)
	} else if fw.card != nil {
		fw.restart = rebootBoard
	}
	// The gateway starts before the web UI is made: registration is what
	// a boot waits for, and on a slow core the UI's templates, its login
	// store and a first boot's HTTPS certificate took 0.4 s of the boot
	// under QEMU's emulation (docs/PERFORMANCE.md). The UI is made once the
	// user agent listens (or after startWait, whichever comes first).
	gwCtx, stopGateway := context.WithCancel(ctx)
	defer stopGateway()
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(gwCtx) }()
	gwEnded := false
	defer func() { // a return before the end below stops the gateway first
		if !gwEnded {
			stopGateway()
			<-gwDone
		}
	}()
	select {
	case <-gw.Gateway().Started():
	case <-time.After(startWait):
	}
	prov := startProvisioning(ctx, mgr, gw, notify, "loopstart-"+o.BoardName, o.Version, log, fw.provision,
		filepath.Join(o.DataDir, ProfileKeyFile), profileSigningKeys(o.FirmwareKey, log))
	lastCrash := readLastCrash(o.DataDir)
	statusWithCrash := func() status.Status {
		st := gw.Status()
		st.LastCrash = lastCrash
		return st
	}
	ui := webui.New(webui.Options{Status: statusWithCrash, Sim: b.Sim, Logger: log, Version: o.Version,
		DataDir: o.DataDir, Config: mgr, Logs: o.Logs, Provisioning: provUI{prov}, Firmware: fw, Diagnostics: trace,
		Capture: captureUI{capt}, CallQuality: quality,
		MetricsAllow: func() []netip.Prefix { return o.MetricsAllow },
		Features:     featuresUI{gw}, Hosts: o.WebHosts,
		Reboot: func() error { return restart(system.ControlSocket, log) },
		FactoryReset: func() error {
			if err := system.FactoryReset(o.DataDir); err != nil {
				return err
			}
			return restart(system.ControlSocket, log)
		},
		TestCall: func(ctx context.Context, n int) (string, error) {
			return testCall(ctx, gw, func(n int) (string, string, bool) {
				c := mgr.Current()
				for _, p := range c.Ports {
					if p.N == n {
						if a := c.Account(p.Account); a != nil {
							return a.ID, a.User, true
						}
					}
				}
				return "", "", false
			}, n)
		}})
	limits := o.WebLimits
	if limits == (webui.ServerLimits{}) {
		limits = webui.DefaultServerLimits
	}
	srv := webui.NewHTTPServer(ui, limits)
	if o.HTTPS != "" {
		stopTLS, err := serveHTTPS(o.HTTPS, o.HTTPRedirect, ui, srv, limits, log)
		if err != nil {
			return err
		}
		defer stopTLS()
	}
	go func() {
		if err := srv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web server", "err", err)
		}
	}()
	// Locking the program's pages faults all of them in (a noticeable
	// part of a boot on a slow core): it runs beside the gateway's start,
	// which registration does not wait for.
	go func() {
		if err := gateway.LockMemory(); err != nil {
			log.Warn("program pages not locked in memory; the media loop may stall on page faults", "err", err)
		}
	}()
	webURL := "http://" + httpLn.Addr().String()
	log.Info("loopstart running", "version", o.Version, "board", o.BoardName, "config", source,
		"http", webURL, "sip", o.SIP, "data", o.DataDir)
	if fwBoot.Trial {
		go fw.trial(ctx, func() uint64 { return gw.Status().Loop.Ticks }, webURL, o.FirmwareHealth)
	}
	if o.HealthSocket != "" {
		go func() {
			report := func() health.Report {
				return health.Report{Ticks: gw.Status().Loop.Ticks, Started: started.UnixNano()}
			}
			if err := health.Serve(ctx, o.HealthSocket, report); err != nil {
				log.Error("health socket", "err", err)
			}
		}()
	}
	err = <-gwDone
	gwEnded = true
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return err
}

// startWait bounds how long Run waits for the gateway's user agent to
// listen before it makes the web UI anyway.
const startWait = 2 * time.Second

// featuresUI changes port features on the supervisor's current gateway.
type featuresUI struct{ sup *gateway.Supervisor }

func (f featuresUI) SetFeatures(port int, fs status.Features) error {
	return f.sup.Gateway().SetFeatures(port, fs)
}
