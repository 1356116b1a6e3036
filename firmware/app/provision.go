package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/provision"
	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/webui"
)

// notifyHook passes SIP NOTIFY events to the provisioner once it exists
// (the gateway's SIP config is built first).
type notifyHook struct {
	prov atomic.Pointer[provision.Provisioner]
}

func (h *notifyHook) handle(event string) bool {
	if p := h.prov.Load(); p != nil {
		return p.CheckSync(event)
	}
	return false
}

// ProfileKeyFile, in the data directory, holds the pass phrase
// encrypted provisioning profiles (openssl enc -aes-256-cbc -pbkdf2 -iter
// 100000) are decrypted with; without it they are refused.
const ProfileKeyFile = "profile-key"

// simMAC is the sim board's MAC when the host has no interface with one:
// locally administered, "LS" 00 00 01.
var simMAC = net.HardwareAddr{0x02, 0x4c, 0x53, 0x00, 0x00, 0x01}

// hostMAC is the first non-loopback interface's MAC, or simMAC.
func hostMAC() net.HardwareAddr {
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 && len(i.HardwareAddr) == 6 {
			return i.HardwareAddr
		}
	}
	return simMAC
}

// startProvisioning runs the provisioner until ctx ends; configuration it
// fetches goes through mgr like a change from the web UI. model and
// version identify the device to the provisioning server.
func startProvisioning(ctx context.Context, mgr *configManager, sup *gateway.Supervisor, hook *notifyHook, model, version string, log *slog.Logger,
	firmware func(context.Context, io.Reader) error, keyFile string, signingKeys []ed25519.PublicKey) *provision.Provisioner {
	p := provision.New(provision.Options{
		Identity: provision.Identity{MAC: hostMAC(), Model: model, Version: version},
		Current:  mgr.Current,
		Apply: func(c *config.Config) error {
			_, err := mgr.Apply(c, "provisioning")
			return err
		},
		Busy:     func() bool { return len(sup.Gateway().BusyPorts()) > 0 },
		Fetcher:  &provision.Fetcher{UserAgent: "Loopstart/" + version + " (" + model + ")"},
		Logger:   log.With("part", "provisioning"),
		Firmware: firmware,
		// A reboot asked by SIP NOTIFY goes to `loopstart boot` (the image's
		// PID 1); elsewhere (the sim board) the request fails and is logged.
		Reboot: func(context.Context) error {
			_, err := system.Request(system.ControlSocket, "reboot")
			return err
		},
		ProfileKey: func() string {
			b, err := os.ReadFile(keyFile)
			if err != nil {
				return ""
			}
			return strings.TrimSpace(string(b))
		},
		SigningKeys: signingKeys,
	})
	useDHCPOptions(p, system.DHCPOptionsFile, log)
	hook.prov.Store(p)
	go p.Run(ctx)
	return p
}

// useDHCPOptions hands the provisioning servers of the DHCP lease that
// `loopstart boot` published (options 66/67/150/160/43) to p. On the sim
// board there is no such file and the config's URL alone is used.
func useDHCPOptions(p *provision.Provisioner, path string, log *slog.Logger) {
	opts, err := system.ReadDHCPOptions(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("dhcp options unreadable; provisioning uses the config only", "file", path, "err", err)
		}
		return
	}
	urls, err := provision.ServerFromDHCP(opts)
	if err != nil {
		log.Warn("dhcp provisioning options unusable", "err", err)
		return
	}
	if len(urls) > 0 {
		p.SetDHCPServers(urls)
		log.Info("provisioning servers from dhcp", "servers", fmt.Sprint(urls))
	}
}

// provUI shows the provisioner in the web UI.
type provUI struct{ p *provision.Provisioner }

func (u provUI) ProvisioningStatus() webui.ProvisioningStatus {
	s := u.p.Status()
	return webui.ProvisioningStatus{Servers: s.Servers, Source: s.Source, State: s.State,
		LastAttempt: s.LastAttempt, LastSuccess: s.LastSuccess, LastFailure: s.LastFailure,
		LastFile: s.LastFile, LastError: s.LastError, Next: s.Next,
		FirmwareURL: s.FirmwareURL, Firmware: s.Firmware,
		MAC: s.MAC, Tried: s.Tried, Format: s.Format, Ignored: s.Ignored}
}

func (u provUI) Resync() error {
	u.p.Resync()
	return nil
}
