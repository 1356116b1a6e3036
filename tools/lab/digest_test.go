package lab

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestInteropDigest: the gateway answers Kamailio's digest challenges with
// SHA-256 (RFC 8760) and qop=auth, for REGISTER (401) and for an outgoing
// INVITE (407) that then connects to baresip, also when each challenge
// comes after one with an algorithm it must skip (AKAv1-MD5).
func TestInteropDigest(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip")
	tests := []struct {
		name string
		opts KamailioOpts
		alg  string // the algorithm our credentials must name
	}{
		{"sha-256", KamailioOpts{Algorithm: "SHA-256"}, "SHA-256"},
		{"sha-256-after-akav1-md5", KamailioOpts{Algorithm: "SHA-256", MultiChallenge: true}, "SHA-256"},
		{"md5-after-akav1-md5", KamailioOpts{Algorithm: "MD5", MultiChallenge: true}, "MD5"},
	}
	wav := filepath.Join(t.TempDir(), "tone1000.wav")
	if err := WriteToneWAV(wav, 1000, -12, 120); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.ChallengeInvites = true
			tt.opts.Unauthenticated = []string{"1003"} // baresip answers MD5 and the first challenge only
			k := StartKamailio(t, tt.opts)
			b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.Addr, SourceWAV: wav})
			g := StartGateway(t, GatewayOpts{Config: ContractConfig(k.Addr)})

			Eventually(t, 10*time.Second, "1001 registered", func() error {
				if a := g.Account(t, "1"); a.State != "registered" {
					return fmt.Errorf("state %q (%s)", a.State, a.LastError)
				}
				if ok, err := k.Registered("1001"); err != nil || !ok {
					return fmt.Errorf("kamailio: registered=%v err=%v", ok, err)
				}
				return nil
			})
			cred := func(method string) *regexp.Regexp {
				return regexp.MustCompile(`authorized ` + method + ` with \[(<null>)?Digest username="1001"[^\]]*algorithm=` +
					regexp.QuoteMeta(tt.alg) + `[^\]]*qop=auth, nc=0000000[0-9a-f]`)
			}
			if !cred("REGISTER").MatchString(k.Log()) {
				t.Fatalf("kamailio accepted no %s qop=auth REGISTER from 1001:\n%s", tt.alg, tail(k.Log(), 30))
			}
			if tt.opts.MultiChallenge && !regexp.MustCompile(`challenge header \[WWW-Authenticate: Digest .*qop="auth"`).MatchString(k.Log()) {
				t.Errorf("kamailio's own challenge did not carry qop=auth:\n%s", tail(k.Log(), 30))
			}

			before := b.EventCount("CALL_CLOSED")
			g.OffHookAndDial(t, 1, "1003#")
			b.WaitEvent(t, "CALL_ESTABLISHED", 0, 10*time.Second, "baresip answers")
			g.WaitHears(t, 1, 5*time.Second, "phone 1 hears baresip's 1000 Hz", 1000)
			if !cred("INVITE").MatchString(k.Log()) {
				t.Errorf("kamailio accepted no %s qop=auth INVITE from 1001:\n%s", tt.alg, tail(k.Log(), 30))
			}
			g.Hook(t, 1, "on")
			b.WaitEvent(t, "CALL_CLOSED", before, 5*time.Second, "baresip sees the BYE")
		})
	}
}
