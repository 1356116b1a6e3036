package chips

// SetGains sets the DAA's digital gains in dB: toLine on the audio sent to
// the line, fromLine on the line's audio (si3050.Dev.SetGains).
func (f si3050FXO) SetGains(toLine, fromLine float64) error { return f.dev.SetGains(toLine, fromLine) }
