// Package sip is Loopstart's SIP user agent, built on emiago/sipgo: one
// account per analog port, digest-authenticated registration with refresh and
// back-off, outgoing and incoming INVITE dialogs, and SDP offer/answer for
// G.711 audio with RFC 4733 telephone events (through pion/sdp), SDES SRTP
// keys (RFC 4568) under a per-account policy, and SIP over UDP, TCP or TLS
// (server certificates always verified; a dropped TCP/TLS connection is
// re-established and the registration renewed on it).
//
// A UA listens on one address for UDP and TCP. Accounts with a registrar
// register there and place calls through it; accounts without one work in
// direct mode, where calls to another account's user are sent to our own
// listen address, so port-to-port calls run through this SIP stack.
package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Account is one SIP identity, normally bound to one analog port.
type Account struct {
	ID        string        // config id, e.g. "1"
	User      string        // SIP user / extension, e.g. "1001"
	AuthUser  string        // digest user; "" = User
	Password  string        // digest password
	Display   string        // display name, optional
	Registrar string        // e.g. "sip:127.0.0.1:5060" or "sips:host:5061"; "" = direct mode, no registration
	Transport string        // "udp" (default), "tcp" or "tls"; ";transport=" or sips: in Registrar also counts
	Expires   time.Duration // requested registration lifetime; 0 = 3600 s
	// CAFile is a PEM file of CA certificates trusted for TLS; "" = the
	// system roots. Server certificates are always verified.
	CAFile string
	// SRTP is the media encryption policy: SRTPOff, SRTPOptional or
	// SRTPMandatory (see LocalMedia.SRTP). "" means SRTPOptional on tls
	// and SRTPOff on udp or tcp: SDES keys travel in the SDP, so SRTP
	// over clear signalling would protect nothing against an eavesdropper.
	SRTP string
	// MWISubscribe subscribes to the account's message-summary events
	// (RFC 3842) once it registers; it needs a registrar (subscribe.go).
	MWISubscribe bool
	// Mailbox is the sip: or sips: URI subscribed to; "" = the account's
	// address of record.
	Mailbox string
	// KeepAlive is the interval of NAT keep-alives to the registrar while
	// registered: OPTIONS over UDP (their answers' Via reveals a changed
	// public address), CRLF pings over TCP and TLS; 0 = none (nat.go).
	KeepAlive time.Duration
	// STUN is a STUN server (host:port) asked for the public address
	// PublicMediaAddr reports; "" = none (stun.go).
	STUN string
	// OutboundProxy is a sip: or sips: URI that requests outside a dialog
	// go through with a loose route (;lr); "" = straight to the registrar.
	OutboundProxy string
	// BackupRegistrar is a sip: or sips: URI registered at when no target
	// of the registrar answers (timeout, 503, transport error); the
	// registration returns to the registrar once it answers again.
	BackupRegistrar string
}

