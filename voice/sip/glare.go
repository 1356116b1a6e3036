package sip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Re-INVITE glare (RFC 3261 14.1, 14.2): a re-INVITE that meets ours
// gets 491 Request Pending, and a 491 to ours is retried after a random
// back-off: 2.1 to 4 s when we chose the Call-ID (we placed the call),
// 0 to 2 s otherwise, in 10 ms steps.

// maxGlareRetries bounds the re-INVITEs sent again after a 491.
const maxGlareRetries = 3

// refusedError is the far end's failure answer to an in-dialog request;
// it matches ErrRefused.
type refusedError struct {
	code   int
	reason string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%v: %d %s", ErrRefused, e.code, e.reason)
}

// Is makes errors.Is(err, ErrRefused) hold.
func (e *refusedError) Is(target error) bool { return target == ErrRefused }

// glareBackoff is the wait before a re-INVITE is sent again after a 491.
func glareBackoff(ownCallID bool, rnd *rand.Rand) time.Duration {
	if ownCallID {
		return 2100*time.Millisecond + time.Duration(rnd.IntN(191))*10*time.Millisecond
	}
	return time.Duration(rnd.IntN(201)) * 10 * time.Millisecond
}

// inviteInDialog sends our re-INVITE req and waits for its final answer;
// a 491 sends it again (new CSeq and branch) after the back-off, at most
// maxGlareRetries times. It returns the final answer and the request it
// answers.
func (c *Call) inviteInDialog(ctx context.Context, req *sipmsg.Request) (*sipmsg.Response, *sipmsg.Request, error) {
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	for try := 0; ; try++ {
		send := req.Clone()
		// Pending while the transaction runs, not during the back-off:
		// the far end's retry may come first and must go through.
		c.mu.Lock()
		c.reinviting++
		c.mu.Unlock()
		res, sent, err := c.inDialogSent(ctx, send)
		send = sent
		c.mu.Lock()
		c.reinviting--
		c.mu.Unlock()
		if err != nil {
			return nil, send, err
		}
		if res.StatusCode != 491 || try >= maxGlareRetries {
			return res, send, nil
		}
		wait := glareBackoff(!c.incoming, rnd)
		c.ua.log.Info("sip re-invite glare: trying again", "call", c.id, "after", wait)
		select {
		case <-ctx.Done():
			return nil, send, ctx.Err()
		case <-c.done:
			return nil, send, ErrCallState
		case <-c.ua.afterCall(wait):
		}
	}
}

// glare reports whether a re-INVITE from the far end meets one of ours
// still waiting for its answer.
func (c *Call) glare() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reinviting > 0
}
