package app

import (
	"log/slog"
	"net/netip"
	"testing"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/firmware/config"
)

// TestGatewayConfigGains: a port's <tx-gain> and <rx-gain> reach the
// gateway in dB; absent ones are 0.
func TestGatewayConfigGains(t *testing.T) {
	for _, tc := range []struct {
		tx, rx         string
		wantTX, wantRX float64
	}{
		{"", "", 0, 0},
		{"-3.5", "6", -3.5, 6},
		{"12", "-12", 12, -12},
	} {
		cfg := config.Default(1)
		cfg.Ports[0].TXGain, cfg.Ports[0].RXGain = tc.tx, tc.rx
		gc := gatewayConfig(cfg, &board.Board{}, netip.MustParseAddrPort("127.0.0.1:5062"), "1", slog.New(slog.DiscardHandler))
		if p := gc.Ports[0]; p.TXGain != tc.wantTX || p.RXGain != tc.wantRX {
			t.Errorf("%q/%q: gains %v/%v, want %v/%v", tc.tx, tc.rx, p.TXGain, p.RXGain, tc.wantTX, tc.wantRX)
		}
	}
}
