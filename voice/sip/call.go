package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// EventKind says what happened to a call.
type EventKind int

// Call events.
const (
	// EventProgress is a provisional response to our INVITE (Code 180, 183, ...).
	EventProgress EventKind = iota + 1
	// EventAnswered: outgoing, a 2xx arrived and was ACKed; incoming, the
	// caller ACKed our 200. Remote() is valid.
	EventAnswered
	// EventFailed is a final non-2xx answer to our INVITE (Code, Reason set),
	// or a transport error or timeout. It is the last event.
	EventFailed
	// EventEnded: the far end hung up (BYE), our hang-up completed, the
	// caller cancelled before answer (Reason "cancelled"), or an incoming call
	// was rejected. It is the last event.
	EventEnded
	// EventMediaChanged: the far end renegotiated the media of an answered
	// call (re-INVITE); Remote() has the new media, SRTP with new keys.
	EventMediaChanged
)

// String names the kind for logs.
func (k EventKind) String() string {
	switch k {
	case EventProgress:
		return "progress"
	case EventAnswered:
		return "answered"
	case EventFailed:
		return "failed"
	case EventEnded:
		return "ended"
	case EventMediaChanged:
		return "media changed"
	case EventTransfer:
		return "transfer"
	case EventReferred:
		return "referred"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one step in a call's life.
type Event struct {
	Kind   EventKind
	Code   int    // SIP status code, when there is one
	Reason string // reason phrase or a short explanation
}

// Reasons used in EventEnded.
const (
	ReasonCancelled    = "cancelled"     // caller cancelled before answer (either side)
	ReasonRemoteHangup = "remote hangup" // far end sent BYE
	ReasonLocalHangup  = "local hangup"  // our Hangup completed
)

const eventBuffer = 16

type callState int

const (
	stateCalling  callState = iota // outgoing: INVITE sent; incoming: not yet answered
	stateAnswered                  // 2xx sent or received
	stateEnded
)

// Call is one INVITE dialog, incoming or outgoing.
type Call struct {
	ua       *UA
	acct     *Account
	id       string
	incoming bool
	peer     string
	dialed   string         // incoming: the number the caller dialed, "" = the account's
	caller   CallerIdentity // incoming: who calls, for caller ID
	leg      *leg
	events   chan Event
	done     chan struct{} // closed by finish

	mu     sync.Mutex
	state  callState
	remote RemoteMedia
	hangup bool // we started the end of the call
	// lastHop is the address of the dialog's named route (a Record-Route
	// host name) that answered its last request (nat.go); zero when the
	// route is an address or there is none.
	lastHop netip.AddrPort
	// endReason, when set, is the Reason of the EventEnded our own BYE
	// ends the call with (ReasonLocalHangup when empty).
	endReason string
	rejected  bool
	finished  bool
	// local is our media as last offered or answered; sdpVersion the
	// o= version of our last SDP.
	local      LocalMedia
	sdpVersion uint64
	// pendingOffer is our offer in the 200 to an offerless re-INVITE
	// until the ACK answers it (reinvite.go).
	pendingOffer *pendingOffer
	// transfer state (refer.go)
	xfer transferState
	// INFO handling (info.go)
	info infoState
	// st is the session timer (sessiontimer.go), rel the reliable
	// provisional responses (prack.go); reinviting counts our re-INVITEs
	// waiting for their answer (glare.go).
	st         sessionTimer
	rel        relState
	reinviting int
	// early: an outgoing call's 18x brought the callee's SDP (early
	// media, earlymedia.go); Remote has it until the answer.
	early bool

	// outgoing
	dcs          *sipgo.DialogClientSession
	cancelInvite context.CancelFunc
	waitDone     chan struct{} // closed when the INVITE transaction is over
	prefs        []string
	srtpMode     string       // the offer's SRTP policy
	offered      []cryptoAttr // crypto lines of our offer

	// incoming
	dss      *sipgo.DialogServerSession
	offer    audioDesc
	answered chan struct{} // closed when Answer or Reject sent the final response
	sessID   uint64
}

// ID returns the Call-ID.
func (c *Call) ID() string { return c.id }

// Incoming reports whether the far end called us.
func (c *Call) Incoming() bool { return c.incoming }

// Dialed returns the number the caller of an incoming call dialed when it
// is not simply the account: the To user when it differs from the
// account's user (one-stage dialing through an FXO trunk), or with
// Config.DirectCalls the Request-URI user. It is "" otherwise.
func (c *Call) Dialed() string { return c.dialed }

// Account returns the account the call belongs to.
func (c *Call) Account() *Account { return c.acct }

// Peer names the other party: the From of an incoming call, the To of an
// outgoing one, as "Display <user>" or just "user".
func (c *Call) Peer() string { return c.peer }

// Events delivers the call's progress. It is closed after EventEnded or
// EventFailed.
func (c *Call) Events() <-chan Event { return c.events }

// Done is closed when the call is over.
func (c *Call) Done() <-chan struct{} { return c.done }

// Remote returns the negotiated media. Outgoing calls: valid from
// EventAnswered. Incoming calls: from the offer before Answer (the offerer's
// first codec), the negotiated codec after it.
func (c *Call) Remote() RemoteMedia {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// emit delivers a non-final event; progress is dropped rather than block when
// nobody reads, keeping room for the answer and the final event.
func (c *Call) emit(ev Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	if ev.Kind == EventProgress && len(c.events) >= cap(c.events)-2 {
		return
	}
	select {
	case c.events <- ev:
	default:
	}
}

// finish delivers the final event once and closes the channel.
func (c *Call) finish(ev Event) bool {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return false
	}
	c.finished = true
	c.state = stateEnded
	select {
	case c.events <- ev:
	default:
		// Cannot happen: emit keeps two slots free and at most one
		// EventAnswered precedes the final event.
	}
	close(c.events)
	close(c.done)
	c.mu.Unlock()
	c.ua.removeCall(c)
	c.ua.log.Debug("sip call over", "call", c.id, "event", ev.Kind.String(), "code", ev.Code, "reason", ev.Reason)
	return true
}

func newSessionID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:]) >> 2 // keep it well inside int64 for picky parsers
}

