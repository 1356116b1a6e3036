package system

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// DHCPOptions are the raw options of the DHCP lease, by option code, as the
// server sent them. `loopstart boot` writes them to DHCPOptionsFile after
// every lease; provisioning reads them with ReadDHCPOptions. The codes that
// matter for provisioning are requested explicitly (ProvisioningOptions).
type DHCPOptions map[uint8][]byte

// DHCP option codes requested for provisioning and the system.
const (
	OptTFTPServerName   uint8 = 66  // TFTP server name (string)
	OptBootfileName     uint8 = 67  // boot file name (string)
	OptVendorSpecific   uint8 = 43  // vendor specific information (opaque)
	OptTFTPServerAddr   uint8 = 150 // TFTP server address (IPv4 list, Cisco)
	OptProvisioningURL  uint8 = 160 // provisioning URL (string, Polycom/Yealink)
	OptNTPServers       uint8 = 42  // NTP servers (IPv4 list)
	OptLogServers       uint8 = 7   // log (syslog) servers (IPv4 list)
	OptDomainNameServer uint8 = 6   // DNS servers (IPv4 list)
)

// ProvisioningOptions are the option codes requested from the DHCP server
// for provisioning: 66, 67, 43, 150, 160.
var ProvisioningOptions = []uint8{OptTFTPServerName, OptBootfileName, OptVendorSpecific, OptTFTPServerAddr, OptProvisioningURL}

// DHCPOptionsFile is where `loopstart boot` publishes the current lease's
// options (JSON: {"66":"base64...", ...}).
const DHCPOptionsFile = "/run/loopstart/dhcp-options.json"

// Get returns option code's raw value and whether the server sent it.
func (o DHCPOptions) Get(code uint8) ([]byte, bool) {
	v, ok := o[code]
	return v, ok
}

// String returns option code as text (for 66, 67, 160), trailing NULs
// removed; "" when absent.
func (o DHCPOptions) String(code uint8) string {
	return strings.TrimRight(string(o[code]), "\x00")
}

// IPv4s returns option code as a list of IPv4 addresses (for 6, 7, 42,
// 150); an error when its length is not a multiple of 4.
func (o DHCPOptions) IPv4s(code uint8) ([]netip.Addr, error) {
	v, ok := o[code]
	if !ok {
		return nil, nil
	}
	if len(v)%4 != 0 {
		return nil, fmt.Errorf("dhcp option %d: %d bytes is not a list of IPv4 addresses", code, len(v))
	}
	out := make([]netip.Addr, 0, len(v)/4)
	for i := 0; i < len(v); i += 4 {
		out = append(out, netip.AddrFrom4([4]byte(v[i:i+4])))
	}
	return out, nil
}

// WriteDHCPOptions stores opts in path atomically (temporary file + rename).
func WriteDHCPOptions(path string, opts DHCPOptions) error {
	b, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("dhcp options: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("dhcp options: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("dhcp options: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("dhcp options: %w", err)
	}
	return nil
}

// ReadDHCPOptions reads what WriteDHCPOptions stored. A missing file is an
// error wrapping fs.ErrNotExist (no lease, or a static address).
func ReadDHCPOptions(path string) (DHCPOptions, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dhcp options: %w", err)
	}
	var o DHCPOptions
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("dhcp options %s: %w", path, err)
	}
	return o, nil
}
