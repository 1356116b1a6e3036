package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loopstart/loopstart/voice/dialplan"
	"github.com/loopstart/loopstart/voice/line"
	"github.com/loopstart/loopstart/voice/sip"
	"github.com/loopstart/loopstart/voice/status"
)

// Star code names (PortConfig.StarCodes keys).
const (
	CodeForwardAllOn       = "cfa-on"
	CodeForwardAllOff      = "cfa-off"
	CodeForwardBusyOn      = "cfb-on"
	CodeForwardBusyOff     = "cfb-off"
	CodeForwardNoAnswerOn  = "cfna-on"
	CodeForwardNoAnswerOff = "cfna-off"
	CodeDNDOn              = "dnd-on"
	CodeDNDOff             = "dnd-off"
	CodeRejectAnonOn       = "acr-on"
	CodeRejectAnonOff      = "acr-off"
	CodeBlockCallerID      = "block-cid"
	CodeCallWaitingOff     = "cw-off"
)

// DefaultStarCodes are the Cisco SPA / Grandstream codes a port answers
// to unless PortConfig.StarCodes says otherwise.
var DefaultStarCodes = map[string]string{
	CodeForwardAllOn: "*72", CodeForwardAllOff: "*73",
	CodeForwardBusyOn: "*90", CodeForwardBusyOff: "*91",
	CodeForwardNoAnswerOn: "*92", CodeForwardNoAnswerOff: "*93",
	CodeDNDOn: "*78", CodeDNDOff: "*79",
	CodeRejectAnonOn: "*77", CodeRejectAnonOff: "*87",
	CodeBlockCallerID:  "*67",
	CodeCallWaitingOff: "*70",
}

// withTarget are the codes followed by a number (the forwarding target,
// or the number to call).
var withTarget = map[string]bool{CodeForwardAllOn: true, CodeForwardBusyOn: true, CodeForwardNoAnswerOn: true,
	CodeBlockCallerID: true, CodeCallWaitingOff: true}

// directIPCode dials an IP address with '*' for the dots (Grandstream):
// *47192*168*0*160, optionally *port after the address.
const directIPCode = "*47"

// defaultNoAnswer is the no-answer forwarding delay when none is set.
const defaultNoAnswer = 20 * time.Second

// starCodes returns the port's code table: the defaults with its overrides
// ("" turns a code off); nil when the PBX runs the features.
func (pc PortConfig) starCodes() map[string]string {
	if pc.PBXFeatures {
		return nil
	}
	codes := make(map[string]string, len(DefaultStarCodes))
	for k, v := range DefaultStarCodes {
		codes[k] = v
	}
	for k, v := range pc.StarCodes {
		codes[k] = v
	}
	return codes
}

// extendPlan adds the port's hot line before its plan and its star codes
// (and direct IP dialing) after it.
func extendPlan(pc PortConfig, m *dialplan.Map) (*dialplan.Map, error) {
	var first, last []string
	if pc.Hotline != "" {
		if pc.HotlineDelay > 0 {
			first = append(first, fmt.Sprintf("P%g<:%s>", pc.HotlineDelay.Seconds(), pc.Hotline))
		} else {
			first = append(first, "S0<:"+pc.Hotline+">")
		}
	}
	codes := pc.starCodes()
	names := make([]string, 0, len(codes))
	for name := range codes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		code := codes[name]
		if code == "" {
			continue
		}
		if withTarget[name] {
			last = append(last, code+"xx.")
		} else {
			last = append(last, code)
		}
	}
	if !pc.PBXFeatures {
		last = append(last, directIPCode+"x.*x.*x.*x.", directIPCode+"x.*x.*x.*x.*x.")
	}
	if m == nil && len(first) == 0 {
		return nil, nil // without a plan any keys are a number, codes too
	}
	if len(first) == 0 && len(last) == 0 {
		return m, nil
	}
	if m == nil {
		// Any keys, ended by the long timer or '#', as without a plan.
		var err error
		if m, err = dialplan.Parse(fmt.Sprintf("S:%g,([x*#].)", line.DefaultInterDigitLong.Seconds())); err != nil {
			return nil, err
		}
	}
	return m.Extend(first, last)
}