// peerName renders a name-addr as "Display <user>" or "user".
func peerName(display string, uri sipmsg.Uri) string {
	user := uri.User
	if user == "" {
		user = uri.Host
	}
	display = strings.TrimSpace(strings.Trim(display, `"`))
	if display == "" || display == user {
		return user
	}
	return display + " <" + user + ">"
}

// Dial places a call from account accountID to target: digits/a user
// ("1003") or a full sip: URI. With a registrar the request goes to
// sip:<target>@<registrar>; in direct mode to sip:<target>@<our listen
// address>. It returns once the INVITE is sent; progress arrives on Events.
func (u *UA) Dial(ctx context.Context, accountID, target string, local LocalMedia) (*Call, error) {
	return u.DialWith(ctx, accountID, target, local, DialOptions{})
}

// DialAccount places a call from account accountID to another of this UA's
// own accounts, calleeID, directly: an INVITE over UDP to the UA's own
// listen address for the callee's user, whatever registrar or transport
// either account has, so a call between two local extensions never leaves
// the UA. The offer is SRTP when either account asks for it (the stricter
// policy of the two) unless local.SRTP says otherwise. It returns once the
// INVITE is sent; progress arrives on Events.
func (u *UA) DialAccount(ctx context.Context, accountID, calleeID string, local LocalMedia) (*Call, error) {
	return u.dialAccountWith(ctx, accountID, calleeID, local, DialOptions{})
}

// dialAccountWith is DialAccount with options.
func (u *UA) dialAccountWith(ctx context.Context, accountID, calleeID string, local LocalMedia, o DialOptions) (*Call, error) {
	acct, err := u.dialAccount(accountID)
	if err != nil {
		return nil, err
	}
	callee := u.account(calleeID)
	if callee == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownAccount, calleeID)
	}
	host := "127.0.0.1"
	if ap := u.Addr(); ap.IsValid() && !ap.Addr().IsUnspecified() {
		host = ap.Addr().String()
	}
	recipient := sipmsg.Uri{Scheme: "sip", User: callee.User, Host: host, Port: u.port}
	if local.SRTP == "" {
		local.SRTP = stricterSRTP(acct.SRTP, callee.SRTP)
	}
	return u.dialOpts(ctx, acct, recipient, recipient, "udp", local, o)
}

