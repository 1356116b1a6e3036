package system

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
)

// NetState is the configured network.
type NetState struct {
	// Iface is the configured interface.
	Iface string
	// Addr is the interface's address with its prefix.
	Addr netip.Prefix
	// Gateway is the default route, if any.
	Gateway netip.Addr
	// DNS are the name servers written to /etc/resolv.conf.
	DNS []netip.Addr
	// Options are the lease's DHCP options; nil for a static address.
	Options DHCPOptions
	// Lease is how long the DHCP lease lasts; 0 for a static address.
	Lease time.Duration
}

// UpLoopback brings lo up (127.0.0.1/8 comes with it).
func UpLoopback() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	return nil
}

// FindIface returns the first non-loopback interface, waiting up to
// timeout for the NIC driver to create it.
func FindIface(timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		links, err := netlink.LinkList()
		if err != nil {
			return "", fmt.Errorf("list links: %w", err)
		}
		for _, l := range links {
			a := l.Attrs()
			if a.Flags&net.FlagLoopback == 0 && l.Type() == "device" && len(a.HardwareAddr) == 6 {
				return a.Name, nil
			}
		}
		if time.Now().After(deadline) {
			return "", errors.New("no network interface (is the NIC's module in the image?)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ConfigureDHCP brings iface up, asks for a lease requesting the
// provisioning options (66, 67, 43, 150, 160) and the system ones (DNS,
// NTP, log servers), and applies the address, default route and DNS.
func ConfigureDHCP(ctx context.Context, iface string) (*NetState, error) {
	link, err := netlink.LinkByName(iface)
	if err != nil {
		return nil, fmt.Errorf("dhcp: %w", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("dhcp: %s up: %w", iface, err)
	}
	c, err := nclient4.New(iface, nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(3))
	if err != nil {
		return nil, fmt.Errorf("dhcp client on %s: %w", iface, err)
	}
	defer c.Close()
	codes := []dhcpv4.OptionCode{dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter,
		dhcpv4.OptionDomainNameServer, dhcpv4.OptionNTPServers, dhcpv4.OptionLogServer}
	for _, o := range ProvisioningOptions {
		codes = append(codes, dhcpv4.GenericOptionCode(o))
	}
	host, _ := os.Hostname()
	mods := []dhcpv4.Modifier{dhcpv4.WithRequestedOptions(codes...),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("loopstart"))}
	if host != "" && host != "(none)" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(host)))
	}
	lease, err := c.Request(ctx, mods...)
	if err != nil {
		return nil, fmt.Errorf("dhcp on %s: %w", iface, err)
	}
	ack := lease.ACK
	ip, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok {
		return nil, fmt.Errorf("dhcp on %s: lease without an IPv4 address", iface)
	}
	ones, _ := ack.SubnetMask().Size()
	if ack.SubnetMask() == nil {
		ones = 24
	}
	st := &NetState{Iface: iface, Addr: netip.PrefixFrom(ip, ones), Options: DHCPOptions(ack.Options),
		Lease: ack.IPAddressLeaseTime(time.Hour)}
	if r := ack.Router(); len(r) > 0 {
		st.Gateway, _ = netip.AddrFromSlice(r[0].To4())
	}
	for _, d := range ack.DNS() {
		if a, ok := netip.AddrFromSlice(d.To4()); ok {
			st.DNS = append(st.DNS, a)
		}
	}
	return st, apply(link, st)
}

// ConfigureStatic applies a static address, default route and DNS.
func ConfigureStatic(iface string, addr netip.Prefix, gw netip.Addr, dns []netip.Addr) (*NetState, error) {
	link, err := netlink.LinkByName(iface)
	if err != nil {
		return nil, fmt.Errorf("static address: %w", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("static address: %s up: %w", iface, err)
	}
	st := &NetState{Iface: iface, Addr: addr, Gateway: gw, DNS: dns}
	return st, apply(link, st)
}

func apply(link netlink.Link, st *NetState) error {
	a := &netlink.Addr{IPNet: &net.IPNet{IP: st.Addr.Addr().AsSlice(), Mask: net.CIDRMask(st.Addr.Bits(), 32)}}
	if err := netlink.AddrReplace(link, a); err != nil {
		return fmt.Errorf("address %s on %s: %w", st.Addr, st.Iface, err)
	}
	if st.Gateway.IsValid() {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: st.Gateway.AsSlice()}
		if err := netlink.RouteReplace(r); err != nil {
			return fmt.Errorf("default route via %s: %w", st.Gateway, err)
		}
	}
	if len(st.DNS) > 0 {
		var b strings.Builder
		for _, d := range st.DNS {
			fmt.Fprintf(&b, "nameserver %s\n", d)
		}
		_ = os.MkdirAll("/etc", 0o755)
		if err := os.WriteFile("/etc/resolv.conf", []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("resolv.conf: %w", err)
		}
	}
	return nil
}
