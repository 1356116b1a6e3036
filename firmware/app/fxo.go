package app

import (
	"strconv"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/voice/gateway"
)

// fxoConfig reads a port's FXO trunk settings (validated by
// firmware/config: numbers in range, known words).
func fxoConfig(p config.Port) gateway.FXOConfig {
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	return gateway.FXOConfig{
		PSTNTo:         p.PSTNTo,
		HuntTimeout:    time.Duration(atoi(p.HuntTimeout)) * time.Second,
		AnswerRings:    atoi(p.AnswerRings),
		AnswerRule:     p.AnswerRule,
		SilenceTimeout: time.Duration(atoi(p.SilenceTimeout)) * time.Second,
		BlindDial:      p.DialTone == "blind",
		Strip:          atoi(p.PSTNStrip),
		Prefix:         p.PSTNPrefix,
	}
}
