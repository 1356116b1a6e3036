package system

import (
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux watchdog ioctls (linux/watchdog.h).
const (
	wdiocSetTimeout = 0xC0045706 // _IOWR('W', 6, int)
	wdiocKeepAlive  = 0x80045705 // _IOR('W', 5, int)
)

// Watchdog is an open hardware watchdog: once open, the board resets
// unless Pet is called within the timeout.
type Watchdog struct {
	f       *os.File
	Timeout time.Duration
}

// OpenWatchdog opens dev and programs timeout (the driver may round it;
// Timeout reports what it took).
func OpenWatchdog(dev string, timeout time.Duration) (*Watchdog, error) {
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	secs := int32(timeout / time.Second)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), wdiocSetTimeout, uintptr(unsafe.Pointer(&secs))); errno != 0 {
		// Keep the driver's default timeout rather than run unguarded.
		secs = 0
	}
	w := &Watchdog{f: f, Timeout: time.Duration(secs) * time.Second}
	return w, w.Pet()
}

// Pet restarts the watchdog's countdown.
func (w *Watchdog) Pet() error {
	var dummy int32
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, w.f.Fd(), wdiocKeepAlive, uintptr(unsafe.Pointer(&dummy))); errno != 0 {
		if _, err := w.f.Write([]byte{0}); err != nil {
			return fmt.Errorf("watchdog pet: %w", err)
		}
	}
	return nil
}

// Disarm stops the watchdog with the magic close ('V'), for a clean
// power-off. Drivers built with nowayout ignore it.
func (w *Watchdog) Disarm() error {
	_, _ = w.f.Write([]byte("V"))
	return w.f.Close()
}
