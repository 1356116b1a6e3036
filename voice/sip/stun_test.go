package sip

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// stunServer answers binding requests with the sender's address (XOR-
// mapped, and plain when xor is false); drop makes it ignore the first n.
func stunServer(t *testing.T, xor bool, drop int) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if drop > 0 {
				drop--
				continue
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil || req.Type != stun.BindingRequest {
				continue
			}
			var addr stun.Setter = &stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())}
			if !xor {
				addr = &stun.MappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())}
			}
			res, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess, addr, stun.Fingerprint)
			if err != nil {
				continue
			}
			_, _ = pc.WriteToUDPAddrPort(res.Raw, from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestSTUNBinding(t *testing.T) {
	tests := []struct {
		name string
		xor  bool
		drop int
		ok   bool
	}{
		{"xor-mapped", true, 0, true},
		{"mapped", false, 0, true},
		{"first request lost", true, 1, true},
		{"no answer", true, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stunServer(t, tt.xor, tt.drop)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ip, err := stunBinding(ctx, srv)
			if (err == nil) != tt.ok {
				t.Fatalf("stunBinding = %v, %v; want ok %v", ip, err, tt.ok)
			}
			if tt.ok && ip != netip.MustParseAddr("127.0.0.1") {
				t.Errorf("mapped %v, want 127.0.0.1", ip)
			}
		})
	}
}

// TestSTUNPublicMediaAddr: an account's STUN server's answer becomes its
// public media address.
func TestSTUNPublicMediaAddr(t *testing.T) {
	srv := stunServer(t, true, 0)
	u, err := New(Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "1001", STUN: srv.String()}, {ID: "2", User: "1002"}}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer closeUA(t, u)
	deadline := time.Now().Add(5 * time.Second)
	for !u.PublicMediaAddr("1").IsValid() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := u.PublicMediaAddr("1"); got != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("account 1 public media address %v, want 127.0.0.1", got)
	}
	if got := u.PublicMediaAddr("2"); got.IsValid() {
		t.Errorf("account 2 (no STUN) has public media address %v", got)
	}
}

func FuzzParseBindingResponse(f *testing.F) {
	var id [stun.TransactionIDSize]byte
	res, _ := stun.Build(stun.NewTransactionIDSetter(id), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.IPv4(192, 0, 2, 1), Port: 4000}, stun.Fingerprint)
	f.Add(res.Raw)
	f.Add([]byte{0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, err := parseBindingResponse(b, id)
		if err == nil && !ip.IsValid() {
			t.Fatal("no error and no address")
		}
	})
}
