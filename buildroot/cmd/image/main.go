// Command image builds and boots the bootable images (make image, make qemu).
//
//	go run ./buildroot/cmd/image build -target qemu-amd64 [-out bin/image/qemu-amd64] [-debug] [-modules-extra snd-aloop]
//	go run ./buildroot/cmd/image qemu  -target qemu-amd64 [-https 127.0.0.1:8443] [-http 127.0.0.1:8080] [-sip 127.0.0.1:5060]
//	go run ./buildroot/cmd/image kernel -target qemu-amd64 [-kernel-cache DIR] [-jobs N]
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/loopstart/loopstart/buildroot"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: image build|qemu|kernel -target NAME [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	target := fs.String("target", "qemu-amd64", "target: qemu-amd64, qemu-arm64, nanopi-neo, rpi")
	out := fs.String("out", "", "output directory (default bin/image/TARGET)")
	cache := fs.String("cache", ".cache/image", "cache for kernel packages and tools")
	version := fs.String("version", "dev", "firmware version stamped into loopstart")
	httpsFwd := fs.String("https", "127.0.0.1:8443", "host address forwarded to the guest's web UI on HTTPS (port 443)")
	httpFwd := fs.String("http", "127.0.0.1:8080", "host address forwarded to the guest's port 80 (redirects to HTTPS; the web UI itself with -append loopstart.https=off)")
	sipFwd := fs.String("sip", "127.0.0.1:5060", "host address forwarded to the guest's SIP port (the same port number, UDP and TCP)")
	debug := fs.Bool("debug", false, "build: add a shell (gosh) and a few u-root tools")
	appendArgs := fs.String("append", "", "extra kernel command line (loopstart.* settings)")
	extraMods := fs.String("modules-extra", "", "build: comma-separated kernel modules to add, with their dependencies (snd-aloop for the ALSA self-test: -append loopstart.selftest=pcm)")
	firmware := fs.String("firmware", "", "build, card targets booted by closed firmware (rpi): the directory holding it (bootcode.bin, start.elf, fixup.dat)")
	kcache := fs.String("kernel-cache", "", "kernel: where board kernels are built and kept (default $LOOPSTART_KERNEL_CACHE or ~/.cache/loopstart/kernel)")
	jobs := fs.Int("jobs", 0, "kernel: make -j (default: the number of CPUs)")
	fresh := fs.Bool("fresh", false, "qemu, card targets: start from a new copy of the built card image (else the copy of the last run is booted again)")
	_ = fs.Parse(os.Args[2:])
	t, err := buildroot.Lookup(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(2)
	}
	if *out == "" {
		*out = filepath.Join("bin", "image", t.Name)
	}
	repo, _ := os.Getwd()
	switch os.Args[1] {
	case "build":
		var extra []string
		for _, m := range strings.Split(*extraMods, ",") {
			if m = strings.TrimSpace(m); m != "" {
				extra = append(extra, m)
			}
		}
		bo := buildroot.BuildOptions{Repo: repo, Out: *out, Cache: *cache, Version: *version, Log: os.Stdout, Debug: *debug, ExtraModules: extra,
			Firmware: *firmware}
		build := func() error { _, err := buildroot.Build(t, bo); return err }
		if t.Card != nil {
			build = func() error { _, err := buildroot.BuildCard(t, bo); return err }
		}
		if err := build(); err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
	case "kernel":
		if *kcache == "" {
			if *kcache, err = buildroot.KernelCacheDir(); err != nil {
				fmt.Fprintln(os.Stderr, "image:", err)
				os.Exit(1)
			}
		}
		if _, err := buildroot.BuildBoardKernel(t.Name, buildroot.KernelBuildOptions{Cache: *kcache, Jobs: *jobs, Log: os.Stdout}); err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
	case "qemu":
		if t.Card != nil && t.Card.QEMUBoard == "" {
			fmt.Fprintf(os.Stderr, "image: no QEMU machine boots the %s card as the board does (its boot firmware is closed): flash it\n", t.Name)
			os.Exit(1)
		}
		if t.Card != nil {
			runCard(t, *out, *httpsFwd, *httpFwd, *sipFwd, *appendArgs, *fresh)
		}
		img := buildroot.Paths(t, *out)
		if _, err := os.Stat(img.Initramfs); err != nil {
			fmt.Fprintf(os.Stderr, "image: %v (run make image TARGET=%s)\n", err, t.Name)
			os.Exit(1)
		}
		data := filepath.Join(*out, "data.img")
		if err := buildroot.EnsureDataDisk(data, 64); err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
		// The guest listens for SIP on the host's forwarded port number:
		// user networking NATs the guest to 127.0.0.1, and a registrar on
		// the host answers the Via's port at the address it saw.
		_, sipPort, err := net.SplitHostPort(*sipFwd)
		if err != nil {
			fmt.Fprintf(os.Stderr, "image: -sip %q: %v\n", *sipFwd, err)
			os.Exit(2)
		}
		fwd := []string{"tcp:" + *httpsFwd + "-:443", "tcp:" + *httpFwd + "-:80",
			"udp:" + *sipFwd + "-:" + sipPort, "tcp:" + *sipFwd + "-:" + sipPort}
		args := buildroot.QEMUArgs(buildroot.QEMUOptions{Image: img, Data: data, Forwards: fwd, Serial: "stdio",
			Append: strings.TrimSpace("loopstart.sip=" + sipPort + " " + *appendArgs)})
		// The guest's redirect names its own port 443, not the host's
		// forward: open the HTTPS address directly.
		fmt.Fprintf(os.Stderr, "image: %s %s\nimage: web UI on https://%s (self-signed certificate, made on first boot), "+
			"http://%s (port 80: redirects to the guest's 443; the web UI with -append loopstart.https=off), SIP on %s; Ctrl-A X quits\n",
			t.QEMU, strings.Join(args, " "), *httpsFwd, *httpFwd, *sipFwd)
		bin, err := exec.LookPath(t.QEMU)
		if err != nil {
			fmt.Fprintf(os.Stderr, "image: %v (apt-get install qemu-system-x86 qemu-system-arm)\n", err)
			os.Exit(1)
		}
		err = syscall.Exec(bin, append([]string{t.QEMU}, args...), os.Environ())
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	default:
		fmt.Fprintf(os.Stderr, "image: unknown command %q (build, qemu, kernel)\n", os.Args[1])
		os.Exit(2)
	}
}

