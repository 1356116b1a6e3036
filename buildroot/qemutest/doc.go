// Package qemutest boots the images in QEMU (software emulation, no KVM)
// and drives them from the host: the web UI through forwarded ports (HTTPS
// with the guest's self-signed certificate pinned on first use; port 80,
// which only redirects), the registrar (Kamailio on the host, 10.0.2.2
// from the guest), and the test-only hooks of `loopstart boot`
// (loopstart.testhooks=1) to kill or freeze the gateway. The tests live in
// boot_test.go; make test runs the amd64 one, make test-arm64 the arm64 one.
package qemutest
