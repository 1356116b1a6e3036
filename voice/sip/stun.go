package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/pion/stun/v3"
)

// STUN (RFC 5389) discovery of the public address media is offered at.

const (
	stunRefresh = 5 * time.Minute  // ask again after a success
	stunRetry   = 30 * time.Second // ask again after a failure
	stunTries   = 4                // binding requests per query, 250 ms doubling
)

// stunState holds each account's public media address.
type stunState struct {
	mu     sync.Mutex
	public map[string]netip.Addr // account ID → address
}

// PublicMediaAddr returns the public address the account's STUN server
// last saw, for the c= line of the SDP; invalid without a STUN server or
// before the first answer.
func (u *UA) PublicMediaAddr(accountID string) netip.Addr {
	u.stun.mu.Lock()
	defer u.stun.mu.Unlock()
	return u.stun.public[accountID]
}

// startSTUN starts one discovery loop per account with a STUN server.
func (u *UA) startSTUN(ctx context.Context) {
	for _, a := range u.accounts {
		if a.STUN == "" {
			continue
		}
		u.loops.Add(1)
		go func() {
			defer u.loops.Done()
			u.stunLoop(ctx, a)
		}()
	}
}

func (u *UA) stunLoop(ctx context.Context, a *Account) {
	logged := ""
	for {
		wait := stunRefresh
		ip, err := u.stunQuery(ctx, a.STUN)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			wait = stunRetry
			if msg := err.Error(); msg != logged {
				logged = msg
				u.log.Warn("sip stun query failed", "account", a.ID, "server", a.STUN, "error", err)
			}
		} else {
			logged = ""
			u.stun.mu.Lock()
			if u.stun.public == nil {
				u.stun.public = map[string]netip.Addr{}
			}
			if u.stun.public[a.ID] != ip {
				u.log.Info("sip stun public address", "account", a.ID, "address", ip.String())
			}
			u.stun.public[a.ID] = ip
			u.stun.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-u.subAfter(wait):
		}
	}
}

// stunQuery resolves server and asks it for our mapped address.
func (u *UA) stunQuery(ctx context.Context, server string) (netip.Addr, error) {
	host, ps, err := net.SplitHostPort(server)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("stun server %q: %w", server, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port <= 0 || port > 65535 {
		return netip.Addr{}, fmt.Errorf("stun server %q: bad port", server)
	}
	addrs, err := u.res.resolve(ctx, sipmsg.Uri{Host: host, Port: port}, "udp")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("stun server: %w", err)
	}
	var errs []error
	for _, ap := range addrs {
		ip, err := stunBinding(ctx, ap)
		if err == nil {
			return ip, nil
		}
		errs = append(errs, err)
	}
	return netip.Addr{}, errors.Join(errs...)
}

// stunBinding sends binding requests to server (retransmitted, 250 ms
// doubling) and returns the mapped address of the first matching answer.
func stunBinding(ctx context.Context, server netip.AddrPort) (netip.Addr, error) {
	network := "udp4"
	if server.Addr().Is6() {
		network = "udp6"
	}
	c, err := net.ListenUDP(network, nil)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("stun: %w", err)
	}
	defer c.Close()
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("stun: %w", err)
	}
	buf := make([]byte, 1500)
	wait := 250 * time.Millisecond
	for range stunTries {
		if _, err := c.WriteToUDPAddrPort(req.Raw, server); err != nil {
			return netip.Addr{}, fmt.Errorf("stun to %s: %w", server, err)
		}
		deadline := time.Now().Add(wait)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = c.SetReadDeadline(deadline)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				break // timeout: send again
			}
			if from.Addr().Unmap() != server.Addr().Unmap() || from.Port() != server.Port() {
				continue
			}
			ip, err := parseBindingResponse(buf[:n], req.TransactionID)
			if err != nil {
				continue
			}
			return ip, nil
		}
		if ctx.Err() != nil {
			return netip.Addr{}, ctx.Err()
		}
		wait *= 2
	}
	return netip.Addr{}, fmt.Errorf("stun: no answer from %s", server)
}

// parseBindingResponse decodes a binding success response to transaction
// id and returns its (XOR-)mapped address.
func parseBindingResponse(b []byte, id [stun.TransactionIDSize]byte) (netip.Addr, error) {
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil {
		return netip.Addr{}, fmt.Errorf("stun: %w", err)
	}
	if m.TransactionID != id {
		return netip.Addr{}, errors.New("stun: answer to another transaction")
	}
	if m.Type != stun.BindingSuccess {
		return netip.Addr{}, fmt.Errorf("stun: unexpected %s", m.Type)
	}
	if m.Contains(stun.AttrFingerprint) {
		if err := stun.Fingerprint.Check(m); err != nil {
			return netip.Addr{}, fmt.Errorf("stun: %w", err)
		}
	}
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(m); err == nil {
		if ip, ok := netip.AddrFromSlice(xor.IP); ok {
			return ip.Unmap(), nil
		}
	}
	var mapped stun.MappedAddress
	if err := mapped.GetFrom(m); err == nil {
		if ip, ok := netip.AddrFromSlice(mapped.IP); ok {
			return ip.Unmap(), nil
		}
	}
	return netip.Addr{}, errors.New("stun: answer without a mapped address")
}
