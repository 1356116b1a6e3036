// Package system is the PID-1 side of the firmware on a real or emulated
// board (`loopstart boot`, started by Init — loopstart itself as the
// image's /init — or by u-root's init in a debug image): it mounts
// the kernel file systems, loads the kernel modules the image ships in
// dependency order, brings up the network (DHCP with the provisioning
// options, or a static address), sets the clock (SNTP), mounts the
// persistent data partition (formatting a blank one as ext4 on first boot,
// FormatExt4),
// starts `loopstart run` and supervises it (restart with back-off, last crash
// reason kept in DATA/last-crash.txt), pets the hardware watchdog only while
// the media loop makes progress, forwards logs to a remote syslog server when
// one is configured, and reboots or powers off with a clean unmount.
//
// Nothing here runs on a development machine except the pure parts (kernel
// command line, DHCP option store, file system probe, supervisor, health
// check), which the tests drive with injected clocks and fake processes.
package system
