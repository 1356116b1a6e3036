package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	// Addr6 is "[::1]:Port" when KamailioOpts.IPv6 is set, else "".
	Addr6 string
	ctl   string
	proc  *Proc
}

// KamailioOpts configures StartKamailio.
type KamailioOpts struct {
	// IPv6 listens on [::1] too (UDP and TCP, same port).
	IPv6 bool
	// NoQop challenges without qop=auth (default: with).
	NoQop bool
	// Algorithm is the digest algorithm Kamailio challenges with and
	// checks: "MD5" or "SHA-256" (its auth module's "algorithm"); ""
	// leaves the module's default, MD5 with no algorithm in the challenge.
	Algorithm string
	// MultiChallenge makes every 401/407 carry, before Kamailio's own
	// challenge, a Digest challenge with algorithm=AKAv1-MD5 that a
	// client must skip; both are separate header fields.
	MultiChallenge bool
	// With Algorithm or MultiChallenge set, Kamailio also logs the
	// credentials it accepts as "authorized METHOD with [header value]".

	// ChallengeInvites challenges the requests of the lab users whatever
	// their From domain, so an INVITE from one of them gets a 407 (by
	// default only From domains Kamailio calls its own are challenged,
	// and the ported alias makes "127.0.0.1" not one).
	ChallengeInvites bool
	// Unauthenticated are users whose requests Kamailio takes without
	// credentials (baresip 1.0.0 answers only the first challenge, and
	// only with MD5).
	Unauthenticated []string
	// TrunkPrefix, with TrunkUser, routes a Request-URI user that starts
	// with it to TrunkUser's registered contact, the To header keeping
	// the dialed number (how a PBX reaches an FXO trunk). With TrunkUser
	// set, digest checks the credentials' user ($au) instead of the From
	// user, for a trunk's From carries the PSTN caller's number; each
	// INVITE is logged as "invite to [R-URI user] from [display] <From
	// URI> pai [P-Asserted-Identity]".
	TrunkPrefix, TrunkUser string
}

// multiChallenge replaces @PRECHALLENGE@: an AKAv1-MD5 challenge, then
// Kamailio's real one (auth_get_www_authenticate, renamed for a 407), and
// the reply sent here so auth_challenge after it is not reached.
const multiChallenge = `		if (is_method("REGISTER")) {
			$var(hn) = "WWW-Authenticate";
		} else {
			$var(hn) = "Proxy-Authenticate";
		}
		append_to_reply("$var(hn): Digest realm=\"$fd\", nonce=\"aka0123456789abcdef\", algorithm=AKAv1-MD5, qop=\"auth\"\r\n");
		if (!auth_get_www_authenticate("$fd", "@QOP@", "$var(wauth)")) {
			sl_send_reply("500", "No Challenge");
			exit;
		}
		xlog("L_NOTICE", "challenge header [$var(wauth)]\n");
		append_to_reply("$var(hn): $(var(wauth){s.substr,18,0})");
		if (is_method("REGISTER")) {
			sl_send_reply("401", "Unauthorized");
		} else {
			sl_send_reply("407", "Proxy Authentication Required");
		}
		exit;`

// authReplacements are the digest placeholders of the lab configs.
func (o KamailioOpts) authReplacements(qop string) []string {
	params, pre, authorized := "", "", ""
	if o.Algorithm != "" {
		params = fmt.Sprintf(`modparam("auth", "algorithm", %q)`, o.Algorithm)
	}
	for _, u := range o.Unauthenticated {
		pre += fmt.Sprintf("\t\tif ($fU == %q) {\n\t\t\treturn;\n\t\t}\n", u)
	}
	if o.MultiChallenge {
		pre += strings.ReplaceAll(multiChallenge, "@QOP@", qop)
	}
	if o.Algorithm != "" || o.MultiChallenge {
		authorized = `	xlog("L_NOTICE", "authorized $rm with [$hdr(Authorization)$hdr(Proxy-Authorization)]\n");`
	}
	anyFrom := ""
	if o.ChallengeInvites {
		anyFrom = ` && $sht(users=>$fU) == $null`
	}
	pw, checks, route := "\t$var(pw) = $sht(users=>$fU);", "1", ""
	if o.TrunkUser != "" {
		pw = fmt.Sprintf("\tif ($au == $null) {\n\t\tauth_challenge(\"$fd\", %q);\n\t\texit;\n\t}\n\t$var(pw) = $sht(users=>$au);", qop)
		checks = "0"
		route = "\n\tif (is_method(\"INVITE\")) {\n\t\txlog(\"L_NOTICE\", \"invite to [$rU] from [$fn] <$fu> pai [$hdr(P-Asserted-Identity)]\\n\");\n\t}"
		if o.TrunkPrefix != "" {
			route += fmt.Sprintf("\n\tif ($rU =~ \"^%s\") {\n\t\t$rU = %q;\n\t}", o.TrunkPrefix, o.TrunkUser)
		}
	}
	return []string{"@AUTHPARAMS@", params, "@PRECHALLENGE@", pre, "@AUTHORIZED@", authorized, "@AUTHANY@", anyFrom,
		"@AUTHPW@", pw, "@AUTHCHECKS@", checks, "@TRUNKROUTE@", route}
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
	repl := append([]string{"@PORT@", fmt.Sprint(port), "@CTL@", ctl, "@QOP@", qop}, opts.authReplacements(qop)...)
	cfg := strings.NewReplacer(repl...).Replace(kamailioCfg)
	if opts.IPv6 {
		cfg = strings.Replace(cfg, "auto_aliases=no\n", fmt.Sprintf("auto_aliases=no\nlisten=udp:[::1]:%d\nlisten=tcp:[::1]:%d\nalias=[::1]:%d\n", port, port, port), 1)
	}
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &Kamailio{Port: port, Addr: fmt.Sprintf("127.0.0.1:%d", port), ctl: ctl}
	if opts.IPv6 {
		k.Addr6 = fmt.Sprintf("[::1]:%d", port)
	}
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

// Freeze stops every Kamailio process (SIGSTOP to its group): the kernel
// still accepts connections and takes what is written to them, but
// nothing is answered, as with a server hung or a flow that a NAT
// dropped silently. Thaw undoes it; the test's end thaws it too.
func (k *Kamailio) Freeze(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(-k.proc.Cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("freeze kamailio: %v", err)
	}
	t.Cleanup(k.Thaw)
}

// Thaw lets a frozen Kamailio run again (SIGCONT to its group).
func (k *Kamailio) Thaw() { _ = syscall.Kill(-k.proc.Cmd.Process.Pid, syscall.SIGCONT) }
