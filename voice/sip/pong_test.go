package sip

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestFlowCheck(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const remote = "192.0.2.1:5060"
	type step struct {
		at     time.Duration // since t0
		ping   bool          // a ping is written at this step
		pong   bool          // a pong arrives just before this step
		other  bool          // a message (no pong) arrives just before this step
		failed bool          // what failed reports at this step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"answered pings never fail", []step{
			{at: 0, ping: true}, {at: time.Second, pong: true}, {at: 25 * time.Second, ping: true},
			{at: 26 * time.Second, pong: true}, {at: 40 * time.Second}}},
		{"a registrar that never pongs is not judged", []step{
			{at: 0, ping: true}, {at: 11 * time.Second}, {at: 25 * time.Second, ping: true}, {at: 40 * time.Second}}},
		{"silence after answers fails after the wait", []step{
			{at: 0, ping: true}, {at: time.Second, pong: true}, {at: 25 * time.Second, ping: true},
			{at: 30 * time.Second}, {at: 35 * time.Second, failed: true}}},
		{"a message read instead of the pong keeps the flow", []step{
			{at: 0, ping: true}, {at: time.Second, pong: true}, {at: 25 * time.Second, ping: true},
			{at: 26 * time.Second, other: true}, {at: 40 * time.Second}}},
		{"messages alone do not teach that pongs come", []step{
			{at: 0, ping: true}, {at: time.Second, other: true}, {at: 25 * time.Second, ping: true},
			{at: 40 * time.Second}}},
		{"the oldest unanswered ping counts", []step{
			{at: 0, ping: true}, {at: time.Second, pong: true}, {at: 2 * time.Second, ping: true},
			{at: 7 * time.Second, ping: true}, {at: 12 * time.Second, failed: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log pongLog
			log.watch(remote)
			f := flowCheck{wait: pongWait}
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				if s.pong || s.other {
					log.heard(remote, s.pong, now.Add(-time.Millisecond))
				}
				if got := f.failed(&log, remote, now); got != s.failed {
					t.Fatalf("step %d (%v): failed = %v, want %v", i, s.at, got, s.failed)
				}
				if s.ping {
					f.sent(now)
				}
			}
		})
	}
}

func TestNotePong(t *testing.T) {
	tcp := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
	tests := []struct {
		transport string
		data      string
		remote    net.Addr
		pong, any bool
	}{
		{"TCP", "\r\n", tcp, true, true},
		{"TLS", "\r\n", tcp, true, true},
		{"UDP", "\r\n", tcp, false, false},
		{"TCP", "\r\n\r\n", tcp, false, true}, // a ping, not a pong
		{"TCP", "SIP/2.0 200 OK\r\n", tcp, false, true},
		{"TCP", "\r\n", nil, false, false},
		{"TCP", "", tcp, false, false},
	}
	for _, tt := range tests {
		u := &UA{}
		u.pongs.watch(tcp.String())
		p := sipmsg.TransportReadProps{Transport: tt.transport}
		if tt.remote != nil {
			p.RemoteAddr = tt.remote
		}
		before := time.Now().Add(-time.Second)
		u.notePong(p, []byte(tt.data))
		if pong, any := u.pongs.since(tcp.String(), before); pong != tt.pong || any != tt.any {
			t.Errorf("%s %q: pong %v, any %v; want %v, %v", tt.transport, tt.data, pong, any, tt.pong, tt.any)
		}
	}
}

// TestPongLogWatched: only watched connections are recorded, and a
// record goes with its last watcher (a flood of connections leaves
// nothing behind).
func TestPongLogWatched(t *testing.T) {
	var log pongLog
	now := time.Unix(1000, 0)
	log.heard("192.0.2.9:5060", true, now)
	if pong, any := log.since("192.0.2.9:5060", now.Add(-time.Second)); pong || any || len(log.last) != 0 {
		t.Fatalf("an unwatched connection was recorded: %v %v %d", pong, any, len(log.last))
	}
	log.watch("192.0.2.1:5060")
	log.watch("192.0.2.1:5060")
	log.heard("192.0.2.1:5060", true, now)
	log.unwatch("192.0.2.1:5060")
	if pong, _ := log.since("192.0.2.1:5060", now.Add(-time.Second)); !pong {
		t.Errorf("the record went while a watcher remained")
	}
	log.unwatch("192.0.2.1:5060")
	if len(log.last) != 0 {
		t.Errorf("%d records after the last watcher left", len(log.last))
	}
}

// muteListener hands out connections that can go silent: once muted, a
// connection swallows what the client sends (as a NAT that forgot the
// flow would) while the client's writes still succeed.
type muteListener struct {
	net.Listener
	mu       sync.Mutex
	conns    []*muteConn
	accepted atomic.Int32
}

func (l *muteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	mc := &muteConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, mc)
	l.mu.Unlock()
	l.accepted.Add(1)
	return mc, nil
}

func (l *muteListener) muteAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.muted.Store(true)
	}
}

type muteConn struct {
	net.Conn
	muted atomic.Bool
}

func (c *muteConn) Read(b []byte) (int, error) {
	for {
		n, err := c.Conn.Read(b)
		if err != nil || !c.muted.Load() {
			return n, err
		}
	}
}

// TestPongLossReconnects: over TCP, a registrar that answered CRLF pings
// and then falls silent (its flow dropped somewhere, our writes still
// succeeding) is taken for lost after the pong wait: the connection is
// closed and the registration made again on a new one.
func TestPongLossReconnects(t *testing.T) {
	var ml *muteListener
	addr, registers := startTCPRegistrar(t, func(ln net.Listener) net.Listener {
		ml = &muteListener{Listener: ln}
		return ml
	})
	u, err := New(Config{Listen: "127.0.0.1:0", Logger: testLogger(), Accounts: []Account{{ID: "1", User: "1001",
		Registrar: "sip:" + addr + ";transport=tcp", Expires: 600 * time.Second, KeepAlive: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	u.pongWait = 2 * time.Second
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer closeUA(t, u)
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v (registrations %+v, connections %d, REGISTERs %d)",
					what, d, u.Registrations(), ml.accepted.Load(), registers.Load())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("registered", 10*time.Second, func() bool { return u.Registrations()[0].State == RegRegistered })
	// Let a ping or two be answered, so that the flow is known to pong.
	time.Sleep(2500 * time.Millisecond)
	if n := ml.accepted.Load(); n != 1 {
		t.Fatalf("%d connections while the registrar answered, want 1", n)
	}
	ml.muteAll()
	waitFor("a new connection after the pongs stopped", 20*time.Second, func() bool { return ml.accepted.Load() >= 2 })
	waitFor("registered again", 10*time.Second, func() bool {
		return registers.Load() >= 2 && u.Registrations()[0].State == RegRegistered
	})
}
