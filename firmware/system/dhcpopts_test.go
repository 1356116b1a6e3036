package system

import (
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDHCPOptions(t *testing.T) {
	o := DHCPOptions{
		OptTFTPServerName:  []byte("tftp.example.net\x00"),
		OptBootfileName:    []byte("loopstart/$MA.xml"),
		OptTFTPServerAddr:  {10, 0, 0, 1, 10, 0, 0, 2},
		OptProvisioningURL: []byte("https://prov.example.net/cfg"),
		OptVendorSpecific:  {1, 3, 'a', 'b', 'c'},
		OptNTPServers:      {1, 2, 3},
	}
	if got := o.String(OptTFTPServerName); got != "tftp.example.net" {
		t.Errorf("option 66 %q", got)
	}
	if got := o.String(OptBootfileName); got != "loopstart/$MA.xml" {
		t.Errorf("option 67 %q", got)
	}
	ips, err := o.IPv4s(OptTFTPServerAddr)
	if err != nil || !reflect.DeepEqual(ips, []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")}) {
		t.Errorf("option 150 %v %v", ips, err)
	}
	if _, err := o.IPv4s(OptNTPServers); err == nil {
		t.Error("3-byte option 42 parsed as addresses")
	}
	if ips, err := o.IPv4s(OptLogServers); ips != nil || err != nil {
		t.Errorf("absent option 7: %v %v", ips, err)
	}
	if v, ok := o.Get(OptVendorSpecific); !ok || len(v) != 5 {
		t.Errorf("option 43 %v %v", v, ok)
	}
	if _, ok := o.Get(OptDomainNameServer); ok {
		t.Error("absent option 6 found")
	}

	path := filepath.Join(t.TempDir(), "run", "dhcp-options.json")
	if _, err := ReadDHCPOptions(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := WriteDHCPOptions(path, o); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDHCPOptions(path)
	if err != nil || !reflect.DeepEqual(back, o) {
		t.Errorf("round trip: %v %v", back, err)
	}
}

func FuzzDHCPOptionsIPv4s(f *testing.F) {
	f.Add([]byte{10, 0, 0, 1})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		ips, err := DHCPOptions{150: b}.IPv4s(150)
		if err == nil && len(ips)*4 != len(b) {
			t.Fatalf("%d addresses from %d bytes", len(ips), len(b))
		}
		if err != nil && len(b)%4 == 0 {
			t.Fatalf("error on %d bytes: %v", len(b), err)
		}
	})
}
