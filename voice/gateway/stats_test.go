package gateway

import (
	"testing"
	"time"

	"github.com/loopstart/loopstart/voice/media"
)

// TestCallStatsMOSUsesRTT: the RTCP round trip enters the E-model's delay,
// and the RTCP figures reach the call statistics.
func TestCallStatsMOSUsesRTT(t *testing.T) {
	cm := &callMedia{start: time.Now(), ptime: 20 * time.Millisecond}
	base := media.StreamStats{PacketsReceived: 1000, BufferDelay: 20 * time.Millisecond}
	tests := []struct {
		name    string
		rtt     time.Duration
		wantMOS func(float64) bool
	}{
		{"no rtcp yet", 0, func(m float64) bool { return m > 4.3 }},
		{"lan", 2 * time.Millisecond, func(m float64) bool { return m > 4.3 }},
		{"satellite", 900 * time.Millisecond, func(m float64) bool { return m < 3.9 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := base
			now.RTT = tt.rtt
			now.RTCPReceived, now.RemoteLost = 3, 2
			cs := cm.stats(now)
			if !tt.wantMOS(cs.MOS) {
				t.Errorf("MOS %.2f with RTT %v", cs.MOS, tt.rtt)
			}
			if cs.RTTMS != float64(tt.rtt)/1e6 || cs.RTCPReceived != 3 || cs.RemoteLost != 2 {
				t.Errorf("stats %+v", cs)
			}
		})
	}
}
