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
	"github.com/loopstart/loopstart/dsp"
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
	// FXO is the trunk setting of an FXO port.
	FXO FXOConfig
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
	// MessageWaiting, when set, tells the message-waiting state an
	// account's port starts with (kept across restarts by the caller);
	// nil starts them all off. SetMessageWaiting changes it later.
	MessageWaiting func(accountID string) bool
}

// Gateway runs the analog ports, the SIP user agent and the media loop.
type Gateway struct {
	cfg   Config
	log   *slog.Logger
	ua    *sip.UA
	loop  *media.Loop
	ports []*port
	start atomic.Pointer[time.Time] // set by Run, read by Status
	byAcc map[string]*port
	byExt map[string]*port // PortConfig.Extension → port
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
	g := &Gateway{cfg: cfg, log: cfg.Logger, byAcc: map[string]*port{}, byExt: map[string]*port{}}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.loop = media.NewLoop(cfg.Board.Highway, media.LoopOpts{Priority: cfg.LoopPriority})
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
			p.stream.Close()
		}
	}
}

// Run starts the user agent and the media loop and serves calls until ctx
// ends; then it hangs up, unregisters and returns.
func (g *Gateway) Run(ctx context.Context) error {
	now := time.Now()
	g.start.Store(&now)
	defer g.closeStreams()
	if err := g.ua.Start(ctx); err != nil {
		return err
	}
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
		MaxLatenessUS: ls.MaxLateness.Microseconds(), Histogram: loopHistogram(ls),
		Priority: ls.Priority, PriorityError: ls.PriorityError, MaxWorkUS: ls.MaxWork.Microseconds()}
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
	return lc, nil
}
