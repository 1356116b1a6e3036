package system

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Settings are the boot-time settings. They come from the kernel command
// line (`loopstart.KEY=VALUE`, see ParseCmdline) and from DHCP; config.xml
// has no system section yet.
type Settings struct {
	// DataDev is the block device of the persistent data partition
	// (loopstart.data=, default /dev/vda). "none" keeps data on tmpfs.
	DataDev string
	// DataDir is where the data partition is mounted (default /data).
	DataDir string
	// Iface is the network interface to configure (loopstart.iface=,
	// default: the first non-loopback interface).
	Iface string
	// Static is a static address with prefix (loopstart.ip=10.0.0.5/24);
	// invalid means DHCP.
	Static netip.Prefix
	// Gateway is the default route for a static address (loopstart.gw=).
	Gateway netip.Addr
	// DNS are name servers for a static address (loopstart.dns=a,b).
	DNS []netip.Addr
	// NTP is an NTP server (loopstart.ntp=host); empty means DHCP option 42,
	// else none.
	NTP string
	// Syslog is a remote syslog server host:port (loopstart.syslog=); empty
	// means DHCP option 7 (port 514), else none.
	Syslog string
	// HTTP and SIP are the gateway's listen ports (loopstart.http=80,
	// loopstart.sip=5060).
	HTTP, SIP int
	// HTTPS is the web UI's HTTPS port (loopstart.https=443, the
	// default); while it is set, the HTTP port only redirects to it.
	// 0 (loopstart.https=0 or off) serves the web UI in plain HTTP, for
	// debugging. It never equals HTTP: a clash puts both back to their
	// defaults.
	HTTPS int
	// Board is the board definition passed to `loopstart run` (loopstart.board=sim).
	Board string
	// FXS and FXO, when either is above 0, size a model board (sim,
	// qemu) to that many ports (loopstart.fxs=1 loopstart.fxo=0; `loopstart
	// run --fxs --fxo`): an emulated board with fewer chip models to run.
	FXS, FXO int
	// Watchdog is the watchdog device (loopstart.watchdog=, default
	// /dev/watchdog0; "none" disables it).
	Watchdog string
	// WatchdogTimeout is the hardware timeout programmed into the watchdog
	// (loopstart.wdt_timeout=SECONDS, default 10 s).
	WatchdogTimeout time.Duration
	// TestHooks enables the test-only control API on TCP port TestHooksPort
	// (loopstart.testhooks=1): kill or freeze the gateway, reboot.
	TestHooks bool
	// Debug raises the gateway's log level to debug (loopstart.debug=1).
	Debug bool
	// SelfTest names hardware self-tests to run before the gateway starts
	// (loopstart.selftest=pcm; see SelfTests). Their one-line results go
	// to the console and into the boot state.
	SelfTest []string
	// BootDev is the boot partition of a board booted from a card by
	// U-Boot (loopstart.boot=/dev/mmcblk0p1, set by the card's boot
	// script): uboot.env there holds the A/B state. Empty otherwise.
	BootDev string
	// Slot is the card's system slot U-Boot booted (loopstart.slot=a|b)
	// and Trial whether it is on trial (loopstart.trial=1).
	Slot  string
	Trial bool
}

// TestHooksPort is the TCP port of the test-only control API.
const TestHooksPort = 8081

// DefaultSettings are the settings with nothing on the command line.
func DefaultSettings() Settings {
	return Settings{
		DataDev: "/dev/vda", DataDir: "/data", HTTP: 80, HTTPS: 443, SIP: 5060, Board: "sim",
		Watchdog: "/dev/watchdog0", WatchdogTimeout: 10 * time.Second,
	}
}

// ParseCmdline reads the loopstart.* parameters of a kernel command line
// (the contents of /proc/cmdline) over DefaultSettings. Unknown loopstart.*
// keys and bad values are returned as problems; the setting keeps its
// default so the board still boots.
func ParseCmdline(cmdline string) (Settings, []error) {
	s := DefaultSettings()
	var errs []error
	bad := func(k, v string, err error) {
		errs = append(errs, fmt.Errorf("kernel command line loopstart.%s=%q: %w", k, v, err))
	}
	for _, f := range strings.Fields(cmdline) {
		kv, ok := strings.CutPrefix(f, "loopstart.")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "data":
			s.DataDev = v
		case "datadir":
			s.DataDir = v
		case "iface":
			s.Iface = v
		case "ip":
			p, err := netip.ParsePrefix(v)
			if err != nil || !p.Addr().Is4() {
				bad(k, v, fmt.Errorf("want an IPv4 address with prefix, like 10.0.0.5/24"))
				continue
			}
			s.Static = p
		case "gw":
			a, err := netip.ParseAddr(v)
			if err != nil {
				bad(k, v, err)
				continue
			}
			s.Gateway = a
		case "dns":
			for _, d := range strings.Split(v, ",") {
				a, err := netip.ParseAddr(d)
				if err != nil {
					bad(k, v, err)
					continue
				}
				s.DNS = append(s.DNS, a)
			}
		case "ntp":
			s.NTP = v
		case "syslog":
			if _, _, err := splitHostPortDefault(v, "514"); err != nil {
				bad(k, v, err)
				continue
			}
			s.Syslog = v
		case "http", "sip":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				bad(k, v, fmt.Errorf("want a port 1-65535"))
				continue
			}
			if k == "http" {
				s.HTTP = n
			} else {
				s.SIP = n
			}
		case "https":
			if v == "0" || v == "off" {
				s.HTTPS = 0
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				bad(k, v, fmt.Errorf("want a port 1-65535, or 0 or off for plain HTTP"))
				continue
			}
			s.HTTPS = n
		case "board":
			s.Board = v
		case "fxs", "fxo":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 32 {
				bad(k, v, fmt.Errorf("want a port count 0-32"))
				continue
			}
			if k == "fxs" {
				s.FXS = n
			} else {
				s.FXO = n
			}
		case "watchdog":
			s.Watchdog = v
		case "wdt_timeout":
			n, err := strconv.Atoi(v)
			if err != nil || n < 2 || n > 600 {
				bad(k, v, fmt.Errorf("want seconds 2-600"))
				continue
			}
			s.WatchdogTimeout = time.Duration(n) * time.Second
		case "testhooks":
			s.TestHooks = v == "1" || v == "true"
		case "boot":
			s.BootDev = v
		case "slot":
			if v != "a" && v != "b" {
				bad(k, v, fmt.Errorf("want a or b"))
				continue
			}
			s.Slot = v
		case "trial":
			s.Trial = v == "1"
		case "debug":
			s.Debug = v == "1" || v == "true"
		case "selftest":
			for _, name := range strings.Split(v, ",") {
				if _, ok := SelfTests[name]; !ok {
					bad(k, v, fmt.Errorf("unknown self-test %q (known: %s)", name, selfTestNames()))
					continue
				}
				s.SelfTest = append(s.SelfTest, name)
			}
		default:
			errs = append(errs, fmt.Errorf("kernel command line: unknown parameter loopstart.%s", k))
		}
	}
	if s.HTTPS != 0 && s.HTTPS == s.HTTP {
		def := DefaultSettings()
		errs = append(errs, fmt.Errorf("kernel command line: loopstart.http and loopstart.https are both %d; using %d and %d", s.HTTP, def.HTTP, def.HTTPS))
		s.HTTP, s.HTTPS = def.HTTP, def.HTTPS
	}
	return s, errs
}
