package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
	"github.com/loopstart/loopstart/voice/status"
	"github.com/loopstart/loopstart/webui"
)

// runOpts are the flags of `loopstart run` (DESIGN.md contract 2).
type runOpts struct {
	board, data, http, sip, config, logLevel string
	// https is the web UI's HTTPS listen address ("" = none); with
	// httpRedirect the --http listener only redirects to it.
	https        string
	httpRedirect bool
	// firmwareKey adds a trusted firmware signing key (a .pub file);
	// firmwareHealth is how long an upgraded version has to prove itself.
	firmwareKey    string
	firmwareHealth time.Duration
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runOpts
	fs.StringVar(&o.board, "board", "sim", "board definition (sim)")
	fs.StringVar(&o.data, "data", "", "data directory (config, state); default a temporary directory")
	fs.StringVar(&o.http, "http", "127.0.0.1:8080", "web UI listen address")
	fs.StringVar(&o.https, "https", "", "web UI HTTPS listen address (self-signed certificate made in --data on first start); empty: no HTTPS")
	fs.BoolVar(&o.httpRedirect, "http-redirect", false, "with --https: the --http listener redirects to HTTPS")
	fs.StringVar(&o.sip, "sip", "127.0.0.1:5062", "SIP listen address (UDP and TCP)")
	fs.StringVar(&o.config, "config", "", "config file (default DATA/config.xml, else the built-in default)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.firmwareKey, "firmware-key", "", "extra trusted firmware signing key (.pub file from tools/fwsign)")
	fs.DurationVar(&o.firmwareHealth, "firmware-health", 60*time.Second, "how long an upgraded firmware has to come up healthy before it is rolled back")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loopstart run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, stderr); err != nil {
		fmt.Fprintf(stderr, "loopstart: %v\n", oneLine(err))
		return 1
	}
	return 0
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func run(ctx context.Context, o runOpts, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logRing := webui.NewLogRing(1000) // the web UI's logs page
	log := slog.New(logRing.Handler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}), level))
	slog.SetDefault(log)
	gateway.ReserveLoopProcs() // spare Ps for the media loop (voice/gateway/runtime.go)

	if o.board != "sim" {
		return fmt.Errorf("--board %q: unknown board (known: sim)", o.board)
	}
	if o.data == "" {
		dir, err := os.MkdirTemp("", "loopstart-data-")
		if err != nil {
			return err
		}
		o.data = dir
	}
	if err := os.MkdirAll(o.data, 0o755); err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	// Firmware slots (firmware.go): may restart into the slot that should run.
	fwStore, fwBoot, err := openFirmware(o.data, o.board, o.firmwareKey, log)
	if err != nil {
		return fmt.Errorf("firmware: %w", err)
	}
	cfg, source, err := loadConfig(o)
	if err != nil {
		return err
	}
	sipAddr, err := netip.ParseAddrPort(o.sip)
	if err != nil {
		return fmt.Errorf("--sip %q: want IP:PORT: %w", o.sip, err)
	}
	httpLn, err := net.Listen("tcp", o.http)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	defer httpLn.Close()

	b, err := simboard.New(simboard.Opts{Logger: log})
	if err != nil {
		return fmt.Errorf("board sim: %w", err)
	}
	trace := installSIPTrace(log) // diagnostics.go: SIP trace into the log ring
	gcfg := gatewayConfig(cfg, b, sipAddr, log)
	notify := &notifyHook{} // SIP NOTIFY check-sync → provisioning
	gcfg.SIP.OnNotify = notify.handle
	gw, err := gateway.NewSupervisor(gcfg) // rebuilds the gateway on config changes
	if err != nil {
		return err
	}
	mgr := &configManager{path: filepath.Join(o.data, "config.xml"), sup: gw, cur: cfg, log: log,
		build: func(c *config.Config) gateway.Config {
			gc := gatewayConfig(c, b, sipAddr, log)
			gc.SIP.OnNotify = notify.handle
			return gc
		}}
	fw := &firmwareManager{store: fwStore, version: version, log: log, restart: execBinary,
		busy: func() bool { return len(gw.Gateway().BusyPorts()) > 0 }}
	prov := startProvisioning(ctx, mgr, gw, notify, "loopstart-sim", log, fw.provision)
	lastCrash := readLastCrash(o.data)
	statusWithCrash := func() status.Status {
		st := gw.Status()
		st.LastCrash = lastCrash
		return st
	}
	ui := webui.New(webui.Options{Status: statusWithCrash, Sim: b, Logger: log, Version: version,
		DataDir: o.data, Config: mgr, Logs: logRing, Provisioning: provUI{prov}, Firmware: fw, Diagnostics: trace})
	srv := &http.Server{Handler: ui, ReadHeaderTimeout: 10 * time.Second}
	if o.https != "" {
		stopTLS, err := serveHTTPS(o, ui, srv, log)
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
	if err := gateway.LockMemory(); err != nil {
		log.Warn("program pages not locked in memory; the media loop may stall on page faults", "err", err)
	}
	log.Info("loopstart running", "version", version, "board", "sim", "config", source,
		"http", "http://"+httpLn.Addr().String(), "sip", o.sip, "data", o.data)
	if fwBoot.Trial {
		go fw.trial(ctx, func() uint64 { return gw.Status().Loop.Ticks }, "http://"+httpLn.Addr().String(), o.firmwareHealth)
	}
	err = gw.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return err
}