// stricterSRTP returns the stricter of two SRTP policies.
func stricterSRTP(a, b string) string {
	rank := func(p string) int {
		switch p {
		case SRTPMandatory:
			return 2
		case SRTPOptional:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// dialAccount returns the calling account once the UA can place calls.
func (u *UA) dialAccount(accountID string) (*Account, error) {
	if u.closing.Load() {
		return nil, ErrClosed
	}
	if !u.started.Load() {
		return nil, ErrNotStarted
	}
	acct := u.account(accountID)
	if acct == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownAccount, accountID)
	}
	return acct, nil
}

// dial sends the INVITE from acct to recipient (To: to) over transport tp
// and starts the call's goroutine.
// Extra headers (a transfer's Referred-By and Replaces) go in as given.
func (u *UA) dial(ctx context.Context, acct *Account, recipient, toURI sipmsg.Uri, tp string, local LocalMedia, extra ...sipmsg.Header) (*Call, error) {
	return u.dialOpts(ctx, acct, recipient, toURI, tp, local, DialOptions{}, extra...)
}

func (u *UA) dialOpts(ctx context.Context, acct *Account, recipient, toURI sipmsg.Uri, tp string, local LocalMedia, o DialOptions, extra ...sipmsg.Header) (*Call, error) {
	prefs, err := normalizeCodecs(local.Codecs)
	if err != nil {
		return nil, err
	}
	sessID := newSessionID()
	body, offered, err := buildOfferSRTP(local, sessID, sessID)
	if err != nil {
		return nil, err
	}
	l := u.legs[tp]
	req := sipmsg.NewRequest(sipmsg.INVITE, recipient)
	if tp != "udp" {
		req.SetTransport(strings.ToUpper(tp))
	}
	from := &sipmsg.FromHeader{DisplayName: acct.Display, Address: u.aor(acct), Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	if o.edit != nil {
		o.edit(req, from)
	}
	to := &sipmsg.ToHeader{Address: toURI}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&sipmsg.ContactHeader{Address: u.contactFor(acct, tp)})
	req.AppendHeader(sipmsg.NewHeader("Allow", allowMethods))
	req.AppendHeader(sipmsg.NewHeader("Supported", supportedTags)) // extensions.go
	for _, h := range sessionOfferHeaders(DefaultSessionExpires, MinSessionExpires) {
		req.AppendHeader(h)
	}
	req.AppendHeader(u.userAgentHeader())
	for _, h := range extra {
		req.AppendHeader(h)
	}
	ct := sipmsg.ContentTypeHeader("application/sdp")
	req.AppendHeader(&ct)
	req.SetBody(body)
	if o.Private {
		u.privatize(req, acct)
	}

	u.routeOut(acct, req) // nat.go: outbound proxy, registrar target in use
	dcs, err := l.dcc.WriteInvite(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("send invite to %s: %w", recipient.String(), err)
	}
	waitCtx, cancel := context.WithCancel(context.Background())
	c := &Call{
		ua:           u,
		acct:         acct,
		id:           req.CallID().Value(),
		peer:         peerName("", recipient),
		leg:          l,
		events:       make(chan Event, eventBuffer),
		done:         make(chan struct{}),
		dcs:          dcs,
		cancelInvite: cancel,
		waitDone:     make(chan struct{}),
		prefs:        prefs,
		srtpMode:     local.SRTP,
		offered:      offered,
		local:        local,
		sdpVersion:   sessID,
		sessID:       sessID,
	}
	c.st.asked, c.st.minSE = DefaultSessionExpires, MinSessionExpires
	u.addCall(c)
	u.handlers.Add(1)
	go func() {
		defer u.handlers.Done()
		c.runOutgoing(waitCtx)
	}()
	return c, nil
}

// targetURI builds the request URI for a dial string.
func (u *UA) targetURI(acct *Account, target string) (sipmsg.Uri, error) {
	target = strings.TrimSpace(target)
	if target == "" {
		return sipmsg.Uri{}, errors.New("empty dial target")
	}
	var uri sipmsg.Uri
	if strings.HasPrefix(strings.ToLower(target), "sip:") {
		if err := sipmsg.ParseUri(target, &uri); err != nil {
			return uri, fmt.Errorf("dial target %q: %w", target, err)
		}
		if uri.Host == "" {
			return uri, fmt.Errorf("dial target %q: no host", target)
		}
		return uri, nil
	}
	if strings.ContainsAny(target, "@:;<> \t") {
		return uri, fmt.Errorf("dial target %q: want digits, a user name or a sip: URI", target)
	}
	if acct.Registrar != "" {
		if err := sipmsg.ParseUri(acct.Registrar, &uri); err != nil {
			return uri, fmt.Errorf("registrar %q: %w", acct.Registrar, err)
		}
		uri.User = target
		return uri, nil
	}
	return sipmsg.Uri{Scheme: "sip", User: target, Host: u.host, Port: u.port}, nil
}

// aor is the account's address of record (From of our requests).
func (u *UA) aor(acct *Account) sipmsg.Uri {
	if acct.Registrar != "" {
		var reg sipmsg.Uri
		if sipmsg.ParseUri(acct.Registrar, &reg) == nil {
			return sipmsg.Uri{Scheme: "sip", User: acct.User, Host: reg.Host}
		}
	}
	return sipmsg.Uri{Scheme: "sip", User: acct.User, Host: u.host, Port: u.port}
}

// runOutgoing waits for the answer to our INVITE and then for the end of
// the dialog.
func (c *Call) runOutgoing(waitCtx context.Context) {
	defer c.ua.removeCall(c)
	opts := sipgo.AnswerOptions{
		OnResponse: func(r *sipmsg.Response) error {
			if r.StatusCode > 100 && r.StatusCode < 200 {
				c.onReliable(r) // prack.go
				c.earlyMedia(r) // earlymedia.go
				c.emit(Event{Kind: EventProgress, Code: r.StatusCode, Reason: r.Reason})
			}
			return nil
		},
	}
	err := c.waitAnswer(waitCtx, opts)
	close(c.waitDone)
	if err != nil {
		c.inviteFailed(waitCtx, err)
		return
	}
	res := c.dcs.InviteResponse
	rm, perr := c.answerMedia(res)
	if aerr := c.dcs.Ack(context.Background()); aerr != nil {
		c.ua.log.Warn("sip ack failed", "call", c.id, "error", aerr)
	}
	if perr != nil {
		// The callee answered with media we cannot use: end it politely.
		c.bye()
		c.finish(Event{Kind: EventFailed, Code: 488, Reason: "unusable answer: " + perr.Error()})
		return
	}
	c.mu.Lock()
	hung := c.hangup
	c.remote = rm
	c.early = false
	c.state = stateAnswered
	c.mu.Unlock()
	if !hung {
		c.answeredSession(res) // sessiontimer.go
	}
	if hung {
		// Hangup raced with the 200: finish it with a BYE.
		c.bye()
		c.finish(Event{Kind: EventEnded, Reason: ReasonLocalHangup})
		return
	}
	c.emit(Event{Kind: EventAnswered, Code: res.StatusCode, Reason: res.Reason})
	select {
	case <-c.dcs.Context().Done():
		c.mu.Lock()
		local, reason := c.hangup, c.endReason
		c.mu.Unlock()
		if reason == "" {
			reason = ReasonLocalHangup
		}
		if local {
			c.finish(Event{Kind: EventEnded, Reason: reason})
		} else {
			c.finish(Event{Kind: EventEnded, Reason: ReasonRemoteHangup})
		}
	case <-c.done:
	}
	c.dcs.Close()
}

// waitAnswer waits for the final answer to our INVITE and answers digest
// challenges itself (sipgo's own answers only the first challenge): the
// INVITE goes again as a new client session of the same dialog (Call-ID,
// From tag) with CSeq+1, a new Via and the credentials. Cancelling waitCtx
// cancels whichever INVITE is pending.
func (c *Call) waitAnswer(waitCtx context.Context, opts sipgo.AnswerOptions) error {
	var st authRounds
	var tries422 int
	var redir redirects
	for {
		err := c.dcs.WaitAnswer(waitCtx, opts)
		var de *sipgo.ErrDialogResponse
		if err == nil || !errors.As(err, &de) || de.Res == nil || waitCtx.Err() != nil {
			return err
		}
		req := c.dcs.InviteRequest.Clone()
		var again bool
		switch {
		case c.retry422(req, de.Res, &tries422): // sessiontimer.go
			again = true
		case de.Res.StatusCode >= 300 && de.Res.StatusCode < 400:
			// followredirect.go: the next Contact of the 3xx, if any.
			if again = c.redirect(req, de.Res, &redir); again {
				st = authRounds{}
			}
		default:
			var aerr error
			again, aerr = c.ua.retry(&st, req, de.Res, c.acct)
			if aerr != nil {
				return errors.Join(aerr, err)
			}
		}
		if !again {
			return err
		}
		if cs := req.CSeq(); cs != nil {
			cs.SeqNo++
		}
		req.RemoveHeader("Via")
		dcs, werr := c.leg.dcc.WriteInvite(waitCtx, req)
		if werr != nil {
			return fmt.Errorf("send invite with credentials to %s: %w", req.Recipient.String(), werr)
		}
		old := c.dcs
		c.ua.mu.Lock() // callByTag reads c.dcs under it
		c.dcs = dcs
		c.ua.mu.Unlock()
		_ = old.Close()
	}
}

// answerMedia reads the SDP answer of a 2xx.
func (c *Call) answerMedia(res *sipmsg.Response) (RemoteMedia, error) {
	if res == nil || len(res.Body()) == 0 {
		return RemoteMedia{}, errors.New("no sdp in answer")
	}
	desc, err := parseSDP(res.Body())
	if err != nil {
		return RemoteMedia{}, err
	}
	keys, err := answerKeys(c.srtpMode, c.offered, desc)
	if err != nil {
		return RemoteMedia{}, err
	}
	// The answerer chose; take its first codec that we offered.
	for _, rc := range desc.codecs {
		for _, p := range c.prefs {
			if rc.name == p {
				return RemoteMedia{Addr: desc.addr, Codec: rc.name, PT: rc.pt, DTMFPT: desc.dtmfPT, PTime: desc.ptime, SRTP: keys, Direction: desc.dir}, nil
			}
		}
	}
	return RemoteMedia{}, ErrNoCommonCodec
}

// answerKeys matches an SDP answer's crypto line with one we offered.
func answerKeys(mode string, offered []cryptoAttr, desc audioDesc) (SRTPKeys, error) {
	for _, theirs := range desc.cryptos {
		for _, ours := range offered {
			if ours.tag == theirs.tag && ours.suite == theirs.suite {
				return keysFrom(ours, theirs), nil
			}
		}
	}
	if len(desc.cryptos) > 0 && len(offered) > 0 {
		return SRTPKeys{}, fmt.Errorf("%w: the answer's crypto line matches none we offered", ErrNoCryptoSuite)
	}
	if mode == SRTPMandatory || desc.secure {
		return SRTPKeys{}, ErrSRTPRequired
	}
	return SRTPKeys{}, nil
}

// inviteFailed turns a WaitAnswer error into the final event.
func (c *Call) inviteFailed(waitCtx context.Context, err error) {
	defer c.dcs.Close()
	var de *sipgo.ErrDialogResponse
	switch {
	case errors.Is(err, ErrUnsupportedChallenge) && errors.As(err, &de) && de.Res != nil:
		reason := err.Error()
		if i := strings.IndexByte(reason, '\n'); i >= 0 {
			reason = reason[:i] // errors.Join: our explanation first
		}
		c.finish(Event{Kind: EventFailed, Code: de.Res.StatusCode, Reason: reason})
	case errors.As(err, &de) && de.Res != nil:
		if de.Res.StatusCode == 487 && waitCtx.Err() != nil {
			c.finish(Event{Kind: EventEnded, Code: 487, Reason: ReasonCancelled})
			return
		}
		c.finish(Event{Kind: EventFailed, Code: de.Res.StatusCode, Reason: de.Res.Reason})
	case waitCtx.Err() != nil:
		// We cancelled. A 200 may have crossed our CANCEL: then ACK and BYE.
		if r := c.dcs.InviteResponse; r != nil && r.IsSuccess() {
			_ = c.dcs.Ack(context.Background())
			c.byeRaw(r)
		}
		c.finish(Event{Kind: EventEnded, Code: 487, Reason: ReasonCancelled})
	case errors.Is(err, sipmsg.ErrTransactionTimeout):
		c.finish(Event{Kind: EventFailed, Code: 408, Reason: "no response from " + c.dcs.InviteRequest.Recipient.Addr()})
	default:
		c.finish(Event{Kind: EventFailed, Reason: err.Error()})
	}
}

// bye ends an answered outgoing dialog; errors are logged.
func (c *Call) bye() {
	c.byeRaw(c.dcs.InviteResponse)
}

func (c *Call) byeRaw(res *sipmsg.Response) {
	ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
	defer cancel()
	bye := c.newUACBye(res)
	if err := c.sendInDialog(ctx, bye, c.dcs.WriteBye); err != nil { // nat.go
		c.ua.log.Warn("sip bye failed", "call", c.id, "error", err)
	}
}

// newUACBye builds the caller's BYE; unlike sipgo's own it pins the local
// address so UDP requests leave from the listener.
func (c *Call) newUACBye(res *sipmsg.Response) *sipmsg.Request {
	inv := c.dcs.InviteRequest
	recipient := inv.Recipient
	if res != nil {
		if ct := res.Contact(); ct != nil {
			recipient = ct.Address
		}
	}
	bye := sipmsg.NewRequest(sipmsg.BYE, *recipient.Clone())
	bye.AppendHeader(sipmsg.HeaderClone(inv.From()))
	if res != nil && res.To() != nil {
		bye.AppendHeader(sipmsg.HeaderClone(res.To()))
	}
	bye.AppendHeader(sipmsg.HeaderClone(inv.CallID()))
	bye.AppendHeader(&sipmsg.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sipmsg.BYE})
	bye.AppendHeader(&sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)})
	bye.AppendHeader(c.ua.userAgentHeader())
	bye.SetTransport(inv.Transport())
	bye.Laddr = c.leg.laddr
	return bye
}

