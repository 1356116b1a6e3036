package media

import (
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkLoopbackSendWake measures what a loopback sendto(2) costs the
// sending thread when each datagram wakes a receiver blocked on another
// socket — the media loop's case in bench-peers, where every RTP packet
// wakes a baresip — from a thread in the normal class and from one in
// SCHED_FIFO (the loop's). One op is a 10 ms frame of eight ports: some
// work streaming a canceller's worth of memory per port, a packet for
// half of them (20 ms packets), then a sleep to the next frame boundary.
// The metric is the sending thread's CPU time per sendto (ns/op is the
// frame's wall time). On the 2-vCPU KVM guest of round 16 the FIFO
// sender paid 25–29 µs a packet against 22–25 µs in the normal class:
// its wake-ups always go to the other, halted vCPU (an interrupt),
// where a normal sender's may land on its own CPU (docs/PERFORMANCE.md,
// round 16).
func BenchmarkLoopbackSendWake(b *testing.B) {
	for _, fifo := range []bool{false, true} {
		name := "normal"
		if fifo {
			name = "fifo"
		}
		b.Run(name, func(b *testing.B) {
			if fifo {
				if err := realTimeErr(); err != nil {
					b.Skipf("no real-time scheduling here: %v", err)
				}
			}
			benchSendWake(b, fifo)
		})
	}
}

func benchSendWake(b *testing.B, fifo bool) {
	const ports = 8
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if fifo {
		if err := setThreadPolicy(true, 1); err != nil {
			b.Fatal(err)
		}
		defer setThreadPolicy(false, 0)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	dst := make([]unix.Sockaddr, ports)
	var readers sync.WaitGroup
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Shutdown(fd, unix.SHUT_RDWR)
		}
		readers.Wait() // then no reader can read a reused descriptor
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for i := range dst {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		fds = append(fds, fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: lo.As4()}); err != nil {
			b.Fatal(err)
		}
		if dst[i], err = unix.Getsockname(fd); err != nil {
			b.Fatal(err)
		}
		// The receiver: a thread blocked in read(2), as a far end's is;
		// shutdown(2) wakes it with a read of 0 bytes (never a packet
		// here), and the socket is closed once it has gone.
		readers.Go(func() {
			runtime.LockOSThread()
			buf := make([]byte, 2048)
			for {
				n, err := unix.Read(fd, buf)
				if err == unix.EINTR {
					continue
				}
				if err != nil || n == 0 {
					return
				}
			}
		})
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(s)
	pkt := make([]byte, 172) // a 20 ms PCMU packet with SRTP's tag
	work := make([]float32, 8192)
	var cpu time.Duration
	sends := 0
	start := time.Now()
	f := 0
	for b.Loop() {
		for p := range ports {
			for k := range work {
				work[k] = work[k]*0.5 + 1
			}
			if p%2 != f%2 {
				continue
			}
			c0 := threadCPU()
			if err := unix.Sendto(s, pkt, 0, dst[p]); err != nil {
				b.Fatal(err)
			}
			cpu += threadCPU() - c0
			sends++
		}
		f++
		time.Sleep(time.Until(start.Add(time.Duration(f) * 10 * time.Millisecond)))
	}
	if sends > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(sends), "cpu-ns/send")
	}
}

// threadCPU returns the calling thread's CPU time.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
