package sip

import (
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestIdentityFrom(t *testing.T) {
	for _, tc := range []struct {
		name    string
		value   string
		rpid    bool
		privacy string
		want    CallerIdentity
	}{
		{"from with display", `"Ada Lovelace" <sip:1003@example.com>;tag=abc`, false, "", CallerIdentity{Number: "1003", Name: "Ada Lovelace"}},
		{"token display", `Ada <sip:1003@example.com:5060;transport=udp>`, false, "", CallerIdentity{Number: "1003", Name: "Ada"}},
		{"addr-spec", `sip:+1-555-0100@example.com;tag=1`, false, "", CallerIdentity{Number: "15550100"}},
		{"tel uri", `<tel:+4930123456;phone-context=example.com>`, false, "", CallerIdentity{Number: "4930123456"}},
		{"escaped quote", `"A \"B\" C" <sip:42@h>`, false, "", CallerIdentity{Number: "42", Name: `A "B" C`}},
		{"user not a number", `"Alice" <sip:alice@example.com>`, false, "", CallerIdentity{Name: "Alice", Unavailable: true}},
		{"privacy id", `"Ada" <sip:1003@example.com>`, false, "id", CallerIdentity{Private: true}},
		{"privacy header list", `"Ada" <sip:1003@example.com>`, false, "none; header", CallerIdentity{Private: true}},
		{"privacy none", `"Ada" <sip:1003@example.com>`, false, "none", CallerIdentity{Number: "1003", Name: "Ada"}},
		{"anonymous from", `"Anonymous" <sip:anonymous@anonymous.invalid>;tag=x`, false, "", CallerIdentity{Private: true}},
		{"anonymous user", `<sip:anonymous@example.com>`, false, "", CallerIdentity{Private: true}},
		{"rpid privacy full", `"Ada" <sip:1003@h>;party=calling;privacy=full`, true, "", CallerIdentity{Private: true}},
		{"rpid privacy off", `"Ada" <sip:1003@h>;party=calling;privacy=off`, true, "", CallerIdentity{Number: "1003", Name: "Ada"}},
		{"privacy param ignored outside rpid", `"Ada" <sip:1003@h>;privacy=full`, false, "", CallerIdentity{Number: "1003", Name: "Ada"}},
		{"list takes first", `"One" <sip:1@h>, "Two" <tel:2>`, false, "", CallerIdentity{Number: "1", Name: "One"}},
		{"escaped user", `<sip:%31%30%30%33@h>`, false, "", CallerIdentity{Number: "1003"}},
		{"too long number", `<sip:123456789012345678901@h>`, false, "", CallerIdentity{Unavailable: true}},
		{"empty", ``, false, "", CallerIdentity{Unavailable: true}},
		{"non-ascii name", "\"Zo\u00eb X\" <sip:7@h>", false, "", CallerIdentity{Number: "7", Name: "Zo X"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := identityFrom(tc.value, tc.rpid, tc.privacy); got != tc.want {
				t.Errorf("identityFrom(%q, %v, %q) = %+v, want %+v", tc.value, tc.rpid, tc.privacy, got, tc.want)
			}
		})
	}
}

func TestCallerIdentityHeaderOrder(t *testing.T) {
	from := `"From Name" <sip:1001@h>;tag=1`
	pai := `"Asserted" <sip:2002@h>`
	rpid := `"Party" <sip:3003@h>;party=calling`
	for _, tc := range []struct {
		name    string
		headers [][2]string
		want    CallerIdentity
	}{
		{"from only", nil, CallerIdentity{Number: "1001", Name: "From Name"}},
		{"rpid over from", [][2]string{{"Remote-Party-ID", rpid}}, CallerIdentity{Number: "3003", Name: "Party"}},
		{"pai over rpid", [][2]string{{"Remote-Party-ID", rpid}, {"P-Asserted-Identity", pai}}, CallerIdentity{Number: "2002", Name: "Asserted"}},
		{"privacy id withholds pai", [][2]string{{"P-Asserted-Identity", pai}, {"Privacy", "id"}}, CallerIdentity{Private: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "INVITE sip:101@gw SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: " + from +
				"\r\nTo: <sip:101@gw>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
			for _, h := range tc.headers {
				raw += h[0] + ": " + h[1] + "\r\n"
			}
			raw += "Content-Length: 0\r\n\r\n"
			msg, err := sipmsg.ParseMessage([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			req, ok := msg.(*sipmsg.Request)
			if !ok {
				t.Fatalf("parsed %T", msg)
			}
			if got := callerIdentity(req); got != tc.want {
				t.Errorf("callerIdentity = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzIdentityFrom: no identity header value panics the parser, and what
// comes out is fit for a caller-ID display.
func FuzzIdentityFrom(f *testing.F) {
	for _, s := range []string{
		`"Ada Lovelace" <sip:1003@example.com>;tag=abc`,
		`sip:anonymous@anonymous.invalid`,
		`<tel:+1-555-0100>`,
		`"a\"b" <sip:%3x@h>;privacy=full`,
		`"unterminated <sip:1@h>`,
		`<sip:1@h`,
	} {
		f.Add(s, true, "id")
	}
	f.Fuzz(func(t *testing.T, value string, rpid bool, privacy string) {
		id := identityFrom(value, rpid, privacy)
		if id.Private && (id.Number != "" || id.Name != "" || id.Unavailable) {
			t.Fatalf("private identity leaks: %+v", id)
		}
		if len(id.Number) > maxIdentityNumber || strings.Trim(id.Number, "0123456789") != "" {
			t.Fatalf("number %q", id.Number)
		}
		if id.Unavailable != (id.Number == "" && !id.Private) {
			t.Fatalf("unavailable wrong: %+v", id)
		}
		if len(id.Name) > maxIdentityName {
			t.Fatalf("name of %d bytes", len(id.Name))
		}
		for i := range len(id.Name) {
			if id.Name[i] < 0x20 || id.Name[i] >= 0x7F {
				t.Fatalf("name %q has a non-printable byte", id.Name)
			}
		}
	})
}
