package provision

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/update"
)

const fwTarget = "sim/amd64"

func fwStore(t *testing.T) (*update.Store, func(version string, tamper bool) string) {
	t.Helper()
	pub, err := update.ReadPublicKeyFile("../update/testdata/test.pub")
	if err != nil {
		t.Fatal(err)
	}
	priv, err := update.ReadPrivateKeyFile("../update/testdata/test.key")
	if err != nil {
		t.Fatal(err)
	}
	s, err := update.Open(update.StoreOptions{Dir: filepath.Join(t.TempDir(), "fw"), Keys: update.Keys{pub},
		Target: fwTarget, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(version string, tamper bool) string {
		img, err := update.Sign(priv, version, fwTarget, time.Now(), bytes.Repeat([]byte(version), 50_000))
		if err != nil {
			t.Fatal(err)
		}
		if tamper {
			img[len(img)-5] ^= 1
		}
		return string(img)
	}
	return s, mk
}

// installer is the Options.Firmware of the gateway in miniature: the
// running version is not installed again.
func installer(s *update.Store, running string) func(context.Context, io.Reader) error {
	return func(ctx context.Context, r io.Reader) error {
		_, err := s.Install(ctx, r, update.InstallOptions{Accept: func(m *update.Manifest) error {
			if m.Version == running {
				return fmt.Errorf("%w: %s runs", ErrFirmwareCurrent, m.Version)
			}
			return nil
		}})
		return err
	}
}

// TestFirmwareURL provisions a <firmware><url> over HTTPS: a signed image
// is installed, the running version is left alone, a tampered image is
// refused with the reason and nothing is written.
func TestFirmwareURL(t *testing.T) {
	fw, mk := fwStore(t)
	files := map[string]string{
		"/prov/loopstart.xml":             `<loopstart><firmware><url>SRV/fw/loopstart-$MODEL.img</url></firmware></loopstart>`,
		"/fw/loopstart-loopstart-sim.img": mk("2.0", false),
	}
	srv := fileServer(t, files, "", "")
	files["/prov/loopstart.xml"] = strings.Replace(files["/prov/loopstart.xml"], "SRV", srv.URL, 1)
	st := &store{cur: baseConfig(t)}
	p := newProv(t, st, srv.URL+"/prov/", roots(srv))
	p.opts.Firmware = installer(fw, "1.0")

	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := p.Status(); !strings.HasPrefix(s.Firmware, "installed") || s.FirmwareURL != srv.URL+"/fw/loopstart-loopstart-sim.img" {
		t.Fatalf("status %+v", s)
	}
	if stt, _ := fw.State(); stt.Slots[update.SlotA] == nil || stt.Slots[update.SlotA].Version != "2.0" {
		t.Fatalf("slot a: %+v", stt.Slots)
	}

	p.opts.Firmware = installer(fw, "2.0")
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := p.Status(); !strings.Contains(s.Firmware, "up to date") {
		t.Fatalf("status %+v", s)
	}

	files["/fw/loopstart-loopstart-sim.img"] = mk("3.0", true)
	before, _ := os.ReadFile(fw.SlotPath(update.SlotB) + ".manifest")
	p.opts.Firmware = installer(fw, "2.0")
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := p.Status(); !strings.Contains(s.Firmware, "not installed") || !strings.Contains(s.Firmware, "payload") {
		t.Fatalf("status %+v", s)
	}
	if after, _ := os.ReadFile(fw.SlotPath(update.SlotB) + ".manifest"); !bytes.Equal(before, after) {
		t.Error("a tampered image changed slot b")
	}

	delete(files, "/fw/loopstart-loopstart-sim.img")
	p.Sync(context.Background())
	if s := p.Status(); !strings.Contains(s.Firmware, "file not found") {
		t.Fatalf("status %+v", s)
	}
}
