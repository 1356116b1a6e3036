package gateway

// attachCapture hands Config.Capture to every stream of every port,
// labelled with the port's number.
func (g *Gateway) attachCapture() {
	if g.cfg.Capture == nil {
		return
	}
	for _, p := range g.ports {
		for _, s := range p.streams {
			if s != nil {
				s.SetCapture(g.cfg.Capture, p.cfg.N)
			}
		}
	}
}
