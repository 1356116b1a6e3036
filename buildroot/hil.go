package buildroot

// HILTestModules are the extra kernel modules of the qemu-hil test image
// (buildroot/qemutest TestBootHIL): cuse (with fuse) for the chip models'
// spidev devices, and snd-aloop for the PCM highway. Debian's amd64 kernel
// has spidev built in (its bufsiz parameter is what periph.io reads) but
// neither gpio-sim nor gpio-mockup, so the board has no GPIO lines.
var HILTestModules = []string{"cuse", "snd_aloop"}

// HILTestCmds are the helpers of the qemu-hil test image: the chip-model
// server that `loopstart boot` starts before the gateway on that board,
// and the chip probe it runs against it once (tools/hwsmoke).
var HILTestCmds = []string{"./tools/spidevd", "./tools/hwsmoke"}
