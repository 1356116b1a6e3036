package media

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// epollWatched returns the descriptors in any epoll set of this process
// (/proc/self/fdinfo's "tfd:" lines of each eventpoll descriptor).
func epollWatched(t *testing.T) map[int]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	watched := map[int]bool{}
	for _, e := range ents {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || link != "anon_inode:[eventpoll]" {
			continue
		}
		f, err := os.Open("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) >= 2 && fs[0] == "tfd:" {
				if n, err := strconv.Atoi(fs[1]); err == nil {
					watched[n] = true
				}
			}
		}
		f.Close()
	}
	return watched
}

// fdOf returns the descriptor behind a socket.
func fdOf(t *testing.T, c interface {
	SyscallConn() (syscall.RawConn, error)
}) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	_ = rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

func TestPolledSocketOutsideRuntimePoller(t *testing.T) {
	s, err := NewStream(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.poll == nil {
		t.Fatal("the default stream is not polled")
	}
	rtpFD, rtcpFD := fdOf(t, s.conn), fdOf(t, s.rtcpConn)
	w := epollWatched(t)
	if !w[rtcpFD] {
		t.Fatalf("the RTCP socket (fd %d) is not in the runtime's epoll set %v: the check sees nothing", rtcpFD, w)
	}
	if w[rtpFD] {
		t.Fatalf("the polled RTP socket (fd %d) is in the runtime's epoll set: every packet wakes a thread", rtpFD)
	}

	r, err := NewStreamWith(netip.MustParseAddrPort("127.0.0.1:0"), StreamOpts{Reader: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !epollWatched(t)[fdOf(t, r.conn)] {
		t.Fatal("a reader stream's socket is not in the runtime's poller")
	}
}

func TestRawUDP(t *testing.T) {
	cases := []struct {
		name, bind, peer string
	}{
		{"ipv4", "127.0.0.1:0", "127.0.0.1:0"},
		{"wildcard, ipv4 peer", "0.0.0.0:0", "127.0.0.1:0"},
		{"unspecified, ipv4 peer", ":0", "127.0.0.1:0"},
		{"ipv6", "[::1]:0", "[::1]:0"},
		{"ipv6 wildcard, ipv6 peer", "[::]:0", "[::1]:0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bind, err := netip.ParseAddrPort(tc.bind)
			if err != nil {
				bind = netip.AddrPortFrom(netip.Addr{}, 0)
			}
			c, err := listenRaw(bind)
			if err != nil {
				if strings.Contains(tc.bind, "::") {
					t.Skip("no IPv6:", err)
				}
				t.Fatal(err)
			}
			peer, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(tc.peer)))
			if err != nil {
				c.Close()
				t.Skip("peer:", err)
			}
			defer peer.Close()
			local := c.LocalAddr().(*net.UDPAddr).AddrPort()
			if local.Port() == 0 {
				t.Fatalf("bound to %v", local)
			}
			// Out: raw → peer.
			if _, err := c.WriteToUDPAddrPort([]byte("hello"), peer.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
				t.Fatal("send:", err)
			}
			var buf [64]byte
			_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := peer.ReadFromUDPAddrPort(buf[:])
			if err != nil || string(buf[:n]) != "hello" {
				t.Fatalf("peer read %q, %v", buf[:n], err)
			}
			if from.Port() != local.Port() {
				t.Fatalf("from %v, bound %v", from, local)
			}
			// In: peer → raw, read without waiting, as a poll does.
			to := netip.AddrPortFrom(from.Addr().Unmap(), local.Port())
			if _, err := peer.WriteToUDPAddrPort([]byte("back"), to); err != nil {
				t.Fatal(err)
			}
			rc, _ := c.SyscallConn()
			var got string
			for deadline := time.Now().Add(5 * time.Second); got == "" && time.Now().Before(deadline); {
				_ = rc.Read(func(fd uintptr) bool {
					var b [64]byte
					if n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_DONTWAIT); err == nil {
						got = string(b[:n])
					}
					return true
				})
				time.Sleep(time.Millisecond)
			}
			if got != "back" {
				t.Fatalf("raw socket read %q", got)
			}
			// Closed: every use says so, once.
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := c.WriteToUDPAddrPort([]byte("x"), to); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("send after Close: %v", err)
			}
			if err := rc.Read(func(uintptr) bool { panic("read after Close") }); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("read after Close: %v", err)
			}
		})
	}
}

// TestRawUDPBindError: a port in use is refused as net.ListenUDP refuses it.
func TestRawUDPBindError(t *testing.T) {
	taken, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = listenRaw(taken.LocalAddr().(*net.UDPAddr).AddrPort())
	var op *net.OpError
	if !errors.As(err, &op) || !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("bind to a taken port: %v", err)
	}
}
