package lab

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
)

// callerIDConfig is ContractConfig with port 1 in country and, when set,
// the port's caller-id override.
func callerIDConfig(addr, country, callerID string) string {
	port := "<port n=\"1\" account=\"1\"><country>" + country + "</country>"
	if callerID != "" {
		port += "<caller-id>" + callerID + "</caller-id>"
	}
	port += "</port>"
	return strings.Replace(ContractConfig(addr), `<port n="1" account="1"/>`, port, 1)
}

// TestInteropCallerID: baresip ("Ada Lovelace", user 1003) calls port 1
// through Kamailio; the virtual phone decodes the caller ID the line
// sends (Bell 202 in the US, V.23 with line reversal and DT-AS in the UK,
// DTMF by the port's override) with its own demodulators; a caller whose
// From says Anonymous shows as private. Run alone with:
//
//	go test ./tools/lab -run TestInteropCallerID -v
func TestInteropCallerID(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip")
	k := StartKamailio(t, KamailioOpts{})
	for _, tc := range []struct {
		name, country, override, display string
		want                             simapi.CallerID
	}{
		{"bell202-us", "us", "", "Ada Lovelace", simapi.CallerID{Number: "1003", Name: "Ada Lovelace", Standard: "bell202"}},
		{"v23-uk", "uk", "", "Ada Lovelace", simapi.CallerID{Number: "1003", Name: "Ada Lovelace", Standard: "v23"}},
		{"dtmf-override", "de", "dtmf", "Ada Lovelace", simapi.CallerID{Number: "1003", Standard: "dtmf"}},
		{"anonymous-us", "us", "", "Anonymous", simapi.CallerID{Standard: "bell202", Private: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.Addr, DisplayName: tc.display})
			g := StartGateway(t, GatewayOpts{Config: callerIDConfig(k.Addr, tc.country, tc.override)})
			Eventually(t, 10*time.Second, "account 1 registered", func() error {
				if a := g.Account(t, "1"); a.State != "registered" {
					return fmt.Errorf("state %q (%s)", a.State, a.LastError)
				}
				return nil
			})
			if err := b.Command("dial", "sip:1001@"+k.Addr); err != nil {
				t.Fatal(err)
			}
			var got *simapi.CallerID
			Eventually(t, 15*time.Second, "phone 1 shows the caller", func() error {
				p := g.Phone(t, 1)
				if got = p.CallerID; got == nil {
					return fmt.Errorf("no caller id yet (ringing %v, rings %d)", p.Ringing, p.Rings)
				}
				return nil
			})
			if !p1Ringing(t, g) {
				t.Error("phone 1 is not ringing")
			}
			tm := got.Time
			got.Time = ""
			if *got != tc.want {
				t.Errorf("phone 1 shows %+v, want %+v", *got, tc.want)
			}
			if tc.want.Standard != "dtmf" {
				now := time.Now()
				if !strings.HasPrefix(tm, now.Format("0102")) && !strings.HasPrefix(tm, now.Add(-time.Hour).Format("0102")) {
					t.Errorf("caller id time %q, want today's date %s", tm, now.Format("0102"))
				}
			}
			_ = b.Command("hangup", "")
		})
	}
}

func p1Ringing(t *testing.T, g *Gateway) bool {
	ok := false
	Eventually(t, 10*time.Second, "phone 1 rings", func() error {
		if ok = g.Phone(t, 1).Ringing; !ok {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	return ok
}