// Config configures a UA.
type Config struct {
	Listen    string       // local address for UDP and TCP, e.g. "127.0.0.1:5062" (port 0 = any)
	UserAgent string       // User-Agent and Server header; "" = "Loopstart", no version
	Accounts  []Account    // accounts; IDs and users must be unique
	Logger    *slog.Logger // our log; nil = slog.Default()
	Handler   Handler      // receives incoming calls; nil = they are refused with 480
	// SIPLogger, when set, becomes sipgo's package-wide logger (it is a
	// global in sipgo, so it is only touched when asked for).
	SIPLogger *slog.Logger
	// OnNotify, when set, receives the Event header of each NOTIFY
	// outside a subscription we know (such as a registrar's
	// Event: check-sync) and reports whether it handled it (200) or not
	// (489 Bad Event). See notify.go.
	OnNotify func(event string) bool
	// OnMessageWaiting, when set, receives each message-summary NOTIFY
	// (RFC 3842) for an account, trusted as notify.go says: the account's
	// ID and the mailbox state.
	OnMessageWaiting func(accountID string, mw MessageWaiting)
	// MaxRequestRate and MaxSourceRate bound the SIP requests per second
	// the UDP listener hands to the stack, from all sources together and
	// from one source address:port; requests over them get a stateless
	// 503 with Retry-After (ACKs are dropped) so a flood cannot take the
	// CPU the calls need. 0 means DefaultMaxRequestRate and
	// DefaultMaxSourceRate; below 0 turns the limit off.
	MaxRequestRate, MaxSourceRate int
	// MaxConns and MaxConnsPerIP cap the TCP and TLS connections
	// accepted at once, in total and from one source IP; more are closed
	// at accept. 0 means DefaultMaxConns and DefaultMaxConnsPerIP; below
	// 0 turns the cap off. See limits.go for these and the fields below.
	MaxConns, MaxConnsPerIP int
	// MessageTimeout bounds how long an accepted connection may take to
	// deliver a message whole, counted from its first byte (the first
	// message: from the connection opening); IdleTimeout how long it may
	// stay silent between messages unless it comes from a registrar.
	// 0 means DefaultMessageTimeout and DefaultIdleTimeout; below 0 off.
	MessageTimeout, IdleTimeout time.Duration
	// MaxMessageSize bounds a message (header section and body) read
	// over an accepted connection; a larger one closes it. 0 means
	// DefaultMaxMessageSize.
	MaxMessageSize int
	// BanFailures failures of one source IP within BanWindow (over-limit
	// bursts, malformed or oversize messages, missed deadlines, requests
	// from a stranger) ban it for BanTime, doubled for each ban that
	// follows soon after the last, up to BanMaxTime. 0 means the
	// Default values; BanFailures below 0 turns bans off. Registrars and
	// our own addresses are never banned.
	BanFailures                    int
	BanWindow, BanTime, BanMaxTime time.Duration
	// TLSListen, when set, is an address SIP over TLS is accepted on
	// (e.g. ":5061"), with the certificate and key of TLSCertFile and
	// TLSKeyFile (PEM). "" = no TLS listener: TLS accounts then take
	// requests over the connection they registered on only.
	TLSListen, TLSCertFile, TLSKeyFile string
	// DirectCalls accepts calls from any address for an account's own
	// user (peer-to-peer setups): the Request-URI user picks the account
	// and is the dialed number. Off, an account with a registrar takes new
	// calls only from its registrar, for its random Contact user (see
	// trust.go); accounts without a registrar always take direct calls.
	DirectCalls bool
	// IgnoreStrangers leaves requests from strangers unanswered instead of
	// answering all of them 404 Not Found.
	IgnoreStrangers bool
	// DNS is the DNS server (IP[:port], port 53 when left out) every
	// registrar, proxy and STUN name is resolved at; "" = the system's
	// resolver (resolve.go).
	DNS string
}

// Handler receives incoming calls.
type Handler interface {
	// Incoming is called for each new INVITE addressed to one of our
	// accounts, in its own goroutine, after the UA has sent 100 Trying. The
	// gateway then calls c.Ringing, c.Answer or c.Reject, at once or later;
	// Incoming may return immediately.
	Incoming(acct *Account, c *Call)
}

// RegStatus is the registration state of one account.
type RegStatus struct {
	AccountID string
	User      string
	Registrar string
	State     string    // "none", "registering", "registered", "failed", "unregistered"
	LastError string    // a sentence for people; "" when fine
	LastCode  int       // last final SIP status code from the registrar, 0 = none
	Expires   time.Time // when the current registration runs out (zero if not registered)
}

// Registration states reported in RegStatus.State.
const (
	RegNone         = "none"
	RegRegistering  = "registering"
	RegRegistered   = "registered"
	RegFailed       = "failed"
	RegUnregistered = "unregistered"
)

// Errors callers may branch on.
var (
	ErrClosed         = errors.New("sip user agent closed")
	ErrNotStarted     = errors.New("sip user agent not started")
	ErrUnknownAccount = errors.New("unknown account")
	ErrCallState      = errors.New("not possible in this call state")
)

const (
	defaultExpires  = 3600 * time.Second
	allowMethods    = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, INFO, NOTIFY, PRACK, UPDATE"
	answerTimeout   = 3 * time.Minute // an incoming call nobody answers or rejects gets 480
	listenReadyWait = 2 * time.Second
)