// dialRequest is what a dialed string asks for once star codes are read.
type dialRequest struct {
	number  string // the number to call; "" when a feature code was all
	private bool   // *67: withhold caller ID
	noCW    bool   // *70: no call waiting during this call
	ok      bool   // a feature code took effect (confirmation tone)
}

// feature reads a dialed string: a feature code changes the port's
// features; a prefix code (*67, *70) marks the call; *47 dials an IP.
func (p *port) feature(number string) dialRequest {
	codes := p.cfg.starCodes()
	if codes == nil {
		return dialRequest{number: number}
	}
	// Longest code first, so that *7 never shadows *72.
	var match, rest string
	for name, code := range codes {
		if code == "" || !strings.HasPrefix(number, code) || len(code) <= len(codes[match]) {
			continue
		}
		if tail := number[len(code):]; tail == "" || withTarget[name] {
			match, rest = name, tail
		}
	}
	if strings.HasPrefix(number, directIPCode) && match == "" {
		if uri, ok := directIP(number[len(directIPCode):]); ok {
			return dialRequest{number: uri}
		}
	}
	if match == "" {
		return dialRequest{number: number}
	}
	f, _ := p.g.Features(p.cfg.N)
	switch match {
	case CodeBlockCallerID:
		return dialRequest{number: rest, private: true}
	case CodeCallWaitingOff:
		return dialRequest{number: rest, noCW: true}
	case CodeForwardAllOn, CodeForwardBusyOn, CodeForwardNoAnswerOn:
		if rest == "" {
			return dialRequest{}
		}
		switch match {
		case CodeForwardAllOn:
			f.ForwardAll = rest
		case CodeForwardBusyOn:
			f.ForwardBusy = rest
		default:
			f.ForwardNoAnswer = rest
		}
	case CodeForwardAllOff:
		f.ForwardAll = ""
	case CodeForwardBusyOff:
		f.ForwardBusy = ""
	case CodeForwardNoAnswerOff:
		f.ForwardNoAnswer = ""
	case CodeDNDOn, CodeDNDOff:
		f.DND = match == CodeDNDOn
	case CodeRejectAnonOn, CodeRejectAnonOff:
		f.RejectAnonymous = match == CodeRejectAnonOn
	}
	if err := p.g.SetFeatures(p.cfg.N, f); err != nil {
		p.g.log.Error("feature code not kept", "port", p.cfg.N, "code", match, "err", err)
		return dialRequest{}
	}
	p.g.log.Info("feature code", "port", p.cfg.N, "code", match)
	return dialRequest{ok: true}
}

// directIP turns "192*168*0*160[*5062]" into sip:192.168.0.160[:5062].
func directIP(s string) (string, bool) {
	parts := strings.Split(s, "*")
	if len(parts) != 4 && len(parts) != 5 {
		return "", false
	}
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || (i < 4 && n > 255) || (i == 4 && (n == 0 || n > 65535)) {
			return "", false
		}
	}
	uri := "sip:" + strings.Join(parts[:4], ".")
	if len(parts) == 5 {
		uri += ":" + parts[4]
	}
	return uri, true
}

// screen answers an incoming call the port's features refuse or forward;
// it reports whether it did. busy is set when the port has a call.
func (p *port) screen(c *sip.Call, busy bool) bool {
	f, ok := p.g.Features(p.cfg.N)
	if !ok {
		return false
	}
	log := p.g.log.With("port", p.cfg.N, "call", c.ID())
	switch {
	case f.ForwardAll != "":
		log.Info("forwarding all calls", "to", f.ForwardAll)
		p.redirect(c, f.ForwardAll)
	case busy && f.ForwardBusy != "":
		log.Info("forwarding on busy", "to", f.ForwardBusy)
		p.redirect(c, f.ForwardBusy)
	case f.DND:
		log.Info("do not disturb: busy")
		_ = c.Reject(486, "Busy Here")
	case f.RejectAnonymous && (c.Caller().Private || c.Caller().Unavailable):
		log.Info("anonymous call rejected")
		_ = c.Reject(433, "Anonymity Disallowed")
	default:
		return false
	}
	return true
}

