package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
	"github.com/loopstart/loopstart/voice/capture"
	"github.com/loopstart/loopstart/voice/line"
	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
	"github.com/loopstart/loopstart/voice/status"
)

// PortConfig configures one analog port.
type PortConfig struct {
	// N is the board port number.
	N int
	// Account is the id of the SIP account the port uses.
	Account string
	// Country selects tones and ring cadence ("us", ...).
	Country string
	// DigitMap is the dial plan; "" means any digits, ended by timeout or '#'.
	DigitMap string
	// Codecs lists the codecs in preference order ("pcmu", "pcma", "g722").
	Codecs []string
	// FlashMin and FlashMax bound a hook flash: outside dialing a break
	// shorter than FlashMin is ignored, and one of FlashMax or longer is a
	// hang-up (line.Config FlashMin and HangupMin). Zero takes the line's
	// defaults, 100 ms and 1.25 s.
	FlashMin, FlashMax time.Duration
	// Extension is the local number other ports dial to reach this one
	// ("" for none). A port dialing it calls this port's account directly
	// through the gateway's own SIP stack, whatever either account's
	// registrar; a port dialing its own extension gets reorder tone.
	Extension string
	// CallerID overrides the country's caller-ID standard: "off",
	// "bell202", "v23" or "dtmf"; "" keeps the country's.
	CallerID string
	// NoCallWaiting refuses a second call during a call with 486 Busy
	// Here instead of the call-waiting tone.
	NoCallWaiting bool
	// NoThreeWay makes a flash during a consultation call swap between
	// the two calls instead of joining them in a three-way conference.
	NoThreeWay bool
	// ConferenceTransfer, when the phone hangs up a three-way call,
	// transfers one party to the other (REFER with Replaces) instead of
	// ending both calls.
	ConferenceTransfer bool
	// EchoOff leaves the line echo canceller out of the port's calls;
	// EchoTail is its tail (16..128 ms; 0 means 64 ms).
	EchoOff  bool
	EchoTail time.Duration
	// Fax is "auto" (or ""): switch a call to fax/modem pass-through when
	// a fax or modem tone is heard on either side; "on": every call is
	// pass-through from its start (a fax line); "off": never.
	Fax string
	// PBXFeatures leaves calling features to the PBX: no star codes,
	// forwarding or screening on the port; dialed codes go out as numbers.
	// Flash is still handled here unless FlashRelay is set.
	PBXFeatures bool
	// FlashRelay sends a flash in a call to the far end instead of
	// handling it here: FlashRelayRFC4733 (event 16, offered 0-16 in
	// SDP), FlashRelayHookFlash or FlashRelayDTMFInfo (SIP INFO); ""
	// handles it here (relay.go).
	FlashRelay string
	// DTMF is how the phone's digits go out in a call: "" (or "rfc4733")
	// as RFC 4733 events when the call negotiated them, else in band;
	// DTMFInfo as SIP INFO application/dtmf-relay. Digits that come in
	// SIP INFO are played to the phone either way.
	DTMF string
	// StarCodes overrides DefaultStarCodes by name; "" turns a code off.
	StarCodes map[string]string
	// Hotline is dialed when the phone goes off hook, at once or, with
	// HotlineDelay, when no key comes within it (a warm line).
	Hotline      string
	HotlineDelay time.Duration
	// FXO is the trunk setting of an FXO port.
	FXO FXOConfig
	// TXGain is the gain on the line's audio towards the network and
	// RXGain on the network's audio towards the line, in dB
	// (media.MinGainDB..MaxGainDB), on every call of the port; local tones
	// keep their levels.
	TXGain, RXGain float64
}

// echoOpts are the port's media echo options.
func (pc PortConfig) echoOpts() media.EchoOpts {
	o := media.EchoOpts{Off: pc.EchoOff, Tail: pc.EchoTail}
	switch pc.Fax {
	case "on":
		o.Fax = media.FaxOn
	case "off":
		o.Fax = media.FaxOff
	}
	return o
}

// Config configures a Gateway.
type Config struct {
	// Board is the assembled board.
	Board *board.Board
	// SIP configures the user agent; its Handler is set by the gateway.
	SIP sip.Config
	// Ports configures the ports to run; ports of the board not listed stay idle.
	Ports []PortConfig
	// RTPAddr is the local address RTP sockets bind to.
	RTPAddr netip.Addr
	// Version is reported in the status.
	Version string
	// Logger receives the gateway's log; nil means slog.Default().
	Logger *slog.Logger
	// LoopPriority, when above 0, runs the media loop's thread at that
	// SCHED_FIFO priority (media.LoopOpts.Priority); only for a highway
	// paced by a real clock.
	LoopPriority int
	// LoopWorkers is how many goroutines share the media loop's busy
	// frames (media.LoopOpts.Workers): 0 picks by the number of ports
	// and CPUs, 1 keeps every port on the loop's own.
	LoopWorkers int
	// MessageWaiting, when set, tells the message-waiting state an
	// account's port starts with (kept across restarts by the caller);
	// nil starts them all off. SetMessageWaiting changes it later.
	MessageWaiting func(accountID string) bool
	// FeaturesFile keeps the ports' forwarding and screening settings that
	// star codes and SetFeatures change (DATA/features.json); "" keeps
	// them in memory only.
	FeaturesFile string
	// Capture, when set, receives copies of every port's RTP while a
	// packet capture runs (capture.go); kept across configuration swaps.
	Capture *capture.Capture
	// CallQuality, when set, records the MOS, loss and jitter of every
	// finished call (for /metrics); kept across configuration swaps.
	CallQuality *status.CallQuality
}

