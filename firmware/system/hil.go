package system

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// HILBoard is the board whose chips a helper in the image serves
// (board.QEMUHIL): `loopstart boot` starts HILHelper before the gateway.
const HILBoard = "qemu-hil"

// HILHelper is the chip-model server of the qemu-hil test image
// (tools/spidevd), next to the loopstart binary.
const HILHelper = "spidevd"

// HILSmoke is the chip probe (tools/hwsmoke) a qemu-hil test image may
// carry: `loopstart boot` runs it once the devices are served, before the
// gateway, as a person with a real board would.
const HILSmoke = "hwsmoke"

// HILReadyFile is where the helper lists its device nodes once they exist.
const HILReadyFile = "/run/spidevd.ready"

// hilTimeout bounds the wait for the helper's device nodes.
const hilTimeout = 30 * time.Second

// DeviceTreeCompatible is the device tree's compatible property.
const DeviceTreeCompatible = "/proc/device-tree/compatible"

// compatibleBoards maps device-tree compatible strings (an exact string,
// or a vendor prefix ending in ",") to the board definition `loopstart
// run` gets when the command line names none. The most specific entry of
// the first compatible string that matches wins. Only boards that
// `board.Definitions` has belong here: a name `loopstart run` does not
// know would stop the gateway at every start. Only the NanoPi NEO itself
// ("friendlyarm,nanopi-neo"): its siblings (NEO Air, NEO2, ...) have other
// headers.
var compatibleBoards = []struct{ compatible, board string }{
	{"raspberrypi,", "rpi-tdm400"},
	{"friendlyarm,nanopi-neo", "nanopi-neo"},
}

// BoardForCompatible returns the board for a device tree's compatible
// strings (most specific first, as the property lists them), or "" when
// none is known.
func BoardForCompatible(compat []string) string {
	for _, c := range compat {
		for _, e := range compatibleBoards {
			if c == e.compatible || strings.HasSuffix(e.compatible, ",") && strings.HasPrefix(c, e.compatible) {
				return e.board
			}
		}
	}
	return ""
}

// ParseCompatible splits the compatible property (NUL-terminated strings).
func ParseCompatible(b []byte) []string {
	var out []string
	for _, s := range bytes.Split(b, []byte{0}) {
		if len(s) > 0 {
			out = append(out, string(s))
		}
	}
	return out
}

// boardOnCmdline reports whether the command line names a board.
func boardOnCmdline(cmdline string) bool {
	for _, f := range strings.Fields(cmdline) {
		if strings.HasPrefix(f, "loopstart.board=") {
			return true
		}
	}
	return false
}

// pickBoard chooses the board: loopstart.board= on the command line, else
// the device tree's compatible (read from dtPath, absent on x86), else
// the default. loopstart.fxs/loopstart.fxo size a model board: with
// either, the device tree's real board is not taken (`loopstart run`
// refuses to size a board of real chips, and the gateway would fail at
// every start).
func (b *booter) pickBoard(cmdline, dtPath string) {
	if boardOnCmdline(cmdline) {
		return
	}
	if b.set.FXS > 0 || b.set.FXO > 0 {
		b.log.Info("model board sized on the command line; device tree not consulted", "board", b.set.Board, "fxs", b.set.FXS, "fxo", b.set.FXO)
		return
	}
	raw, err := os.ReadFile(dtPath)
	if err != nil {
		return // no device tree: the image's default
	}
	compat := ParseCompatible(raw)
	if name := BoardForCompatible(compat); name != "" {
		b.set.Board = name
		b.log.Info("board from the device tree", "board", name, "compatible", compat)
		return
	}
	b.log.Info("no board for the device tree; default board", "board", b.set.Board, "compatible", compat)
}

// startHIL starts the qemu-hil image's chip-model server when the board
// is qemu-hil, and waits for its device nodes so that periph.io, which
// lists /dev/spidev* once, finds them when the gateway starts.
func (b *booter) startHIL(ctx context.Context) {
	if b.set.Board != HILBoard {
		return
	}
	bin := filepath.Join(filepath.Dir(b.o.Binary), HILHelper)
	if _, err := os.Stat(bin); err != nil {
		b.problem(fmt.Errorf("board %s needs %s (a test image's chip-model server): %w", HILBoard, bin, err))
		return
	}
	_ = os.Remove(HILReadyFile)
	cmd := exec.CommandContext(ctx, bin, "-board", HILBoard, "-ready", HILReadyFile)
	cmd.Stdout, cmd.Stderr = b.childOut, b.childOut
	if err := cmd.Start(); err != nil {
		b.problem(fmt.Errorf("start %s: %w", bin, err))
		return
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(hilTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			b.problem(fmt.Errorf("%s exited before its devices were ready: %v", bin, err))
			return
		case <-deadline.C:
			b.problem(fmt.Errorf("%s: no devices after %v", bin, hilTimeout))
			return
		case <-tick.C:
			if devs, err := os.ReadFile(HILReadyFile); err == nil {
				b.log.Info("chip models served", "helper", bin, "devices", strings.Fields(string(devs)), "ms", time.Since(b.t0).Milliseconds())
				go func() {
					if err := <-exited; err != nil {
						b.problem(fmt.Errorf("%s exited: %w", bin, err))
					}
				}()
				b.runHWSmoke(ctx)
				return
			}
		}
	}
}

// runHWSmoke runs the image's hwsmoke, when it has one, against the
// served chips: its trace goes to the console.
func (b *booter) runHWSmoke(ctx context.Context) {
	bin := filepath.Join(filepath.Dir(b.o.Binary), HILSmoke)
	if _, err := os.Stat(bin); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, hilTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--board", HILBoard)
	cmd.Stdout, cmd.Stderr = b.childOut, b.childOut
	if err := cmd.Run(); err != nil {
		b.problem(fmt.Errorf("%s --board %s: %w", bin, HILBoard, err))
	}
}

// CompatibleBoardNames lists the boards a device tree can choose, for a
// check that `loopstart run` knows each of them.
func CompatibleBoardNames() []string {
	out := make([]string, 0, len(compatibleBoards))
	for _, e := range compatibleBoards {
		out = append(out, e.board)
	}
	return out
}
