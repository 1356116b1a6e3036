package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// SIP INFO in a call (RFC 6086 without info packages, as ATAs and PBXs
// use it): DTMF digits and hook flashes out of band, both ways.
//   - sending: SendDTMF (application/dtmf-relay, "Signal=5\r\nDuration=160"),
//     SendFlash (application/hook-flash "signal=hf", or
//     application/dtmf-relay "Signal=16");
//   - receiving: an INFO in an answered call with application/dtmf-relay
//     or application/dtmf gets 200 and its digit goes to the call's
//     OnDTMF handler, as does a flash (application/hook-flash, or
//     Signal=16) as FlashKey; other bodies get 415 with Accept,
//     unreadable ones 400.

// MIME types of INFO bodies.
const (
	MIMEDTMFRelay = "application/dtmf-relay"
	MIMEDTMF      = "application/dtmf"
	MIMEHookFlash = "application/hook-flash"
)

// infoTypes are the INFO bodies taken; others get 415 with Accept.
var infoTypes = []string{MIMEDTMFRelay, MIMEDTMF, MIMEHookFlash}

// FlashKey is the key ParseDTMFRelay and ParseDTMF report for a hook
// flash (Signal=16, RFC 4733 event 16; pjsip writes it 'R').
const FlashKey = 'R'

// defaultInfoDuration is the length of a digit whose INFO gives none.
const defaultInfoDuration = 160 * time.Millisecond

// infoState is a call's INFO handling (under Call.mu).
type infoState struct {
	onDTMF func(key byte, d time.Duration)
}

// dtmfKeys are the keys of events 0..15.
const dtmfKeys = "0123456789*#ABCD"

// signalKey reads a Signal value: a key ("5", "*", "a") or an event
// number ("10" is '*', "16" a flash).
func signalKey(v string) (byte, error) {
	v = strings.TrimSpace(v)
	if len(v) == 1 {
		k := v[0]
		if k >= 'a' && k <= 'd' {
			k -= 'a' - 'A'
		}
		if strings.IndexByte(dtmfKeys, k) >= 0 || k == FlashKey {
			return k, nil
		}
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < 0 || n > 16:
		return 0, fmt.Errorf("dtmf signal %q: not a key", v)
	case n == 16:
		return FlashKey, nil
	}
	return dtmfKeys[n], nil
}

// ParseDTMFRelay reads an application/dtmf-relay body,
// "Signal=5\r\nDuration=160": the key (0-9, *, #, A-D, or FlashKey) and
// its length (defaultInfoDuration when the body gives none).
func ParseDTMFRelay(body []byte) (key byte, d time.Duration, err error) {
	d = defaultInfoDuration
	have := false
	for _, line := range bytes.Split(body, []byte("\n")) {
		name, val, ok := strings.Cut(strings.TrimSpace(string(line)), "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "signal":
			if key, err = signalKey(val); err != nil {
				return 0, 0, err
			}
			have = true
		case "duration":
			ms, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || ms < 0 || ms > 60000 {
				return 0, 0, fmt.Errorf("dtmf-relay duration %q: not 0..60000 ms", val)
			}
			if ms > 0 {
				d = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if !have {
		return 0, 0, errors.New("dtmf-relay: no Signal")
	}
	return key, d, nil
}

// ParseDTMF reads an application/dtmf body: the key alone ("5") or an
// event number ("11" is '#').
func ParseDTMF(body []byte) (byte, error) {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return 0, errors.New("dtmf: empty body")
	}
	return signalKey(s)
}

// OnDTMF sets the function that takes the digits the far end sends in
// INFO requests (key 0-9, *, #, A-D, or FlashKey for a hook flash, and
// its length); nil drops them. It runs on the SIP server's goroutine and
// should not block.
func (c *Call) OnDTMF(f func(key byte, d time.Duration)) {
	c.mu.Lock()
	c.info.onDTMF = f
	c.mu.Unlock()
}

// SendInfo sends an INFO with body of contentType in an answered call
// and waits for its final response; a non-2xx is ErrRefused.
func (c *Call) SendInfo(ctx context.Context, contentType string, body []byte) error {
	c.mu.Lock()
	if c.state != stateAnswered || c.finished {
		c.mu.Unlock()
		return fmt.Errorf("info: %w", ErrCallState)
	}
	c.mu.Unlock()
	req := sipmsg.NewRequest(sipmsg.INFO, c.remoteTarget())
	req.AppendHeader(sipmsg.NewHeader("Content-Type", contentType))
	req.AppendHeader(c.ua.userAgentHeader())
	req.SetBody(body)
	rctx, cancel := context.WithTimeout(ctx, reinviteTimeout)
	defer cancel()
	res, err := c.inDialog(rctx, req)
	if err != nil {
		return fmt.Errorf("info: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("info: %w: %d %s", ErrRefused, res.StatusCode, res.Reason)
	}
	return nil
}

// DTMFRelayBody is the application/dtmf-relay body of key for d.
func DTMFRelayBody(key byte, d time.Duration) []byte {
	sig := string(key)
	if key == FlashKey {
		sig = "16"
	}
	return fmt.Appendf(nil, "Signal=%s\r\nDuration=%d\r\n", sig, d.Milliseconds())
}

// SendDTMF sends key (0-9, *, #, A-D) for d as an INFO with an
// application/dtmf-relay body.
func (c *Call) SendDTMF(ctx context.Context, key byte, d time.Duration) error {
	if strings.IndexByte(dtmfKeys, key) < 0 {
		return fmt.Errorf("info: %q is not a dtmf key", key)
	}
	return c.SendInfo(ctx, MIMEDTMFRelay, DTMFRelayBody(key, d))
}

// SendFlash sends a hook flash as an INFO: application/hook-flash
// "signal=hf" when hookFlash is set, else application/dtmf-relay
// "Signal=16".
func (c *Call) SendFlash(ctx context.Context, hookFlash bool) error {
	if hookFlash {
		return c.SendInfo(ctx, MIMEHookFlash, []byte("signal=hf\r\n"))
	}
	return c.SendInfo(ctx, MIMEDTMFRelay, DTMFRelayBody(FlashKey, 100*time.Millisecond))
}

// onInfo answers an INFO: in an answered call, a digit or a flash; see
// the top of this file.
func (u *UA) onInfo(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	tag, ok := req.To().Params.Get("tag")
	if !ok {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	c := u.callByTag(req.CallID().Value(), tag)
	if c == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	body := req.Body()
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = mediaType(h.Value())
	}
	if len(body) == 0 {
		ct = ""
	}
	if len(body) == 0 && ct == "" {
		u.respond(req, tx, 200, "OK") // a keep-alive INFO
		return
	}
	var key byte
	d := defaultInfoDuration
	var err error
	switch ct {
	case MIMEDTMFRelay:
		key, d, err = ParseDTMFRelay(body)
	case MIMEDTMF:
		key, err = ParseDTMF(body)
	case MIMEHookFlash:
		key = FlashKey
	default:
		u.respond(req, tx, 415, "Unsupported Media Type", sipmsg.NewHeader("Accept", strings.Join(infoTypes, ", ")))
		return
	}
	if err != nil {
		u.respond(req, tx, 400, "Bad Request ("+ct+")")
		return
	}
	c.mu.Lock()
	answered := c.state == stateAnswered && !c.finished
	f := c.info.onDTMF
	c.mu.Unlock()
	if !answered {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	u.respond(req, tx, 200, "OK")
	u.log.Info("sip info", "call", c.id, "type", ct, "key", string(key), "ms", d.Milliseconds())
	if f != nil {
		f(key, d)
	}
}
