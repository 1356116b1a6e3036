package sip_test

import (
	"context"
	"log"
	"net/netip"
	"time"

	"github.com/loopstart/loopstart/voice/sip"
)

// answerAll answers every incoming call with PCMU or PCMA.
type answerAll struct{}

func (answerAll) Incoming(acct *sip.Account, c *sip.Call) {
	_ = c.Ringing()
	if err := c.Answer(sip.LocalMedia{Addr: netip.MustParseAddrPort("127.0.0.1:40002")}); err != nil {
		_ = c.Reject(488, "")
	}
}

// Two ports of one gateway call each other in direct mode (no registrar).
func Example() {
	ua, err := sip.New(sip.Config{
		Listen:    "127.0.0.1:0",
		UserAgent: "Loopstart/dev",
		Accounts:  []sip.Account{{ID: "1", User: "101"}, {ID: "2", User: "102"}},
		Handler:   answerAll{},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := ua.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = ua.Close(cctx)
	}()
	call, err := ua.Dial(ctx, "1", "102", sip.LocalMedia{Addr: netip.MustParseAddrPort("127.0.0.1:40000"), Codecs: []string{"pcma", "pcmu"}})
	if err != nil {
		log.Fatal(err)
	}
	for ev := range call.Events() {
		if ev.Kind == sip.EventAnswered {
			log.Printf("talking %s to %v", call.Remote().Codec, call.Remote().Addr)
			_ = call.Hangup(ctx)
		}
	}
}
