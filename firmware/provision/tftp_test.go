package provision

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/tools/lab"
)

// TestSyncTFTP provisions from a real tftpd-hpa on loopback: the MAC file
// wins over the generic one, a file that is not there falls through, and
// a bad file or a dead server keeps the old config with the reason.
func TestSyncTFTP(t *testing.T) {
	lab.Need(t, "in.tftpd")
	dir, err := os.MkdirTemp("", "loopstart-tftp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for name, body := range map[string]string{
		"loopstart-000b82abcdef.xml": `<loopstart><account id="1"><user>3001</user></account></loopstart>`,
		"loopstart.xml":              `<loopstart><account id="1"><user>9999</user></account></loopstart>`,
		"bad/loopstart.xml":          `<loopstart><account id="1"><user>3001`,
		"invalid/loopstart.xml":      `<loopstart><port n="1"><country>atlantis</country></port></loopstart>`,
		"fw.img":                     strings.Repeat("0123456789abcdef", 20_000), // streamed by Open
		"big.xml":                    strings.Repeat("b", MaxFile+1),             // too big for Fetch
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, "bad"), 0o755)
	os.Chmod(filepath.Join(dir, "invalid"), 0o755)
	runAs := "nobody"
	if u, err := user.Current(); err == nil && u.Uid != "0" {
		runAs = u.Username
	}
	port := lab.FreePort(t, 1)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	lab.Start(t, t.TempDir(), "in.tftpd", "--foreground", "--listen", "--address", addr, "--secure", "--user", runAs, dir)
	base := "tftp://" + addr + "/"

	st := &store{cur: baseConfig(t)}
	newP := func(u string) *Provisioner {
		st.cur.Provisioning = &config.Provisioning{URL: u, Interval: 3600}
		return New(Options{Identity: testID, Current: st.Current, Apply: st.Apply,
			Fetcher: &Fetcher{Timeout: 3 * time.Second}, Logger: slog.New(slog.DiscardHandler)})
	}
	lab.Eventually(t, 5*time.Second, "tftpd serves", func() error {
		u, _ := url.Parse(base + "loopstart.xml")
		_, err := (&Fetcher{Timeout: time.Second}).Fetch(context.Background(), u)
		return err
	})
	p := newP(base)
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if u := st.Current().Account("1").User; u != "3001" || p.Status().LastFile != base+"loopstart-000b82abcdef.xml" {
		t.Fatalf("user %s, status %+v", u, p.Status())
	}
	for _, c := range []struct{ name, url, want string }{
		{"bad xml", base + "bad/", "malformed XML"},
		{"invalid value", base + "invalid/", "country"},
		{"missing file", base + "nothing/$MAC.xml", "none of"},
		{"dead server", fmt.Sprintf("tftp://127.0.0.1:%d/", lab.FreePort(t, 1)), "unreachable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newP(c.url)
			before := st.Current().Account("1").User
			n := st.n
			err := p.Sync(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) || p.Status().LastError == "" {
				t.Errorf("err %v status %+v", err, p.Status())
			}
			if st.n != n || st.Current().Account("1").User != before {
				t.Error("the old config did not stay")
			}
		})
	}
	t.Run("fetch is bounded, open is not", func(t *testing.T) {
		u, _ := url.Parse(base + "big.xml")
		if b, err := (&Fetcher{Timeout: 10 * time.Second}).Fetch(context.Background(), u); err == nil || !strings.Contains(err.Error(), "file larger than") {
			t.Errorf("Fetch: %d bytes, %v", len(b), err)
		}
		rc, err := (&Fetcher{}).Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if n, err := io.Copy(io.Discard, rc); err != nil || n != MaxFile+1 {
			t.Errorf("Open: %d bytes, %v", n, err)
		}
	})
	t.Run("stream a large file", func(t *testing.T) {
		u, _ := url.Parse(base + "fw.img")
		rc, err := (&Fetcher{}).Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil || string(b) != strings.Repeat("0123456789abcdef", 20_000) {
			t.Fatalf("read %d bytes, %v", len(b), err)
		}
	})
}