// leg is the sipgo machinery for one transport.
type leg struct {
	transport string // "udp" or "tcp"
	client    *sipgo.Client
	dcc       *sipgo.DialogClientCache
	dsc       *sipgo.DialogServerCache
	laddr     sipmsg.Addr // forced local address for requests (UDP only)
}

// UA is a SIP user agent serving a set of accounts.
type UA struct {
	cfg      Config
	log      *slog.Logger
	accounts []*Account
	byUser   map[string]*Account
	byID     map[string]*Account

	// after is the clock used for registration timers (tests replace it).
	after func(time.Duration) <-chan time.Time
	// subAfter is the clock used for subscription timers (tests replace
	// it).
	subAfter func(time.Duration) <-chan time.Time
	// connCheck paces the check that a registration's TCP/TLS connection is
	// still up (tests replace it).
	connCheck func(time.Duration) <-chan time.Time
	// pongs records the CRLF pongs read from stream connections, and
	// pongWait is how long a ping may go unanswered (pong.go; tests
	// shorten it).
	pongs    pongLog
	pongWait time.Duration
	// callAfter, when set, is the clock of in-call timers: session
	// timers and glare back-off (tests replace it; nil = time.After).
	callAfter func(time.Duration) <-chan time.Time
	// wrapUDP, when set, wraps the UDP listener before the overload
	// limits (tests use it to reflect answers to the sender or to inject
	// datagrams).
	wrapUDP func(net.PacketConn) net.PacketConn
	tlsConf *tls.Config
	// serverTLSConf is the TLS listener's (Config.TLSListen); nil without one.
	serverTLSConf *tls.Config

	sua     *sipgo.UserAgent
	srv     *sipgo.Server
	legs    map[string]*leg
	host    string // advertised host (Via, Contact, SDP is the caller's business)
	port    int    // actual listen port
	udpConn net.PacketConn
	addr    atomic.Pointer[netip.AddrPort] // udpConn's address once Start has it
	limited atomic.Pointer[limitedConn]    // udpConn behind the overload limits; nil = none
	// limitsUp is set once Start has made guard and streams: their
	// readers on other goroutines (Overload) look only after it.
	limitsUp atomic.Bool
	tcpLn    net.Listener
	tlsLn    net.Listener  // nil without Config.TLSListen
	guard    *guard        // limits.go: the ban list and connection caps
	streams  *streamPolicy // limits.go: what accepted connections enforce

	// strangers answers strangers' requests statelessly (stateless.go).
	strangers *strangerConn
	// txRequests counts the requests that reached a method's handler,
	// each in a sipgo server transaction (precheck.go).
	txRequests atomic.Uint64

	started atomic.Bool
	closing atomic.Bool

	loopCtx    context.Context
	loopCancel context.CancelFunc
	loops      sync.WaitGroup // registration loops
	serving    sync.WaitGroup // transport serve goroutines
	handlers   sync.WaitGroup // INVITE handlers and call goroutines

	regs []*registration
	subs []*subscription // subscribe.go: message-waiting subscriptions

	mu    sync.Mutex
	calls map[*Call]struct{}

	notify notifyState // notify.go: check-sync authentication and rate limit
	trust  trustState  // trust.go: Contact users and registrar addresses
	nonces nonceCounts // auth.go: the digest nonce counts we sent

	res   *resolver                  // resolve.go: registrar, proxy and STUN names
	regOf map[*Account]*registration // nat.go: the registration of each account
	stun  stunState                  // stun.go: public media addresses
}