// Gateway runs the analog ports, the SIP user agent and the media loop.
type Gateway struct {
	cfg   Config
	log   *slog.Logger
	ua    *sip.UA
	loop  *media.Loop
	ports []*port
	start atomic.Pointer[time.Time] // set by Run, read by Status
	// started is closed once Run has its SIP user agent listening (or
	// has ended); startOnce closes it.
	started   chan struct{}
	startOnce sync.Once
	byAcc     map[string]*port
	byExt     map[string]*port // PortConfig.Extension → port

	featMu sync.Mutex
	feats  map[string]status.Features // by port number; replaced whole on change
}

// New builds a gateway: line state machines, RTP sockets and the user agent.
// Nothing runs until Run.
func New(cfg Config) (*Gateway, error) {
	if cfg.Board == nil {
		return nil, errors.New("gateway: no board")
	}
	if err := checkExtensions(cfg.Ports); err != nil {
		return nil, err
	}
	if err := CheckLoopWorkers(cfg.LoopWorkers); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger, started: make(chan struct{}), byAcc: map[string]*port{}, byExt: map[string]*port{}}
	if g.log == nil {
		g.log = slog.Default()
	}
	feats, err := loadFeatures(cfg.FeaturesFile)
	if err != nil {
		g.log.Error("feature settings unreadable; starting without", "err", err)
		feats = map[string]status.Features{}
	}
	g.feats = feats
	g.loop = media.NewLoop(cfg.Board.Highway, media.LoopOpts{Priority: cfg.LoopPriority, Workers: cfg.LoopWorkers})
	for _, pc := range cfg.Ports {
		bp, err := findPort(cfg.Board, pc.N)
		if err != nil {
			g.closeStreams()
			return nil, err
		}
		p, err := g.newPort(bp, pc)
		if err != nil {
			g.closeStreams()
			return nil, err
		}
		g.ports = append(g.ports, p)
		if pc.Account != "" {
			g.byAcc[pc.Account] = p
		}
		if pc.Extension != "" {
			g.byExt[pc.Extension] = p
		}
	}
	if err := g.addFXOPorts(); err != nil {
		g.closeStreams()
		return nil, err
	}
	g.attachCapture()
	sc := cfg.SIP
	sc.Handler = g
	if sc.Logger == nil {
		sc.Logger = g.log
	}
	ua, err := sip.New(sc)
	if err != nil {
		g.closeStreams()
		return nil, err
	}
	g.ua = ua
	g.applyMessageWaiting()
	return g, nil
}

// checkExtensions reports duplicate extensions and extensions on ports
// without an account (nothing to call them on).
func checkExtensions(ports []PortConfig) error {
	var errs []error
	seen := map[string]int{}
	for _, pc := range ports {
		switch n, dup := seen[pc.Extension]; {
		case pc.Extension == "":
		case pc.Account == "":
			errs = append(errs, fmt.Errorf("gateway: port %d: extension %s needs an account to be called on", pc.N, pc.Extension))
		case dup:
			errs = append(errs, fmt.Errorf("gateway: ports %d and %d both have extension %s", n, pc.N, pc.Extension))
		default:
			seen[pc.Extension] = pc.N
		}
	}
	return errors.Join(errs...)
}

func findPort(b *board.Board, n int) (board.Port, error) {
	for _, p := range b.Ports {
		if p.N == n {
			return p, nil
		}
	}
	return board.Port{}, fmt.Errorf("gateway: board %s has no port %d", b.Name, n)
}

func (g *Gateway) closeStreams() {
	for _, p := range g.ports {
		if p.stream != nil {
			p.closeStreams()
		}
	}
}

