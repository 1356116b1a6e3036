package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/factory"
	"github.com/loopstart/loopstart/firmware/app"
	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/webui"
)

// runOpts are the flags of `loopstart run` (a contract: tests outside the
// project start the gateway with them).
type runOpts struct {
	board, data, http, sip, config, logLevel string
	sipTLS, sipTLSCert, sipTLSKey            string
	// https is the web UI's HTTPS listen address ("" = none); with
	// httpRedirect the --http listener only redirects to it.
	https        string
	httpRedirect bool
	// firmwareKey adds a trusted firmware signing key (a .pub file);
	// firmwareHealth is how long an upgraded version has to prove itself.
	firmwareKey    string
	firmwareHealth time.Duration
	// healthSocket is where `loopstart boot` reads the loop's liveness
	// ("" = none).
	healthSocket string
	// webHosts are extra names the web UI answers to (--web-host).
	webHosts hostList
	// fxs and fxo size a model board (--fxs, --fxo): that many FXS and
	// FXO ports instead of the definition's; both 0 keep the definition.
	fxs, fxo int
	// syslog is a remote syslog server (host[:port], UDP) that also gets
	// the log ("" = none).
	syslog string
	// metricsAllow are addresses that may scrape /metrics without a
	// token (--metrics-allow).
	metricsAllow prefixList
	// memoryLimit is --memory-limit in MiB, 0 for the board's default
	// (memlimit.go).
	memoryLimit int
	// loopWorkers is --loop-workers (loopworkers.go).
	loopWorkers int
}

