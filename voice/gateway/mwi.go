package gateway

// SetMessageWaiting turns the message-waiting indication of the FXS port
// whose account is accountID on or off (the line does the rest: stutter
// dial tone, the phone's lamp). It runs the change on the media loop and
// returns at once; it reports whether a port serves that account.
func (g *Gateway) SetMessageWaiting(accountID string, on bool) bool {
	p := g.byAcc[accountID]
	if p == nil || p.fault != nil || p.line == nil {
		return false
	}
	p.mwi.Store(on)
	if err := g.loop.Do(func() { p.line.SetMessageWaiting(on) }); err != nil {
		g.log.Warn("message waiting not applied", "port", p.cfg.N, "account", accountID, "on", on, "err", err)
		return false
	}
	return true
}

// applyMessageWaiting sets each port's starting message-waiting state from
// Config.MessageWaiting.
func (g *Gateway) applyMessageWaiting() {
	if g.cfg.MessageWaiting == nil {
		return
	}
	for id := range g.byAcc {
		if g.cfg.MessageWaiting(id) {
			g.SetMessageWaiting(id, true)
		}
	}
}