// Run starts the user agent and the media loop and serves calls until ctx
// ends; then it hangs up, unregisters and returns.
func (g *Gateway) Run(ctx context.Context) error {
	now := time.Now()
	g.start.Store(&now)
	defer g.closeStreams()
	defer g.markStarted() // Run ended before the user agent started
	if err := g.ua.Start(ctx); err != nil {
		return err
	}
	g.markStarted()
	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopErr := make(chan error, 1)
	go func() { loopErr <- g.loop.Run(loopCtx) }()

	portCtx, stopPorts := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, p := range g.ports {
		wg.Add(1)
		go func() { defer wg.Done(); p.control(portCtx) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-loopErr:
		g.log.Error("media loop stopped", "err", err)
	}
	stopPorts()
	wg.Wait()
	closeCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	if cerr := g.ua.Close(closeCtx); cerr != nil {
		g.log.Warn("sip shutdown", "err", cerr)
	}
	cancel()
	stopLoop()
	if err == nil {
		err = <-loopErr
	}
	return err
}

// Started is closed once Run has the SIP user agent listening and its
// registrations under way, or once Run has ended without getting there.
func (g *Gateway) Started() <-chan struct{} { return g.started }

func (g *Gateway) markStarted() { g.startOnce.Do(func() { close(g.started) }) }

// Incoming routes a new SIP call to the port of its account (sip.Handler).
func (g *Gateway) Incoming(acct *sip.Account, c *sip.Call) {
	p := g.byAcc[acct.ID]
	if p == nil || p.fault != nil {
		_ = c.Reject(480, "Temporarily Unavailable")
		return
	}
	select {
	case p.incoming <- c:
	default:
		_ = c.Reject(486, "Busy Here")
	}
}

// UA returns the gateway's SIP user agent.
func (g *Gateway) UA() *sip.UA { return g.ua }

// Status returns a snapshot for the status page; safe from any goroutine.
func (g *Gateway) Status() status.Status {
	st := status.Status{Version: g.cfg.Version, Board: g.cfg.Board.Name}
	if start := g.start.Load(); start != nil {
		st.Uptime = time.Since(*start).Seconds()
	}
	for _, p := range g.ports {
		st.Ports = append(st.Ports, p.status())
	}
	for _, r := range g.ua.Registrations() {
		st.Accounts = append(st.Accounts, status.AccountStatus{
			ID: r.AccountID, User: r.User, Registrar: r.Registrar, State: r.State,
			LastError: r.LastError, LastCode: r.LastCode, Expires: r.Expires,
		})
	}
	ls := g.loop.Stats()
	st.Loop = status.LoopStatus{Running: ls.Running, Ticks: ls.Ticks, Late: ls.Late, Missed: ls.Missed,
		MaxLatenessUS: ls.MaxLateness.Microseconds(), Histogram: loopHistogram(ls), WorkHistogram: workHistogram(ls),
		Priority: ls.Priority, PriorityError: ls.PriorityError, MaxWorkUS: ls.MaxWork.Microseconds(),
		Workers: ls.Workers, SplitFrames: ls.Split, HelperTicks: ls.HelperTicks}
	if m, ok := g.cfg.Board.Highway.(pcm.Modelled); ok {
		st.Loop.SimModelsCPUUS = m.ModelCPU().Microseconds()
	}
	ov := g.ua.Overload()
	st.SIP = status.SIPStatus{Shed: ov.Shed, DroppedACKs: ov.DroppedACKs, Bans: ov.Bans,
		DroppedBanned: ov.DroppedBanned, RefusedConns: ov.RefusedConns, ClosedConns: ov.ClosedConns}
	return st
}

// profileFor returns the tone profile of a country, defaulting to the US.
func profileFor(country string) (*dsp.Profile, error) {
	if country == "" {
		country = "us"
	}
	return dsp.LookupProfile(country)
}

// lineConfig builds the line state machine's config for pc.
func lineConfig(pc PortConfig) (line.Config, error) {
	prof, err := profileFor(pc.Country)
	if err != nil {
		return line.Config{}, fmt.Errorf("gateway: port %d: %w", pc.N, err)
	}
	lc := line.Config{Profile: prof, FlashMin: pc.FlashMin, HangupMin: pc.FlashMax}
	if err := lc.CheckTiming(); err != nil {
		return line.Config{}, fmt.Errorf("gateway: port %d: %w", pc.N, err)
	}
	switch pc.CallerID {
	case "":
	case "off":
		lc.CallerID.Off = true
	default:
		lc.CallerID.Standard = pc.CallerID
	}
	if err := lc.CallerID.Check(prof); err != nil {
		return line.Config{}, fmt.Errorf("gateway: port %d: %w", pc.N, err)
	}
	if pc.DigitMap != "" {
		dm, err := line.ParseDigitMap(pc.DigitMap)
		if err != nil {
			return line.Config{}, fmt.Errorf("gateway: port %d dial plan: %w", pc.N, err)
		}
		lc.DigitMap = dm
	}
	dm, err := extendPlan(pc, lc.DigitMap)
	if err != nil {
		return line.Config{}, fmt.Errorf("gateway: port %d hot line or star codes: %w", pc.N, err)
	}
	lc.DigitMap = dm
	return lc, nil
}
