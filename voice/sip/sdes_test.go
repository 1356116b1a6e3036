package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestParseCrypto(t *testing.T) {
	// 30 bytes "0123456789abcdefghijklmnopqrst" in base64.
	const k30 = "MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0"
	const k28 = "MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3Bxcg=="
	tests := []struct {
		in      string
		suite   string
		tag     int
		wantErr string
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30, SuiteAESCM128SHA1_80, 1, ""},
		{"2 AES_CM_128_HMAC_SHA1_32 inline:" + k30 + "|2^20", SuiteAESCM128SHA1_32, 2, ""},
		{"3 AEAD_AES_128_GCM inline:" + k28, SuiteAEADAES128GCM, 3, ""},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(k30, "="), SuiteAESCM128SHA1_80, 1, ""},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|2^20|1:4", "", 0, "MKI"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + " UNENCRYPTED_SRTP", "", 0, "session parameters"},
		{"1 AES_256_CM_HMAC_SHA1_80 inline:" + k30, "", 0, "no supported"},
		{"1 AEAD_AES_128_GCM inline:" + k30, "", 0, "needs 28"},
		{"x AES_CM_128_HMAC_SHA1_80 inline:" + k30, "", 0, "bad tag"},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:" + k30, "", 0, "not inline"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:!!!", "", 0, "not base64"},
		{"1 AES_CM_128_HMAC_SHA1_80", "", 0, "want tag"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := parseCrypto(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.suite != tt.suite || c.tag != tt.tag || string(c.key[:4]) != "0123" {
				t.Fatalf("got %+v, %v", c, err)
			}
			back, err := parseCrypto(c.value())
			if err != nil || back != c {
				t.Fatalf("round trip %q: %+v %v", c.value(), back, err)
			}
		})
	}
}

func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0|2^20")
	f.Add("3 AEAD_AES_128_GCM inline:MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3Bxcg==")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCrypto(s)
		if err != nil {
			return
		}
		if _, _, ok := SuiteKeyLen(c.suite); !ok {
			t.Fatalf("accepted unknown suite %q", c.suite)
		}
	})
}

// TestSRTPOfferAnswer runs the policy matrix through the SDP code.
func TestSRTPOfferAnswer(t *testing.T) {
	tests := []struct {
		offerer, answerer string
		wantSRTP          bool
		wantErr           error
	}{
		{SRTPOff, SRTPOff, false, nil},
		{SRTPOff, SRTPOptional, false, nil},
		{SRTPOff, SRTPMandatory, false, ErrSRTPRequired},
		{SRTPOptional, SRTPOff, false, nil},
		{SRTPOptional, SRTPOptional, true, nil},
		{SRTPOptional, SRTPMandatory, true, nil},
		{SRTPMandatory, SRTPOptional, true, nil},
		{SRTPMandatory, SRTPMandatory, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.offerer+"-"+tt.answerer, func(t *testing.T) {
			lm := media(40000)
			lm.SRTP = tt.offerer
			body, offered, err := buildOfferSRTP(lm, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(body), "RTP/SAVP"); got != (tt.offerer == SRTPMandatory) {
				t.Fatalf("offer RTP/SAVP = %v:\n%s", got, body)
			}
			if got := strings.Count(string(body), "a=crypto:"); got != len(offered) {
				t.Fatalf("%d crypto lines, %d offered", got, len(offered))
			}
			offer, err := parseSDP(body)
			if err != nil {
				t.Fatal(err)
			}
			am := media(40002)
			am.SRTP = tt.answerer
			ans, rm, err := buildAnswer(am, offer, 2, 2)
			if tt.wantErr != nil {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr.Error()) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.offerer == SRTPOff || tt.answerer == SRTPOff {
				if tt.offerer == SRTPMandatory {
					t.Fatal("unreachable")
				}
			}
			if rm.SRTP.Enabled() != tt.wantSRTP {
				t.Fatalf("answerer srtp %+v, want %v", rm.SRTP, tt.wantSRTP)
			}
			desc, err := parseSDP(ans)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := answerKeys(tt.offerer, offered, desc)
			if err != nil {
				t.Fatal(err)
			}
			if keys.Enabled() != tt.wantSRTP {
				t.Fatalf("offerer srtp %+v", keys)
			}
			if tt.wantSRTP {
				if keys.Local != rm.SRTP.Remote || keys.Remote != rm.SRTP.Local || keys.Local == keys.Remote || keys.Suite != SuiteAESCM128SHA1_80 {
					t.Fatalf("keys do not pair up: offerer %+v answerer %+v", keys, rm.SRTP)
				}
			}
		})
	}
}

