package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loopstart/loopstart/voice/sip"
	"github.com/loopstart/loopstart/voice/status"
)

// CheckConfig reports whether a gateway could be built from cfg, without
// opening sockets or touching the board: every port exists on the board
// and carries calls, its tone profile and dial plan are valid, and the
// SIP user agent accepts the accounts.
func CheckConfig(cfg Config) error {
	if cfg.Board == nil {
		return errors.New("gateway: no board")
	}
	var errs []error
	seen := map[int]bool{}
	for _, pc := range cfg.Ports {
		if seen[pc.N] {
			errs = append(errs, fmt.Errorf("gateway: port %d listed twice", pc.N))
			continue
		}
		seen[pc.N] = true
		if _, err := findPort(cfg.Board, pc.N); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := lineConfig(pc); err != nil {
			errs = append(errs, err)
		}
	}
	if err := checkExtensions(cfg.Ports); err != nil {
		errs = append(errs, err)
	}
	sc := cfg.SIP
	sc.SIPLogger = nil // sip.New would set sipgo's global logger
	if _, err := sip.New(sc); err != nil {
		errs = append(errs, fmt.Errorf("gateway: %w", err))
	}
	return errors.Join(errs...)
}

// BusyPorts lists the ports with a call up or the phone off hook, in
// port order; a new configuration waits for them.
func (g *Gateway) BusyPorts() []int {
	var out []int
	for _, p := range g.ports {
		st := p.status()
		if st.State == "fault" {
			continue
		}
		if st.State != "idle" || st.Hook == "off" {
			out = append(out, p.cfg.N)
		}
	}
	return out
}

// sameVoice reports whether two configs run the same gateway: they differ
// at most in loggers, handlers and the board pointer's identity.
func sameVoice(a, b Config) bool {
	strip := func(c Config) Config {
		c.Logger, c.SIP.Logger, c.SIP.SIPLogger, c.SIP.Handler = nil, nil, nil, nil
		c.Board = nil
		clearFuncs(reflect.ValueOf(&c).Elem())
		clearFuncs(reflect.ValueOf(&c.SIP).Elem())
		return c
	}
	return a.Board == b.Board && reflect.DeepEqual(strip(a), strip(b))
}

// clearFuncs zeroes the func fields of a struct (hooks are not settings).
func clearFuncs(v reflect.Value) {
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Func && f.CanSet() {
			f.SetZero()
		}
	}
}

// ApplyResult says what became of a new configuration.
type ApplyResult struct {
	// Applied is true when the new configuration is in force.
	Applied bool
	// Pending explains why it is not yet (a call is up); it is applied
	// as soon as every port is idle.
	Pending string
}

// Supervisor runs a Gateway and replaces it by one built from a new
// Config when the configuration changes. The swap waits until no port has
// a call up or a phone off hook, so calls in progress are never dropped;
// the user agent (and so every registration) restarts with the new
// gateway. If the new gateway cannot be built, the old configuration is
// built again and stays in force.
type Supervisor struct {
	log  *slog.Logger
	wake chan struct{}

	mu      sync.Mutex
	gw      *Gateway
	cfg     Config
	pending *Config
	waiters []chan error
	swaps   int
}

// NewSupervisor builds the first gateway from cfg.
func NewSupervisor(cfg Config) (*Supervisor, error) {
	gw, err := New(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Supervisor{log: log, wake: make(chan struct{}, 1), gw: gw, cfg: cfg}, nil
}

// Gateway returns the gateway running now.
func (s *Supervisor) Gateway() *Gateway {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw
}

// Status returns the running gateway's status; safe from any goroutine.
func (s *Supervisor) Status() status.Status {
	return s.Gateway().Status()
}

// Swaps counts the gateways replaced so far.
func (s *Supervisor) Swaps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.swaps
}

// Apply makes cfg the configuration. A config the gateway cannot run is
// refused with the reason and changes nothing. An unchanged one is
// applied at once. Otherwise the gateway is rebuilt as soon as every port
// is idle: Apply waits for that up to ctx's end and then reports the
// change as pending with the busy ports. A later Apply replaces a pending
// one.
func (s *Supervisor) Apply(ctx context.Context, cfg Config) (ApplyResult, error) {
	if err := CheckConfig(cfg); err != nil {
		return ApplyResult{}, err
	}
	s.mu.Lock()
	if s.pending == nil && sameVoice(s.cfg, cfg) {
		s.cfg = cfg
		s.mu.Unlock()
		return ApplyResult{Applied: true}, nil
	}
	s.pending = &cfg
	done := make(chan error, 1)
	s.waiters = append(s.waiters, done)
	gw := s.gw
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-done:
		if err != nil {
			return ApplyResult{}, err
		}
		return ApplyResult{Applied: true}, nil
	case <-ctx.Done():
		busy := gw.BusyPorts()
		if len(busy) == 0 {
			return ApplyResult{Pending: "the gateway is restarting with it"}, nil
		}
		return ApplyResult{Pending: "applies when the call on port " + joinInts(busy) + " ends"}, nil
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// swapPoll is how often Run checks whether a pending config can go in.
const swapPoll = 100 * time.Millisecond

// Run runs the gateway, and each replacement, until ctx ends.
func (s *Supervisor) Run(ctx context.Context) error {
	for {
		gw := s.Gateway()
		gctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- gw.Run(gctx) }()
		tick := time.NewTicker(swapPoll)
		swap := false
		for !swap {
			select {
			case <-ctx.Done():
				tick.Stop()
				cancel()
				err := <-done
				s.finishWaiters(errors.New("gateway stopped"))
				if errors.Is(err, context.Canceled) {
					err = nil // we asked it to stop
				}
				return err
			case err := <-done:
				tick.Stop()
				cancel()
				s.finishWaiters(errors.New("gateway stopped"))
				if errors.Is(err, context.Canceled) && ctx.Err() != nil {
					err = nil // our stop, seen from the gateway's side first
				}
				return err
			case <-s.wake:
			case <-tick.C:
			}
			s.mu.Lock()
			swap = s.pending != nil && len(gw.BusyPorts()) == 0
			s.mu.Unlock()
		}
		tick.Stop()
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			s.log.Warn("gateway stopped for a new configuration", "err", err)
		}
		if err := s.swap(); err != nil {
			return err
		}
	}
}

// swap builds the gateway of the pending config, or the old one again.
func (s *Supervisor) swap() error {
	s.mu.Lock()
	next := *s.pending
	s.pending = nil
	old := s.cfg
	s.mu.Unlock()
	gw, err := New(next)
	if err == nil {
		s.mu.Lock()
		s.gw, s.cfg = gw, next
		s.swaps++
		s.mu.Unlock()
		s.log.Info("new configuration in force")
		s.finishWaiters(nil)
		return nil
	}
	s.log.Error("new configuration cannot run; the old one stays", "err", err)
	s.finishWaiters(fmt.Errorf("cannot run it: %w", err))
	back, berr := New(old)
	if berr != nil {
		return fmt.Errorf("gateway: rebuilding the old configuration: %w", berr)
	}
	s.mu.Lock()
	s.gw = back
	s.mu.Unlock()
	return nil
}

func (s *Supervisor) finishWaiters(err error) {
	s.mu.Lock()
	ws := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	for _, w := range ws {
		w <- err
	}
}
