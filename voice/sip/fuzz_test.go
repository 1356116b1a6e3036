package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeConn stands in for the UA's UDP socket: ReadFrom returns the
// datagrams the test injects, WriteTo hands the UA's datagrams to the test
// (whatever their address, so nothing leaves the process). The real socket
// stays for LocalAddr; closing it, as UA.Close does, ends ReadFrom.
type pipeConn struct {
	net.PacketConn
	in     chan []byte
	out    chan []byte
	closed chan struct{}
}

var pipeSource = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}

func newPipeConn(pc net.PacketConn) *pipeConn {
	c := &pipeConn{PacketConn: pc, in: make(chan []byte), out: make(chan []byte, 64), closed: make(chan struct{})}
	go func() {
		buf := make([]byte, 64)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				close(c.closed)
				return
			}
		}
	}()
	return c
}

func (c *pipeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case m := <-c.in:
		return copy(b, m), pipeSource, nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (c *pipeConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case c.out <- append([]byte(nil), b...):
	default: // the test is not reading: drop, as a network would
	}
	return len(b), nil
}

// FuzzRequestPath feeds arbitrary datagrams into a running UA's UDP path:
// the pre-parse shim, sipgo's parser and transaction layer, the precheck
// and the method handlers (calls are answered 486). After each input the
// UA must still answer an OPTIONS, and everything it sent must parse as a
// SIP response. The seed corpus (testdata/fuzz/FuzzRequestPath) is the
// RFC 4475 torture set.
func FuzzRequestPath(f *testing.F) {
	u, err := New(Config{Listen: "127.0.0.1:0", UserAgent: "Loopstart/fuzz", Logger: testLogger(), Handler: rejecter{},
		Accounts:       []Account{{ID: "1", User: "user"}, {ID: "2", User: "vivekg"}},
		MaxRequestRate: -1, MaxSourceRate: -1})
	if err != nil {
		f.Fatal(err)
	}
	var pipe *pipeConn
	u.wrapUDP = func(pc net.PacketConn) net.PacketConn {
		pipe = newPipeConn(pc)
		return pipe
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		u.Close(ctx)
	})
	var (
		mu sync.Mutex
		n  int
	)
	f.Fuzz(func(t *testing.T, msg []byte) {
		mu.Lock()
		defer mu.Unlock()
		n++
		id := fmt.Sprintf("alive-%d", n)
		alive := "OPTIONS sip:user@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-" + id + "\r\n" +
			"From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:user@127.0.0.1>\r\nCall-ID: " + id + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		deadline := time.After(5 * time.Second)
		for _, m := range [][]byte{msg, []byte(alive)} {
			select {
			case pipe.in <- m:
			case <-deadline:
				t.Fatalf("the UA stopped reading its socket")
			}
		}
		for {
			select {
			case b := <-pipe.out:
				// Answers copy the request's Via, From, To, Call-ID and
				// CSeq, malformed or not: only the status line is ours.
				line, _, _ := bytes.Cut(b, []byte("\r\n"))
				f := strings.Fields(string(line))
				if len(f) < 2 || len(f[1]) != 3 || f[1] < "100" || f[1] > "699" {
					t.Fatalf("the UA sent what is not a response:\n%q", b)
				}
				if f[1] == "200" && bytes.Contains(b, []byte("\r\nCall-ID: "+id+"\r\n")) {
					return
				}
			case <-deadline:
				t.Fatalf("no answer to an OPTIONS after the input")
			}
		}
	})
}
