package sip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// resolveTimeout bounds one name lookup.
const resolveTimeout = 3 * time.Second

// resolver finds the addresses of a SIP server the way RFC 3263 asks
// (without NAPTR): a literal address as it is; a host with a port by its
// A/AAAA records; a host without a port by its SRV records, ordered by
// priority and weight, each then by A/AAAA, and when it has none by its
// own A/AAAA on the transport's default port.
type resolver struct {
	r *net.Resolver
	// rnd picks a weighted SRV record (tests replace it); it returns a
	// number in [0, n).
	rnd func(n int) int
}

// newResolver returns a resolver asking server (host:port, port 53 when
// left out), or the system's resolver when server is "".
func newResolver(server string) (*resolver, error) {
	rs := &resolver{r: net.DefaultResolver, rnd: rand.IntN}
	if server == "" {
		return rs, nil
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	if _, err := netip.ParseAddrPort(server); err != nil {
		return nil, fmt.Errorf("dns server %q: want an IP address and optional port: %w", server, err)
	}
	var d net.Dialer
	rs.r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		// Every query goes to the configured server only.
		return d.DialContext(ctx, network, server)
	}}
	return rs, nil
}

// srvService is the SRV service label for a transport.
func srvService(transport string) (service, proto string) {
	switch transport {
	case "tcp":
		return "sip", "tcp"
	case "tls":
		return "sips", "tcp"
	}
	return "sip", "udp"
}

// defaultPort is the port of a transport when a URI has none.
func defaultPort(transport string) int {
	if transport == "tls" {
		return 5061
	}
	return 5060
}

// resolve returns uri's server addresses for transport, best first.
func (rs *resolver) resolve(ctx context.Context, uri sipmsg.Uri, transport string) ([]netip.AddrPort, error) {
	host := strings.Trim(uri.Host, "[]")
	if ip, err := netip.ParseAddr(host); err == nil {
		port := uri.Port
		if port == 0 {
			port = defaultPort(transport)
		}
		return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(port))}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	if uri.Port != 0 {
		return rs.hostAddrs(ctx, host, uri.Port)
	}
	service, proto := srvService(transport)
	_, srvs, err := rs.r.LookupSRV(ctx, service, proto, host)
	if err != nil || len(srvs) == 0 {
		return rs.hostAddrs(ctx, host, defaultPort(transport))
	}
	var out []netip.AddrPort
	var lastErr error
	for _, s := range orderSRV(srvs, rs.rnd) {
		addrs, err := rs.hostAddrs(ctx, strings.TrimSuffix(s.Target, "."), int(s.Port))
		if err != nil {
			lastErr = err
			continue
		}
		for _, a := range addrs {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resolve %s: no address for any SRV target: %w", host, lastErr)
	}
	return out, nil
}

// hostAddrs looks up host's A and AAAA records, IPv4 first.
func (rs *resolver) hostAddrs(ctx context.Context, host string, port int) ([]netip.AddrPort, error) {
	ips, err := rs.r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		if a.Unmap().Is4() == b.Unmap().Is4() {
			return 0
		}
		if a.Unmap().Is4() {
			return -1
		}
		return 1
	})
	out := make([]netip.AddrPort, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
	}
	return out, nil
}

// orderSRV orders SRV records as RFC 2782 says: by priority, lowest
// first, and within one priority by a weighted random pick, repeated until
// none is left; records of weight 0 are picked only rarely (they go first
// in the running sum, so only a draw of 0 picks them). rnd(n) returns a
// number in [0, n).
func orderSRV(recs []*net.SRV, rnd func(int) int) []*net.SRV {
	sorted := slices.Clone(recs)
	slices.SortStableFunc(sorted, func(a, b *net.SRV) int { return int(a.Priority) - int(b.Priority) })
	out := make([]*net.SRV, 0, len(sorted))
	for len(sorted) > 0 {
		end := 1
		for end < len(sorted) && sorted[end].Priority == sorted[0].Priority {
			end++
		}
		group := slices.Clone(sorted[:end])
		sorted = sorted[end:]
		// Weight-0 records first, as the RFC's running sum wants.
		slices.SortStableFunc(group, func(a, b *net.SRV) int {
			if (a.Weight == 0) == (b.Weight == 0) {
				return 0
			}
			if a.Weight == 0 {
				return -1
			}
			return 1
		})
		for len(group) > 0 {
			total := 0
			for _, r := range group {
				total += int(r.Weight)
			}
			pick := 0
			if total > 0 {
				n := rnd(total + 1)
				sum := 0
				for i, r := range group {
					sum += int(r.Weight)
					if sum >= n {
						pick = i
						break
					}
				}
			}
			out = append(out, group[pick])
			group = slices.Delete(group, pick, pick+1)
		}
	}
	return out
}

// hostPort formats an address for sipgo's SetDestination.
func hostPort(ap netip.AddrPort) string {
	return net.JoinHostPort(ap.Addr().String(), strconv.Itoa(int(ap.Port())))
}