// readLastCrash returns the crash report the boot supervisor left in the
// data directory before it started this process, trimmed for the status
// page; "" when there is none.
func readLastCrash(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, system.CrashFileName))
	if err != nil {
		return ""
	}
	const max = 4096
	if len(b) > max {
		b = b[:max]
	}
	return strings.TrimSpace(string(b))
}

// loadConfig reads --config, else DATA/config.xml, else the built-in default.
func loadConfig(o runOpts) (*config.Config, string, error) {
	path := o.config
	if path == "" {
		p := filepath.Join(o.data, "config.xml")
		if _, err := os.Stat(p); err == nil {
			path = p
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	}
	if path == "" {
		return config.Default(2), "built-in default", nil
	}
	cfg, err := config.ParseFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, path, nil
}

// gatewayConfig maps the stored config onto the gateway's runtime config.
func gatewayConfig(cfg *config.Config, b *simboard.Board, sipAddr netip.AddrPort, log *slog.Logger) gateway.Config {
	gc := gateway.Config{
		Board:   &b.Board,
		RTPAddr: sipAddr.Addr(),
		Version: version,
		Logger:  log,
		SIP: sip.Config{
			Listen:    sipAddr.String(),
			UserAgent: "Loopstart/" + version,
			Logger:    log,
		},
	}
	// The sim highway runs on the real clock here: keep the loop's frames
	// on time on a busy machine (real-time class when allowed; otherwise
	// /api/status says why).
	gc.LoopPriority = 40
	if cfg.SIP != nil && cfg.SIP.UserAgent != "" {
		gc.SIP.UserAgent = cfg.SIP.UserAgent
	}
	for _, a := range cfg.Accounts {
		gc.SIP.Accounts = append(gc.SIP.Accounts, sip.Account{
			ID: a.ID, User: a.User, AuthUser: a.AuthUser, Password: a.Password,
			Display: a.DisplayName, Registrar: a.Registrar,
			Expires:   time.Duration(a.Expires) * time.Second,
			Transport: a.Transport, CAFile: a.CAFile, SRTP: a.SRTP,
		})
	}
	for _, p := range cfg.Ports {
		pc := gateway.PortConfig{N: p.N, Account: p.Account, Country: p.Country, DigitMap: p.DialPlan}
		if a := cfg.Account(p.Account); a != nil {
			pc.Codecs = a.CodecList() // validated by firmware/config; defaults applied
		}
		gc.Ports = append(gc.Ports, pc)
	}
	return gc
}