// New validates cfg and returns a UA that is not yet listening.
func New(cfg Config) (*UA, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.SIPLogger != nil {
		sipmsg.SetDefaultLogger(cfg.SIPLogger)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Loopstart"
	}
	if _, _, err := splitListen(cfg.Listen); err != nil {
		return nil, err
	}
	u := &UA{
		cfg:       cfg,
		log:       log,
		byUser:    map[string]*Account{},
		byID:      map[string]*Account{},
		after:     time.After,
		subAfter:  time.After,
		connCheck: time.After,
		calls:     map[*Call]struct{}{},
		trust:     trustState{contactUser: map[*Account]string{}, byContact: map[string]*Account{}},
		regOf:     map[*Account]*registration{},
	}
	res, err := newResolver(cfg.DNS)
	if err != nil {
		return nil, err
	}
	u.res = res
	if cfg.DNS != "" {
		u.trust.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return res.r.LookupNetIP(ctx, "ip", host)
		}
	}
	for i := range cfg.Accounts {
		a := cfg.Accounts[i] // copy: the caller's slice stays theirs
		if a.ID == "" {
			return nil, fmt.Errorf("account %d: empty id", i+1)
		}
		if a.User == "" {
			return nil, fmt.Errorf("account %s: empty user", a.ID)
		}
		if _, dup := u.byID[a.ID]; dup {
			return nil, fmt.Errorf("account %s: duplicate id", a.ID)
		}
		if _, dup := u.byUser[a.User]; dup {
			return nil, fmt.Errorf("account %s: user %s is used by another account", a.ID, a.User)
		}
		if a.Expires <= 0 {
			a.Expires = defaultExpires
		}
		tp, err := accountTransport(&a)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.ID, err)
		}
		a.Transport = tp
		if a.Transport == "tls" && a.Registrar == "" {
			return nil, fmt.Errorf("account %s: transport tls needs a registrar (direct mode has no TLS listener)", a.ID)
		}
		mode, err := accountSRTP(a.SRTP, a.Transport)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.ID, err)
		}
		a.SRTP = mode
		if a.Mailbox != "" {
			if err := mailboxURI(a.Mailbox); err != nil {
				return nil, fmt.Errorf("account %s: %w", a.ID, err)
			}
		}
		if a.MWISubscribe && a.Registrar == "" {
			return nil, fmt.Errorf("account %s: a message-waiting subscription needs a registrar", a.ID)
		}
		if err := checkNATAccount(&a); err != nil {
			return nil, fmt.Errorf("account %s: %w", a.ID, err)
		}
		acct := &a
		u.accounts = append(u.accounts, acct)
		u.byID[a.ID] = acct
		u.byUser[a.User] = acct
		if a.Registrar != "" {
			cu := newContactUser()
			u.trust.contactUser[acct] = cu
			u.trust.byContact[cu] = acct
			reg := newRegistration(u, acct)
			u.regs = append(u.regs, reg)
			u.regOf[acct] = reg
			if a.MWISubscribe {
				u.subs = append(u.subs, newSubscription(u, acct))
			}
		}
	}
	tc, err := tlsConfig(u.accounts)
	if err != nil {
		return nil, err
	}
	u.tlsConf = tc
	if cfg.TLSListen != "" {
		if u.serverTLSConf, err = serverTLSConfig(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// accountTransport checks the registrar URI and decides the transport.
func accountTransport(a *Account) (string, error) {
	tp := strings.ToLower(a.Transport)
	if a.Registrar != "" {
		var uri sipmsg.Uri
		if err := sipmsg.ParseUri(a.Registrar, &uri); err != nil {
			return "", fmt.Errorf("registrar %q: %w", a.Registrar, err)
		}
		if (uri.Scheme != "sip" && uri.Scheme != "sips") || uri.Host == "" {
			return "", fmt.Errorf("registrar %q: want sip:host[:port] or sips:host[:port]", a.Registrar)
		}
		if uri.Scheme == "sips" {
			// RFC 3261 26.2: sips means TLS on every hop.
			if tp != "" && tp != "tls" {
				return "", fmt.Errorf("registrar %q: a sips: registrar needs transport tls, not %s", a.Registrar, tp)
			}
			tp = "tls"
		}
		if v, ok := uri.UriParams.Get("transport"); ok && v != "" {
			if tp != "" && tp != strings.ToLower(v) {
				return "", fmt.Errorf("registrar %q: transport %s contradicts %s", a.Registrar, v, tp)
			}
			tp = strings.ToLower(v)
		}
	}
	switch tp {
	case "":
		return "udp", nil
	case "udp", "tcp", "tls":
		return tp, nil
	}
	return "", fmt.Errorf("transport %q not supported (udp, tcp or tls)", tp)
}

// splitListen parses cfg.Listen.
func splitListen(listen string) (string, int, error) {
	host, ps, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("listen address %q: bad port", listen)
	}
	return host, port, nil
}

// Start binds the UDP and TCP listeners and starts one registration loop per
// account with a registrar. It returns a one-line error when the address
// cannot be bound.
func (u *UA) Start(ctx context.Context) error {
	if u.closing.Load() {
		return ErrClosed
	}
	if !u.started.CompareAndSwap(false, true) {
		return errors.New("sip user agent already started")
	}
	host, port, _ := splitListen(u.cfg.Listen)
	if host == "" {
		host = "0.0.0.0"
	}
	network := "udp"
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		network = "udp4"
	}
	pc, ln, aport, err := listenPair(network, host, port)
	if err != nil {
		return err
	}
	u.udpConn, u.tcpLn, u.port = pc, ln, aport
	if ap, err := netip.ParseAddrPort(pc.LocalAddr().String()); err == nil {
		u.addr.Store(&ap)
	}
	serveConn := pc
	if u.wrapUDP != nil {
		serveConn = u.wrapUDP(pc)
	}
	// The limits (overload.go, limits.go) on every listener.
	serveConn = u.limitDatagrams(serveConn)
	// Strangers answered without a transaction (stateless.go).
	u.strangers = newStrangerConn(serveConn, u)
	u.strangers.trustSettled() // resolves the registrars in the background
	serveConn = u.strangers
	tcpServe := u.limitStreams(ln, nil)
	var tlsServe net.Listener
	if u.cfg.TLSListen != "" {
		tl, err := u.listenTLS()
		if err != nil {
			return u.abortStart(err)
		}
		u.tlsLn = tl
		tlsServe = u.limitStreams(tl, u.serverTLSConf)
	}
	u.host = advertisedHost(host, u.accounts)

	sua, err := sipgo.NewUA(sipgo.WithUserAgent(u.cfg.UserAgent), sipgo.WithUserAgentHostname(u.host),
		sipgo.WithUserAgenTLSConfig(u.tlsConf),
		// The pre-parse shim (normalize.go) on every datagram.
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerReadFilter(u.readFilter)))
	if err != nil {
		return u.abortStart(fmt.Errorf("sip: %w", err))
	}
	u.sua = sua
	srv, err := sipgo.NewServer(sua)
	if err != nil {
		return u.abortStart(fmt.Errorf("sip: %w", err))
	}
	u.srv = srv
	u.legs = map[string]*leg{}
	// TLS has no local listener: the registrar sends our calls back over
	// the connection we registered on (connection reuse, RFC 5923 style).
	for _, tp := range []string{"udp", "tcp", "tls"} {
		// Every request's Via asks for rport (RFC 3581), so that answers
		// reach us through a NAT and tell us our public address (nat.go).
		opts := []sipgo.ClientOption{sipgo.WithClientHostname(u.host), sipgo.WithClientNAT()}
		if tp == "udp" {
			// Requests must leave from the listener: sipgo otherwise sends from a
			// new ephemeral socket and replies miss the registered address.
			opts = append(opts, sipgo.WithClientConnectionAddr(pc.LocalAddr().String()))
		}
		cl, err := sipgo.NewClient(sua, opts...)
		if err != nil {
			return u.abortStart(fmt.Errorf("sip: %w", err))
		}
		contact := sipmsg.ContactHeader{Address: u.contactURI("", tp)}
		l := &leg{
			transport: tp,
			client:    cl,
			dcc:       sipgo.NewDialogClientCache(cl, contact),
			dsc:       sipgo.NewDialogServerCache(cl, contact),
		}
		if tp == "udp" {
			h, p, _ := sipmsg.ParseAddr(pc.LocalAddr().String())
			l.laddr = sipmsg.Addr{IP: net.ParseIP(h), Port: p, Hostname: h}
		}
		u.legs[tp] = l
	}
	// Every request passes the one precheck (precheck.go) before its
	// method's handler.
	srv.OnInvite(u.checked(u.onInvite))
	srv.OnAck(u.checked(u.onAck))
	srv.OnBye(u.checked(u.onBye))
	srv.OnCancel(u.checked(u.onCancel))
	srv.OnOptions(u.checked(u.onOptions))
	srv.OnNotify(u.checked(u.onNotify)) // notify.go
	srv.OnRefer(u.checked(u.onRefer))   // refer.go
	srv.OnInfo(u.checked(u.onInfo))     // info.go
	srv.OnPrack(u.checked(u.onPrack))   // prack.go
	srv.OnUpdate(u.checked(u.onUpdate)) // update.go
	srv.OnNoRoute(u.checked(u.onNoRoute))

	u.serving.Add(2)
	go func() {
		defer u.serving.Done()
		if err := srv.ServeUDP(serveConn); err != nil && !u.closing.Load() {
			u.log.Error("sip udp listener stopped", "error", err)
		}
	}()
	go func() {
		defer u.serving.Done()
		// The pre-parse shim frames and normalises each message read
		// over TCP (normalize_tcp.go).
		if err := srv.ServeTCP(tcpServe); err != nil && !u.closing.Load() {
			u.log.Error("sip tcp listener stopped", "error", err)
		}
	}()
	if tlsServe != nil {
		u.serving.Add(1)
		go func() {
			defer u.serving.Done()
			if err := srv.ServeTLS(tlsServe); err != nil && !u.closing.Load() {
				u.log.Error("sip tls listener stopped", "error", err)
			}
		}()
	}
	// Wait until ServeUDP registered the listener, or requests would leave
	// from another socket (pitfall 1).
	if err := u.waitUDPReady(ctx, pc.LocalAddr().String()); err != nil {
		return u.abortStart(err)
	}
	u.loopCtx, u.loopCancel = context.WithCancel(context.Background())
	for _, r := range u.regs {
		u.loops.Add(1)
		go func() {
			defer u.loops.Done()
			r.run(u.loopCtx)
		}()
	}
	u.startSTUN(u.loopCtx) // stun.go
	for _, s := range u.subs {
		u.loops.Add(1)
		go func() {
			defer u.loops.Done()
			s.run(u.loopCtx)
		}()
	}
	u.log.Info("sip listening", "udp", pc.LocalAddr().String(), "tcp", ln.Addr().String(), "accounts", len(u.accounts))
	return nil
}