// Ringing sends 180 Ringing for an incoming call.
func (c *Call) Ringing() error {
	if !c.incoming {
		return fmt.Errorf("ringing: %w (outgoing call)", ErrCallState)
	}
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	if st != stateCalling {
		return fmt.Errorf("ringing: %w", ErrCallState)
	}
	contact := &sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)}
	if err := c.sendProvisional(180, "Ringing", nil, contact, c.ua.userAgentHeader()); err != nil {
		return fmt.Errorf("ringing: %w", err)
	}
	return nil
}

// Answer accepts an incoming call with a 200 OK carrying our SDP answer. The
// codec is the first of local.Codecs (our preference order) that the offer
// has; telephone-event is answered with the offer's payload type when
// offered. It returns ErrNoCommonCodec (reject with 488 then) when there is
// none. Answer does not wait for the ACK: EventAnswered follows when it
// arrives, and EventEnded if it never does.
func (c *Call) Answer(local LocalMedia) error {
	if !c.incoming {
		return fmt.Errorf("answer: %w (outgoing call)", ErrCallState)
	}
	if local.SRTP == "" {
		local.SRTP = c.acct.SRTP
	}
	body, rm, err := buildAnswer(local, c.offer, c.sessID, c.sessID)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	c.mu.Lock()
	if c.state != stateCalling || c.finished {
		c.mu.Unlock()
		return fmt.Errorf("answer: %w", ErrCallState)
	}
	c.state = stateAnswered
	c.remote = rm
	c.local = local
	c.sdpVersion = c.sessID
	c.mu.Unlock()

	res := sipmsg.NewSDPResponseFromRequest(c.dss.InviteRequest, body)
	res.AppendHeader(&sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)})
	res.AppendHeader(sipmsg.NewHeader("Allow", allowMethods))
	res.AppendHeader(sipmsg.NewHeader("Supported", supportedTags))
	for _, h := range c.answerSession(c.dss.InviteRequest) { // sessiontimer.go
		res.AppendHeader(h)
	}
	res.AppendHeader(c.ua.userAgentHeader())
	close(c.answered)
	c.ua.handlers.Add(1)
	go func() {
		defer c.ua.handlers.Done()
		c.waitPRACK() // prack.go: the 2xx must not overtake a reliable 18x
		// WriteResponse blocks until the ACK (or ~32 s without one).
		if err := c.dss.WriteResponse(res); err != nil {
			c.mu.Lock()
			over := c.finished || c.hangup
			c.mu.Unlock()
			if over {
				return
			}
			if errors.Is(context.Cause(c.dss.Context()), sipmsg.ErrTransactionCanceled) {
				c.finish(Event{Kind: EventEnded, Code: 487, Reason: ReasonCancelled})
				return
			}
			c.ua.log.Warn("sip call: no ACK for our 200", "call", c.id, "error", err)
			c.byeUAS(context.Background())
			c.finish(Event{Kind: EventEnded, Code: 408, Reason: "no ACK received"})
			return
		}
		c.emit(Event{Kind: EventAnswered, Code: 200, Reason: "OK"})
	}()
	return nil
}

