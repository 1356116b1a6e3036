package gateway

import "net/netip"

// publicMedia returns the address our SDP offers for RTP on local socket
// addr: with a STUN server on the port's account, its public address with
// the local port (a NAT that keeps ports maps it there; one that does not
// is covered by the far end's symmetric RTP, as ours covers it).
func (p *port) publicMedia(addr netip.AddrPort) netip.AddrPort {
	if p.g.ua == nil || p.cfg.Account == "" {
		return addr
	}
	if pub := p.g.ua.PublicMediaAddr(p.cfg.Account); pub.IsValid() {
		return netip.AddrPortFrom(pub, addr.Port())
	}
	return addr
}