func (u *UA) abortStart(err error) error {
	u.closing.Store(true)
	if u.sua != nil {
		u.sua.Close()
	}
	if u.udpConn != nil {
		u.udpConn.Close()
	}
	if u.tcpLn != nil {
		u.tcpLn.Close()
	}
	if u.tlsLn != nil {
		u.tlsLn.Close()
	}
	u.serving.Wait()
	return err
}

func (u *UA) waitUDPReady(ctx context.Context, addr string) error {
	deadline := time.Now().Add(listenReadyWait)
	for {
		if c, err := u.sua.TransportLayer().GetConnection("udp", addr); err == nil {
			c.TryClose() // undo the reference Get took; listeners stay open
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sip: udp listener %s did not become ready", addr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// advertisedHost is the host we put in Via and Contact: the listen host, or
// when that is a wildcard, the local address used to reach the first
// registrar (127.0.0.1 without one).
func advertisedHost(host string, accts []*Account) string {
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsUnspecified() {
		return host
	}
	for _, a := range accts {
		if a.Registrar == "" {
			continue
		}
		var uri sipmsg.Uri
		if sipmsg.ParseUri(a.Registrar, &uri) != nil {
			continue
		}
		port := uri.Port
		if port == 0 {
			port = 5060
		}
		c, err := net.Dial("udp", net.JoinHostPort(uri.Host, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		h, _, _ := net.SplitHostPort(c.LocalAddr().String())
		c.Close()
		return h
	}
	return "127.0.0.1"
}

// Addr returns the address the UA listens on (valid after Start).
func (u *UA) Addr() netip.AddrPort {
	if ap := u.addr.Load(); ap != nil {
		return *ap
	}
	return netip.AddrPort{}
}

// contactURI is our Contact for user over transport tp (pitfall 3: with our
// port and, for TCP, the transport parameter).
func (u *UA) contactURI(user, tp string) sipmsg.Uri {
	uri := sipmsg.Uri{Scheme: "sip", User: user, Host: u.host, Port: u.port}
	if tp != "udp" {
		uri.UriParams = sipmsg.NewParams()
		uri.UriParams.Add("transport", tp)
	}
	return uri
}

// Registrations returns the registration state of every account, in
// configuration order; accounts without a registrar report "none".
func (u *UA) Registrations() []RegStatus {
	out := make([]RegStatus, 0, len(u.accounts))
	for _, a := range u.accounts {
		st := RegStatus{AccountID: a.ID, User: a.User, Registrar: a.Registrar, State: RegNone}
		for _, r := range u.regs {
			if r.acct == a {
				st = r.status()
			}
		}
		out = append(out, st)
	}
	return out
}

// Close unregisters every registered account and ends its message-waiting
// subscription (bounded by ctx), hangs up all
// calls and stops the listeners. It is safe to call more than once.
func (u *UA) Close(ctx context.Context) error {
	if !u.closing.CompareAndSwap(false, true) {
		return nil
	}
	if !u.started.Load() {
		return nil
	}
	u.loopCancel()
	u.loops.Wait()

	var wg sync.WaitGroup
	u.mu.Lock()
	calls := make([]*Call, 0, len(u.calls))
	for c := range u.calls {
		calls = append(calls, c)
	}
	u.mu.Unlock()
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Hangup(ctx); err != nil {
				u.log.Debug("hangup on close", "call", c.ID(), "error", err)
			}
		}()
	}
	for _, r := range u.regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.unregister(ctx)
		}()
	}
	for _, s := range u.subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.unsubscribe(ctx)
		}()
	}
	wg.Wait()

	// Calls whose hang-up did not finish in time end now.
	for _, c := range calls {
		c.finish(Event{Kind: EventEnded, Reason: "user agent closed"})
	}
	err := u.sua.Close()
	u.udpConn.Close()
	u.tcpLn.Close()
	if u.tlsLn != nil {
		u.tlsLn.Close()
	}
	u.serving.Wait()
	// Handler goroutines end with their transactions, which closing the
	// sipgo UA terminates; do not wait past ctx for them.
	waited := make(chan struct{})
	go func() {
		u.handlers.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	if err != nil {
		return fmt.Errorf("sip close: %w", err)
	}
	return nil
}