// noAnswer returns the no-answer forwarding timer for a call starting to
// ring, nil when the port forwards none.
func (p *port) noAnswer() (<-chan time.Time, string) {
	f, ok := p.g.Features(p.cfg.N)
	if !ok || f.ForwardNoAnswer == "" {
		return nil, ""
	}
	d := time.Duration(f.NoAnswerSeconds) * time.Second
	if d <= 0 {
		d = defaultNoAnswer
	}
	return time.After(d), f.ForwardNoAnswer
}

func (p *port) redirect(c *sip.Call, target string) {
	if err := c.Redirect(target); err != nil {
		p.g.log.Warn("forwarding failed", "port", p.cfg.N, "to", target, "err", err)
		_ = c.Reject(480, "Temporarily Unavailable")
	}
}

// Features returns a port's forwarding and screening settings; ok is
// false for a port that has none (no such port, or the PBX runs them).
func (g *Gateway) Features(port int) (f status.Features, ok bool) {
	p := g.portByN(port)
	if p == nil || p.cfg.PBXFeatures || p.line == nil {
		return status.Features{}, false
	}
	g.featMu.Lock()
	defer g.featMu.Unlock()
	return g.feats[strconv.Itoa(port)], true
}

// SetFeatures changes a port's settings and keeps them in
// Config.FeaturesFile (written whole, then renamed over the old one).
func (g *Gateway) SetFeatures(port int, f status.Features) error {
	p := g.portByN(port)
	if p == nil || p.line == nil {
		return fmt.Errorf("gateway: no FXS port %d", port)
	}
	if p.cfg.PBXFeatures {
		return fmt.Errorf("gateway: port %d leaves features to the PBX", port)
	}
	if f.NoAnswerSeconds < 0 || f.NoAnswerSeconds > 300 {
		return fmt.Errorf("gateway: no-answer delay %d s is not between 0 and 300", f.NoAnswerSeconds)
	}
	g.featMu.Lock()
	defer g.featMu.Unlock()
	next := make(map[string]status.Features, len(g.feats)+1)
	for k, v := range g.feats {
		next[k] = v
	}
	next[strconv.Itoa(port)] = f
	if g.cfg.FeaturesFile != "" {
		if err := writeFeatures(g.cfg.FeaturesFile, next); err != nil {
			return err
		}
	}
	g.feats = next
	return nil
}

func (g *Gateway) portByN(n int) *port {
	for _, p := range g.ports {
		if p.cfg.N == n {
			return p
		}
	}
	return nil
}

// featuresFile is the JSON kept in the data directory: settings by port.
type featuresFile struct {
	Ports map[string]status.Features `json:"ports"`
}

// loadFeatures reads the kept settings; a missing file is no settings.
func loadFeatures(path string) (map[string]status.Features, error) {
	if path == "" {
		return map[string]status.Features{}, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]status.Features{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: features: %w", err)
	}
	var ff featuresFile
	if err := json.Unmarshal(b, &ff); err != nil {
		return nil, fmt.Errorf("gateway: features %s: %w", path, err)
	}
	if ff.Ports == nil {
		ff.Ports = map[string]status.Features{}
	}
	return ff.Ports, nil
}

func writeFeatures(path string, ports map[string]status.Features) error {
	b, err := json.MarshalIndent(featuresFile{Ports: ports}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".features-*.json")
	if err != nil {
		return fmt.Errorf("gateway: features: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("gateway: features: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("gateway: features: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("gateway: features: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gateway: features: %w", err)
	}
	return nil
}