// runCard boots a card target's image in QEMU as the board boots its SD
// card: a copy of the image (kept between runs unless fresh or the image
// is newer), U-Boot from the card, user networking with the forwards.
// appendArgs become the boot script's ls_args in the copy's uboot.env.
func runCard(t buildroot.Target, out, httpsFwd, httpFwd, sipFwd, appendArgs string, fresh bool) {
	ci := buildroot.CardPaths(t, out)
	src, err := os.Stat(ci.Raw)
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: %v (run make image TARGET=%s)\n", err, t.Name)
		os.Exit(1)
	}
	sd := filepath.Join(out, "sd.img")
	if cur, err := os.Stat(sd); fresh || err != nil || cur.ModTime().Before(src.ModTime()) {
		if err := buildroot.CopyCard(ci.Raw, sd); err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
	}
	_, sipPort, err := net.SplitHostPort(sipFwd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: -sip %q: %v\n", sipFwd, err)
		os.Exit(2)
	}
	args := strings.TrimSpace(t.Card.QEMUArgs + " loopstart.sip=" + sipPort + " " + appendArgs)
	if err := buildroot.SetCardArgs(sd, args); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fwd := []string{"tcp:" + httpsFwd + "-:443", "tcp:" + httpFwd + "-:80",
		"udp:" + sipFwd + "-:" + sipPort, "tcp:" + sipFwd + "-:" + sipPort}
	qargs := buildroot.CardQEMUArgs(buildroot.CardQEMUOptions{Target: t, Card: sd, Forwards: fwd, Serial: "stdio"})
	fmt.Fprintf(os.Stderr, "image: %s %s\nimage: booting the card image copy %s (U-Boot, then slot A or B); web UI on https://%s, SIP on %s; Ctrl-A X quits\n",
		t.QEMU, strings.Join(qargs, " "), sd, httpsFwd, sipFwd)
	bin, err := exec.LookPath(t.QEMU)
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: %v (apt-get install qemu-system-arm)\n", err)
		os.Exit(1)
	}
	err = syscall.Exec(bin, append([]string{t.QEMU}, qargs...), os.Environ())
	fmt.Fprintln(os.Stderr, "image:", err)
	os.Exit(1)
}