// prefixList is a repeatable flag of addresses and prefixes.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	var s []string
	for _, p := range *l {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

// Set adds the addresses and prefixes in v (webui.ParseAllowList).
func (l *prefixList) Set(v string) error {
	ps, err := webui.ParseAllowList(v)
	if err != nil {
		return err
	}
	*l = append(*l, ps...)
	return nil
}

// hostList is a repeatable flag of host names, each value one name or a
// comma-separated list.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

// Set adds the names in v.
func (h *hostList) Set(v string) error {
	for n := range strings.SplitSeq(v, ",") {
		n = strings.TrimSpace(n)
		if !validHostName(n) {
			return fmt.Errorf("%q is not a host name", n)
		}
		*h = append(*h, n)
	}
	return nil
}

// validHostName reports a DNS name: dot-separated labels of letters,
// digits and hyphens, optionally ending in a dot.
func validHostName(n string) bool {
	n = strings.TrimSuffix(n, ".")
	if n == "" || len(n) > 253 {
		return false
	}
	for l := range strings.SplitSeq(n, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runOpts
	fs.StringVar(&o.board, "board", "sim", "board definition ("+strings.Join(boardNames(), ", ")+")")
	fs.StringVar(&o.data, "data", "", "data directory (config, state); default a temporary directory")
	fs.StringVar(&o.http, "http", "127.0.0.1:8080", "web UI listen address")
	fs.StringVar(&o.https, "https", "", "web UI HTTPS listen address (self-signed certificate made in --data on first start); empty: no HTTPS")
	fs.BoolVar(&o.httpRedirect, "http-redirect", false, "with --https: the --http listener redirects to HTTPS")
	fs.StringVar(&o.sip, "sip", "127.0.0.1:5062", "SIP listen address (UDP and TCP)")
	fs.StringVar(&o.sipTLS, "sip-tls", "", "SIP over TLS listen address, with --sip-tls-cert and --sip-tls-key; empty: no TLS listener")
	fs.StringVar(&o.sipTLSCert, "sip-tls-cert", "", "PEM certificate chain of the SIP TLS listener")
	fs.StringVar(&o.sipTLSKey, "sip-tls-key", "", "PEM private key of the SIP TLS listener")
	fs.StringVar(&o.config, "config", "", "config file (default DATA/config.xml, else the built-in default)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.firmwareKey, "firmware-key", "", "extra trusted firmware signing key (.pub file from tools/fwsign)")
	fs.DurationVar(&o.firmwareHealth, "firmware-health", 60*time.Second, "how long an upgraded firmware has to come up healthy before it is rolled back")
	fs.Var(&o.webHosts, "web-host", "a name the web UI answers to besides its IP addresses, localhost, the host name and HOSTNAME.local (repeat or separate with commas); requests for other names are refused")
	fs.StringVar(&o.syslog, "syslog", "", "remote syslog server HOST[:PORT] (UDP, default port 514) that also receives the log; empty: none (under `loopstart boot`, its loopstart.syslog= already forwards the output)")
	fs.Var(&o.metricsAllow, "metrics-allow", "addresses or prefixes (10.0.0.5, 10.1.0.0/16; repeat or separate with commas) that may scrape /metrics without a token")
	fs.StringVar(&o.healthSocket, "health-socket", "", "unix socket answering the media loop's tick counter for the boot supervisor's watchdog; empty: none")
	fs.IntVar(&o.fxs, "fxs", 0, "with --board sim or qemu: the number of FXS ports (daisy-chained Si3215 models, ports 1..N); 0 with --fxo 0 keeps the board's 2 FXS + 1 FXO")
	fs.IntVar(&o.memoryLimit, "memory-limit", 0, "soft limit of the Go runtime's memory in MiB, the heap is collected more often near it, never refused; 0: the board's default, 16 MiB + 0.25 MiB a port (GOMEMLIMIT when set, GOMEMLIMIT=off for none)")
	fs.IntVar(&o.loopWorkers, "loop-workers", 0, fmt.Sprintf("goroutines (one per core) that share the media loop's frames while at least %d ports are busy; 0: one per %d ports, at most one per CPU; 1: the loop alone", app.LoopSplitPorts, app.LoopSplitPorts))
	fs.IntVar(&o.fxo, "fxo", 0, "with --board sim or qemu: the number of FXO ports (Si3050 models on virtual central offices, after the FXS ports); at most 32 ports in all")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loopstart run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	def, err := boardDefinition(o.board, o.fxs, o.fxo)
	if err != nil {
		fmt.Fprintf(stderr, "loopstart: %v\n", oneLine(err))
		return 1
	}
	if err := checkLoopWorkers(o.loopWorkers); err != nil {
		fmt.Fprintf(stderr, "loopstart: %v\n", err)
		return 2
	}
	limit, ok, err := memoryLimit(o.memoryLimit, len(def.Chips), os.Getenv("GOMEMLIMIT"))
	if err != nil {
		fmt.Fprintf(stderr, "loopstart: %v\n", err)
		return 2
	}
	if ok {
		debug.SetMemoryLimit(limit)
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

// run sets up the log, opens the board and runs the application on it.
func run(ctx context.Context, o runOpts, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logRing := webui.NewLogRing(1000) // the web UI's logs page
	var out slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if o.syslog != "" {
		sl, err := system.DialSyslog(o.syslog, "loopstart", time.Now)
		if err != nil {
			return fmt.Errorf("--syslog: %w", err)
		}
		defer sl.Close()
		out = slog.NewMultiHandler(out, sl.Handler(level))
	}
	log := slog.New(logRing.Handler(out, level))
	if o.syslog != "" {
		log.Info("remote syslog", "server", o.syslog)
	}
	slog.SetDefault(log)
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		log.Info("go runtime memory limit", "mib", l>>20)
	}

	return app.Run(ctx, app.Options{
		OpenBoard:    func(country string) (*app.Board, error) { return openBoard(o.board, o.fxs, o.fxo, country, log) },
		DefaultPorts: o.fxs,
		BoardName:    o.board, HealthSocket: o.healthSocket,
		DataDir: o.data, ConfigFile: o.config,
		HTTP: o.http, HTTPS: o.https, HTTPRedirect: o.httpRedirect, WebHosts: o.webHosts, SIP: o.sip,
		MetricsAllow: o.metricsAllow,
		SIPTLS:       o.sipTLS, SIPTLSCert: o.sipTLSCert, SIPTLSKey: o.sipTLSKey,
		FirmwareKey: o.firmwareKey, FirmwareHealth: o.firmwareHealth,
		LoopWorkers: o.loopWorkers,
		Version:     version, Logger: log, Logs: logRing,
	})
}

// openBoard opens the board definition name through the board factory:
// the sim and QEMU boards with their chip models, a real board through
// the kernel's SPI, GPIO and ALSA devices. Missing device files are one
// error naming them all; a chip or a PCM highway that does not answer
// leaves its ports faulted and the gateway running. fxs and fxo, when
// either is set, size a model board (board.SimSize).
func openBoard(name string, fxs, fxo int, country string, log *slog.Logger) (*app.Board, error) {
	def, err := boardDefinition(name, fxs, fxo)
	if err != nil {
		return nil, err
	}
	fb, err := factory.OpenDefinition(def, factory.Opts{Logger: log, Country: country})
	if err != nil {
		return nil, err
	}
	if fb.PCMFault != nil {
		log.Error("board: PCM highway down, every port out of service", "board", name, "err", fb.PCMFault)
	}
	b := &app.Board{Board: &fb.Board, Close: fb.Close}
	if fb.Sim != nil { // a nil *sim.Board must not become a non-nil interface
		b.Sim = fb.Sim
	}
	return b, nil
}

// boardDefinition is the definition --board name takes, sized by --fxs
// and --fxo when either is set (model boards only).
func boardDefinition(name string, fxs, fxo int) (board.Definition, error) {
	def, err := board.Lookup(name)
	if err != nil {
		return board.Definition{}, fmt.Errorf("--board %q: unknown board (known: %s)", name, strings.Join(boardNames(), ", "))
	}
	if fxs == 0 && fxo == 0 {
		return def, nil
	}
	if !def.Models {
		return board.Definition{}, fmt.Errorf("--fxs/--fxo: board %s has real chips; only model boards (sim, qemu) are sized by flags", name)
	}
	sized, err := board.SimSize(fxs, fxo)
	if err != nil {
		return board.Definition{}, fmt.Errorf("--fxs %d --fxo %d: %w", fxs, fxo, err)
	}
	if sized.Name != def.Name {
		sized.Name = def.Name
		sized.Description = def.Description + fmt.Sprintf(", sized to %d FXS + %d FXO", fxs, fxo)
	}
	return sized, nil
}

// boardNames lists the board definitions --board takes.
func boardNames() []string {
	var names []string
	for _, d := range board.Definitions() {
		names = append(names, d.Name)
	}
	return names
}
