package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kamailio is a running Kamailio registrar/proxy with users 1001-1004
// (passwords secret1-secret4).
type Kamailio struct {
	// Port is the UDP and TCP SIP port on 127.0.0.1.
	Port int
	// Addr is "127.0.0.1:Port".
	Addr string
	ctl  string
	proc *Proc
}

// KamailioOpts configures StartKamailio.
type KamailioOpts struct {
	// NoQop challenges without qop=auth (default: with).
	NoQop bool
}

// StartKamailio writes the lab config into a temporary directory and starts
// Kamailio in the foreground; it returns once Kamailio answers OPTIONS.
func StartKamailio(t testing.TB, opts KamailioOpts) *Kamailio {
	t.Helper()
	Need(t, "kamailio", "kamcmd")
	dir := t.TempDir()
	port := FreePort(t, 1)
	ctl := filepath.Join(dir, "kamailio.ctl")
	qop := "1"
	if opts.NoQop {
		qop = "0"
	}
	cfg := strings.NewReplacer("@PORT@", fmt.Sprint(port), "@CTL@", ctl, "@QOP@", qop).Replace(kamailioCfg)
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &Kamailio{Port: port, Addr: fmt.Sprintf("127.0.0.1:%d", port), ctl: ctl}
	k.proc = Start(t, dir, "kamailio", "-DD", "-E", "-f", cfgPath, "-P", filepath.Join(dir, "kamailio.pid"),
		"-Y", dir, "-m", "64", "-M", "8")
	if err := waitSIP(k.Addr, 10*time.Second); err != nil {
		t.Fatalf("kamailio did not come up: %v\n%s", err, tail(k.proc.Log(), 40))
	}
	return k
}

// Locations returns Kamailio's location table as `kamcmd ul.dump` prints it.
func (k *Kamailio) Locations() (string, error) {
	out, err := exec.Command("kamcmd", "-s", "unix:"+k.ctl, "ul.dump").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("kamcmd ul.dump: %v: %s", err, out)
	}
	return string(out), nil
}

// Registered reports whether user has a contact in the location table.
func (k *Kamailio) Registered(user string) (bool, error) {
	out, err := k.Locations()
	if err != nil {
		return false, err
	}
	return strings.Contains(out, "AoR: "+user+"\n") || strings.Contains(out, "AoR: "+user+"@"), nil
}

// Log returns Kamailio's output so far.
func (k *Kamailio) Log() string { return k.proc.Log() }

// Count returns how many log lines contain s.
func (k *Kamailio) Count(s string) int { return strings.Count(k.proc.Log(), s) }

// Stop ends Kamailio.
func (k *Kamailio) Stop() { k.proc.Stop() }
