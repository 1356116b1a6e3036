package app

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// loopPriority is the media loop thread's real-time priority. Every board
// needs its frames on time on a busy machine: a hardware highway is paced
// by its clock and a late frame is an xrun; the sim highway is paced by
// the real clock and a late frame is a slip. The real-time class is used
// when the process may; otherwise /api/status says why.
const loopPriority = 40

// loadConfig reads file (--config), else DATA/config.xml, else the
// built-in default of ports ports (2 when 0); it also returns where the
// configuration came from.
func loadConfig(file, dataDir string, ports int) (*config.Config, string, error) {
	path := file
	if path == "" {
		p := filepath.Join(dataDir, "config.xml")
		if _, err := os.Stat(p); err == nil {
			path = p
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	}
	if path == "" {
		if ports <= 0 {
			ports = 2
		}
		return config.Default(ports), "built-in default", nil
	}
	cfg, err := config.ParseFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, path, nil
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

// gatewayConfig maps the stored config onto the gateway's runtime config
// for board b, SIP (and RTP) on sipAddr.
func gatewayConfig(cfg *config.Config, b *board.Board, sipAddr netip.AddrPort, version string, log *slog.Logger) gateway.Config {
	gc := gateway.Config{
		Board:   b,
		RTPAddr: sipAddr.Addr(),
		Version: version,
		Logger:  log,
		SIP: sip.Config{
			Listen:    sipAddr.String(),
			UserAgent: "Loopstart", // no version for scanners to match
			Logger:    log,
		},
		LoopPriority: loopPriority,
	}
	if cfg.SIP != nil && cfg.SIP.UserAgent != "" {
		gc.SIP.UserAgent = cfg.SIP.UserAgent
	}
	gc.SIP.DirectCalls = cfg.SIP.DirectCallsOn()
	gc.SIP.IgnoreStrangers = cfg.SIP.IgnoreStrangersOn()
	if cfg.SIP != nil {
		gc.SIP.DNS = cfg.SIP.DNS
	}
	for _, a := range cfg.Accounts {
		gc.SIP.Accounts = append(gc.SIP.Accounts, sip.Account{
			ID: a.ID, User: a.User, AuthUser: a.AuthUser, Password: a.Password,
			Display: a.DisplayName, Registrar: a.Registrar,
			Expires:   time.Duration(a.Expires) * time.Second,
			Transport: a.Transport, CAFile: a.CAFile, SRTP: a.SRTP,
			MWISubscribe: a.MWISubscribeOn(), Mailbox: a.Mailbox,
			KeepAlive: time.Duration(a.KeepAliveSeconds()) * time.Second, STUN: a.STUN,
			OutboundProxy: a.OutboundProxy, BackupRegistrar: a.BackupRegistrar,
		})
	}
	for _, p := range cfg.Ports {
		pc := gateway.PortConfig{N: p.N, Account: p.Account, Country: p.Country, DigitMap: p.DialPlan, Extension: p.Extension, CallerID: p.CallerID,
			NoCallWaiting: p.CallWaiting == "false", NoThreeWay: p.ThreeWay == "false", ConferenceTransfer: p.ConferenceTransfer == "true",
			EchoOff: p.EchoCanceller == "off", EchoTail: time.Duration(p.EchoTail) * time.Millisecond, Fax: p.Fax,
			PBXFeatures: p.LocalFeatures == "false", FlashRelay: p.FlashRelay, DTMF: p.DTMF, StarCodes: starCodes(p.StarCodes),
			Hotline: p.Hotline, HotlineDelay: time.Duration(p.HotlineDelay) * time.Second,
			FXO: fxoConfig(p)}
		pc.FlashMin, pc.FlashMax, _ = p.FlashWindow() // validated by firmware/config
		pc.TXGain, pc.RXGain = p.Gains()
		if a := cfg.Account(p.Account); a != nil {
			pc.Codecs = a.CodecList() // validated by firmware/config; defaults applied
		}
		gc.Ports = append(gc.Ports, pc)
	}
	return gc
}

// starCodes reads a port's validated star-codes overrides (name=code,...).
func starCodes(s string) map[string]string {
	if s == "" {
		return nil
	}
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if name, code, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			m[name] = code
		}
	}
	return m
}