func TestAnswerKeysMandatoryRefusesClearAnswer(t *testing.T) {
	offered, _ := offerCryptos()
	if _, err := answerKeys(SRTPMandatory, offered, audioDesc{}); err != ErrSRTPRequired {
		t.Fatalf("err = %v", err)
	}
	other, _ := newCrypto(9, SuiteAESCM128SHA1_80)
	if _, err := answerKeys(SRTPOptional, offered, audioDesc{cryptos: []cryptoAttr{other}}); err == nil {
		t.Fatal("accepted a crypto line we never offered")
	}
}

func TestCallSRTPMandatory(t *testing.T) {
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001", SRTP: SRTPMandatory})
	b := startUA(t, hb, Account{ID: "7", User: "1002", SRTP: SRTPMandatory})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := a.Dial(ctx, "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in := hb.next(t)
	if err := in.Answer(media(40002)); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, out, EventAnswered)
	ro, ri := out.Remote().SRTP, in.Remote().SRTP
	if !ro.Enabled() || ro.Local != ri.Remote || ro.Remote != ri.Local {
		t.Fatalf("keys: caller %+v callee %+v", ro, ri)
	}
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCallMandatoryRefusesClearOffer(t *testing.T) {
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	b := startUA(t, hb, Account{ID: "7", User: "1002", SRTP: SRTPMandatory})
	out, err := a.Dial(context.Background(), "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	if ev := expectEventKind(t, out, EventFailed); ev.Code != 488 {
		t.Fatalf("final %+v, want 488", ev)
	}
	select {
	case <-hb.calls:
		t.Fatal("the clear offer reached the gateway")
	default:
	}
}

// TestReinviteGetsNewKeys: a re-INVITE with a new offer on an answered SRTP
// call is answered with fresh keys, and the callee reports the change.
func TestReinviteGetsNewKeys(t *testing.T) {
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001", SRTP: SRTPMandatory})
	b := startUA(t, hb, Account{ID: "7", User: "1002", SRTP: SRTPOptional})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := a.Dial(ctx, "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in := hb.next(t)
	if err := in.Answer(media(40002)); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, out, EventAnswered)
	expectEvent(t, in, EventAnswered)
	first := in.Remote().SRTP

	lm := media(40010)
	lm.SRTP = SRTPMandatory
	body, offered, err := buildOfferSRTP(lm, out.sessID, out.sessID+1)
	if err != nil {
		t.Fatal(err)
	}
	req := sipmsg.NewRequest(sipmsg.INVITE, out.dcs.InviteResponse.Contact().Address)
	ct := sipmsg.ContentTypeHeader("application/sdp")
	req.AppendHeader(&ct)
	req.SetBody(body)
	req.Laddr = out.leg.laddr
	res, err := out.dcs.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("re-INVITE answered %d %s", res.StatusCode, res.Reason)
	}
	desc, err := parseSDP(res.Body())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := answerKeys(SRTPMandatory, offered, desc)
	if err != nil {
		t.Fatal(err)
	}
	if ev := expectEvent(t, in, EventMediaChanged); ev.Code != 200 {
		t.Fatalf("event %+v", ev)
	}
	now := in.Remote()
	if now.Addr.Port() != 40010 || now.SRTP.Remote != keys.Local || now.SRTP.Local != keys.Remote {
		t.Fatalf("callee media after re-INVITE %+v, keys %+v", now, keys)
	}
	if now.SRTP.Local == first.Local || now.SRTP.Remote == first.Remote {
		t.Fatal("keys were reused across the re-INVITE")
	}
	_ = out.dcs.Ack(ctx)
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