// Reject refuses an incoming call that is not answered yet, e.g. 486 Busy
// Here, 480 Temporarily Unavailable, 488 Not Acceptable Here.
func (c *Call) Reject(code int, reason string) error {
	if !c.incoming {
		return fmt.Errorf("reject: %w (outgoing call)", ErrCallState)
	}
	if code < 300 || code > 699 {
		return fmt.Errorf("reject: status %d is not a failure code", code)
	}
	if reason == "" {
		reason = reasonPhrase(code)
	}
	c.mu.Lock()
	if c.state != stateCalling || c.finished {
		c.mu.Unlock()
		return fmt.Errorf("reject: %w", ErrCallState)
	}
	c.state = stateEnded
	c.rejected = true
	c.mu.Unlock()
	close(c.answered)
	// Respond waits for the ACK of the final response.
	err := c.dss.Respond(code, reason, nil, c.ua.userAgentHeader())
	c.finish(Event{Kind: EventEnded, Code: code, Reason: "rejected: " + reason})
	if err != nil {
		return fmt.Errorf("reject: %w", err)
	}
	return nil
}

// Hangup ends the call in whatever state it is: an outgoing call not yet
// answered is cancelled (CANCEL), an answered call gets a BYE, an incoming
// call not yet answered is rejected with 480. It waits for the end, bounded
// by ctx, and is idempotent.
func (c *Call) Hangup(ctx context.Context) error {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return nil
	}
	first := !c.hangup
	c.hangup = true
	st := c.state
	c.mu.Unlock()

	switch {
	case c.incoming && st == stateCalling:
		if err := c.Reject(480, "Temporarily Unavailable"); err != nil && !errors.Is(err, ErrCallState) {
			return err
		}
	case c.incoming && st == stateAnswered:
		if first {
			err := c.byeUAS(ctx)
			c.finish(Event{Kind: EventEnded, Reason: ReasonLocalHangup})
			if err != nil {
				return fmt.Errorf("hangup: %w", err)
			}
		}
	case !c.incoming && st == stateCalling:
		c.cancelInvite()
		select {
		case <-c.waitDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	case !c.incoming && st == stateAnswered:
		if first {
			bctx, cancel := context.WithTimeout(ctx, 32*time.Second)
			err := c.sendInDialog(bctx, c.newUACBye(c.dcs.InviteResponse), c.dcs.WriteBye) // nat.go
			cancel()
			c.finish(Event{Kind: EventEnded, Reason: ReasonLocalHangup})
			if err != nil {
				return fmt.Errorf("hangup: %w", err)
			}
		}
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// byeUAS sends the callee's BYE with the local address pinned.
func (c *Call) byeUAS(ctx context.Context) error {
	inv := c.dss.InviteRequest
	ct := inv.Contact()
	if ct == nil {
		return errors.New("caller sent no contact")
	}
	bye := sipmsg.NewRequest(sipmsg.BYE, *ct.Address.Clone())
	bye.SetTransport(inv.Transport())
	bye.AppendHeader(&sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)})
	bye.AppendHeader(c.ua.userAgentHeader())
	bye.Laddr = c.leg.laddr
	bctx, cancel := context.WithTimeout(ctx, 32*time.Second)
	defer cancel()
	return c.sendInDialog(bctx, bye, c.dss.WriteBye) // nat.go
}

// reasonPhrase is the standard phrase of the failure codes a gateway uses.
func reasonPhrase(code int) string {
	switch code {
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	return "Rejected"
}

// localTag is our tag in the dialog: the From tag of our INVITE, or the To
// tag of our answer.
func (c *Call) localTag() string {
	if c.incoming {
		if c.dss != nil && c.dss.InviteResponse != nil {
			if to := c.dss.InviteResponse.To(); to != nil {
				tag, _ := to.Params.Get("tag")
				return tag
			}
		}
		return ""
	}
	if c.dcs != nil && c.dcs.InviteRequest != nil {
		if from := c.dcs.InviteRequest.From(); from != nil {
			tag, _ := from.Params.Get("tag")
			return tag
		}
	}
	return ""
}
