package gateway

// Idle reports whether the port's line and media need no frame on time
// (media.Idler): its line is idle and none of its streams carries a call.
// A port out of service is never added to the loop.
func (p *port) Idle() bool {
	for _, s := range p.streams {
		if s != nil && s.Active() {
			return false
		}
	}
	if p.stream != nil && p.stream.Active() {
		return false
	}
	if p.fxo != nil {
		return p.fxo.line.Idle()
	}
	return p.line != nil && p.line.Idle() && !p.path.conf && !p.path.cw
}
