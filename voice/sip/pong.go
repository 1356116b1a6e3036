package sip

import (
	"bytes"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// CRLF pongs (RFC 5626 4.4.1). A CRLF ping that is written proves only
// that the local socket took it: a flow through a NAT or firewall that
// forgot it, or a registrar that died without a reset, keeps taking
// writes until TCP gives up many minutes later. The registrar answers a
// ping ("\r\n\r\n") with a pong ("\r\n"); a flow whose registrar has
// answered pongs before and then sends nothing at all for pongWait after a
// ping is failed: the connection is closed and the registration made
// again on a new one. A registrar that never pongs is not judged by its
// silence.

// pongWait is how long a ping may go unanswered (RFC 5626 4.4.1: 10 s).
const pongWait = 10 * time.Second

// pongLog records, per watched stream connection (a registration's,
// while it waits on it), when it last delivered a pong and when it last
// delivered anything. Reads from other connections (callers, strangers,
// a flood over TCP) are not recorded, so the log stays as small as the
// number of registrations.
type pongLog struct {
	mu   sync.Mutex
	last map[string]*flowHeard // watched remote address -> what was read last
}

// flowHeard is when a connection last delivered a pong and anything, and
// how many watchers it has.
type flowHeard struct {
	pong, any time.Time
	watchers  int
}

// watch starts recording reads from remote; unwatch undoes it.
func (p *pongLog) watch(remote string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = make(map[string]*flowHeard)
	}
	h := p.last[remote]
	if h == nil {
		h = &flowHeard{}
		p.last[remote] = h
	}
	h.watchers++
}

// unwatch stops one watcher of remote; the record goes with the last.
func (p *pongLog) unwatch(remote string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h := p.last[remote]; h != nil {
		if h.watchers--; h.watchers <= 0 {
			delete(p.last, remote)
		}
	}
}

// heard records a read from remote at now, a pong or not, when remote is
// watched.
func (p *pongLog) heard(remote string, pong bool, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.last[remote]
	if h == nil {
		return
	}
	h.any = now
	if pong {
		h.pong = now
	}
}

// since reports whether remote sent a pong, and whether it sent anything,
// after t.
func (p *pongLog) since(remote string, t time.Time) (pong, any bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.last[remote]
	if h == nil {
		return false, false
	}
	return h.pong.After(t), h.any.After(t)
}

// isPong reports whether one read of a stream is a pong: a lone CRLF.
// sipgo's stream reader swallows it before any parser sees it. A CRLF
// that ends a line of a message split across reads looks the same, and a
// pong read together with the next message does not; what any read
// proves, that the flow is alive, is counted for both.
func isPong(data []byte) bool {
	return len(data) == 2 && bytes.Equal(data, []byte("\r\n"))
}

// notePong records a read from a stream connection.
func (u *UA) notePong(p sipmsg.TransportReadProps, data []byte) {
	if len(data) == 0 || p.RemoteAddr == nil || strings.EqualFold(p.Transport, "udp") {
		return
	}
	u.pongs.heard(p.RemoteAddr.String(), isPong(data), time.Now())
}

// flowCheck follows the pings of one registration's connection.
type flowCheck struct {
	wait    time.Duration
	pinged  time.Time // the oldest ping not yet answered; zero: none
	answers bool      // the registrar has answered a ping on this flow
}

// sent notes a ping written at now.
func (f *flowCheck) sent(now time.Time) {
	if f.pinged.IsZero() {
		f.pinged = now
	}
}

// failed reports, at now, whether the flow to remote has failed: its
// registrar answers pings and has left one unanswered for f.wait.
func (f *flowCheck) failed(p *pongLog, remote string, now time.Time) bool {
	if f.pinged.IsZero() {
		return false
	}
	if pong, any := p.since(remote, f.pinged); any {
		// The flow is alive; only a pong proves the registrar answers
		// pings at all.
		f.answers = f.answers || pong
		f.pinged = time.Time{}
		return false
	}
	if now.Sub(f.pinged) < f.wait {
		return false
	}
	f.pinged = time.Time{}
	return f.answers
}

// dropConn hard-closes the stream connection to addr, so that the next
// request opens a new one.
func (u *UA) dropConn(transport, addr string) {
	pool := u.sua.TransportLayer().Pool(transport)
	if pool == nil || addr == "" {
		return
	}
	if c := pool.Get(addr); c != nil {
		_ = c.Close() // a hard close, whatever references remain
	}
}