// account looks up an account by id.
func (u *UA) account(id string) *Account {
	return u.byID[id]
}

func (u *UA) addCall(c *Call) {
	u.mu.Lock()
	u.calls[c] = struct{}{}
	u.mu.Unlock()
}

func (u *UA) removeCall(c *Call) {
	u.mu.Lock()
	delete(u.calls, c)
	u.mu.Unlock()
}

// legFor returns the leg for a message transport ("UDP", "tcp", ...).
func (u *UA) legFor(transport string) *leg {
	if l, ok := u.legs[strings.ToLower(transport)]; ok {
		return l
	}
	return u.legs["udp"]
}

// userAgentHeader is our User-Agent header.
func (u *UA) userAgentHeader() sipmsg.Header {
	return sipmsg.NewHeader("User-Agent", u.cfg.UserAgent)
}

// connected reports whether a TCP or TLS connection to addr is open.
func (u *UA) connected(transport, addr string) bool {
	pool := u.sua.TransportLayer().Pool(transport)
	if pool == nil {
		return false
	}
	c := pool.Get(addr)
	if c == nil {
		return false
	}
	c.TryClose() // undo the reference Get took
	return true
}

// listenPair binds UDP and TCP on the same port. With port 0 the kernel
// picks the UDP port, and TCP may already have that port taken by someone
// else: then it tries again with another, a few times.
func listenPair(network, host string, port int) (net.PacketConn, net.Listener, int, error) {
	tries := 1
	if port == 0 {
		tries = 20
	}
	var err error
	for range tries {
		var pc net.PacketConn
		pc, err = net.ListenPacket(network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, 0, fmt.Errorf("sip: %w", err)
		}
		_, aport, _ := splitListen(pc.LocalAddr().String())
		var ln net.Listener
		ln, err = net.Listen(strings.Replace(network, "udp", "tcp", 1), net.JoinHostPort(host, strconv.Itoa(aport)))
		if err == nil {
			return pc, ln, aport, nil
		}
		pc.Close()
	}
	return nil, nil, 0, fmt.Errorf("sip: %w", err)
}
