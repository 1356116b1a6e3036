package app

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/firmware/config"
)

// TestGatewayConfigNAT: the NAT and resilience elements reach SIP, with
// the keep-alive default and its "0 = off".
func TestGatewayConfigNAT(t *testing.T) {
	tests := []struct {
		name, keepAlive string
		want            time.Duration
	}{
		{"default", "", config.DefaultKeepAlive * time.Second},
		{"set", "15", 15 * time.Second},
		{"off", "0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default(1)
			cfg.SIP = &config.SIP{DNS: "127.0.0.1:5353"}
			a := &cfg.Accounts[0]
			a.KeepAlive, a.STUN, a.OutboundProxy, a.BackupRegistrar = tt.keepAlive, "stun.example:3478", "sip:proxy.example;transport=tcp", "sip:pbx2.example"
			gc := gatewayConfig(cfg, &board.Board{}, netip.MustParseAddrPort("127.0.0.1:5062"), "1", slog.New(slog.DiscardHandler))
			got := gc.SIP.Accounts[0]
			if got.KeepAlive != tt.want || got.STUN != a.STUN || got.OutboundProxy != a.OutboundProxy || got.BackupRegistrar != a.BackupRegistrar {
				t.Errorf("account %+v", got)
			}
			if gc.SIP.DNS != "127.0.0.1:5353" {
				t.Errorf("dns %q", gc.SIP.DNS)
			}
		})
	}
}
