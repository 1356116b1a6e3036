package gateway

import (
	"log/slog"
	"time"

	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/status"
)

// callMedia remembers what a call's statistics are measured against: the
// stream's counters are cumulative over calls.
type callMedia struct {
	base   media.StreamStats
	start  time.Time
	codec  string
	suite  string
	ptime  time.Duration
	local  string
	remote string
}

// beginCallStats starts the statistics of a call whose media just started.
func (p *port) beginCallStats(codec, suite string, ptime time.Duration, remote string) {
	cm := &callMedia{base: p.stream.Stats(), start: time.Now(), codec: codec, suite: suite, ptime: ptime,
		local: p.stream.LocalAddr().String(), remote: remote}
	p.mu.Lock()
	p.media = cm
	p.mu.Unlock()
}

// endCallStats closes the current call's statistics, keeps them as the
// last call's and logs them.
func (p *port) endCallStats(log *slog.Logger) {
	p.mu.Lock()
	cm := p.media
	p.media = nil
	p.mu.Unlock()
	if cm == nil {
		return
	}
	cs := cm.stats(p.stream.Stats())
	p.mu.Lock()
	p.lastCall = &cs
	p.mu.Unlock()
	p.g.cfg.CallQuality.Observe(cs)
	log.Info("call media", "codec", cs.Codec, "srtp", cs.SRTP, "seconds", round1(cs.Seconds),
		"sent", cs.PacketsSent, "received", cs.PacketsReceived, "lost", cs.Lost, "loss_pct", round1(cs.LossPercent),
		"late", cs.Late, "duplicates", cs.Duplicates, "auth_failures", cs.AuthFailures,
		"concealed_ms", round1(cs.ConcealedMS), "jitter_ms", round1(cs.JitterMS), "mos", round1(cs.MOS),
		"dtmf_sent", cs.DTMFSent, "dtmf_received", cs.DTMFReceived, "dtmf_echoes", cs.DTMFEchoes, "rtt_ms", round1(cs.RTTMS),
		"rtcp_sent", cs.RTCPSent, "rtcp_received", cs.RTCPReceived, "remote_lost", cs.RemoteLost)
}

// callStats returns the current call's statistics (nil without a call) and
// the last call's.
func (p *port) callStats() (cur, last *status.CallStats) {
	p.mu.Lock()
	cm, last := p.media, p.lastCall
	p.mu.Unlock()
	if cm != nil {
		cs := cm.stats(p.stream.Stats())
		cur = &cs
	}
	return cur, last
}

// stats computes a call's figures from the stream's counters now.
func (cm *callMedia) stats(now media.StreamStats) status.CallStats {
	b := cm.base
	cs := status.CallStats{
		Codec:           cm.codec,
		SRTP:            cm.suite,
		Encrypted:       cm.suite != "",
		LocalRTP:        cm.local,
		RemoteRTP:       cm.remote,
		Seconds:         time.Since(cm.start).Seconds(),
		PacketsSent:     now.PacketsSent - b.PacketsSent,
		PacketsReceived: now.PacketsReceived - b.PacketsReceived,
		Late:            now.Late - b.Late,
		Duplicates:      now.Duplicates - b.Duplicates,
		AuthFailures:    now.AuthFailures - b.AuthFailures,
		ConcealedMS:     float64(now.Concealed-b.Concealed) / 8,
		JitterMS:        float64(now.Jitter) / float64(time.Millisecond),
		BufferMS:        float64(now.BufferDelay) / float64(time.Millisecond),
		DTMFSent:        now.DTMFSent - b.DTMFSent,
		DTMFReceived:    now.DTMFReceived - b.DTMFReceived,
		DTMFEchoes:      now.DTMFEchoes - b.DTMFEchoes,
		RTCPSent:        now.RTCPSent - b.RTCPSent,
		RTCPReceived:    now.RTCPReceived - b.RTCPReceived,
		RTTMS:           float64(now.RTT) / float64(time.Millisecond),
		RemoteLost:      now.RemoteLost,
		RemoteJitterMS:  float64(now.RemoteJitter) / float64(time.Millisecond),
	}
	cs.Echo = echoStats(now.Echo)
	if now.Lost > b.Lost {
		cs.Lost = now.Lost - b.Lost
	}
	if exp := cs.PacketsReceived + cs.Lost; exp > 0 {
		cs.LossPercent = 100 * float64(cs.Lost) / float64(exp)
	}
	// Mouth-to-ear estimate: packetization, the network (half the RTCP
	// round trip, once the far end has reported), the jitter buffer, a
	// frame of PCM on each side.
	oneWay := cm.ptime + now.RTT/2 + now.BufferDelay + 2*10*time.Millisecond
	cs.MOS = round2(media.EModelMOS(oneWay, cs.LossPercent))
	return cs
}

// loopHistogram converts the media loop's histogram for the status.
func loopHistogram(ls media.Stats) []status.LatenessBucket {
	out := make([]status.LatenessBucket, len(ls.Histogram))
	for i, n := range ls.Histogram {
		out[i].Count = n
		if i < len(media.LatenessBuckets) {
			out[i].UpToUS = media.LatenessBuckets[i].Microseconds()
		}
	}
	return out
}

// workHistogram converts the loop's per-frame work histogram.
func workHistogram(ls media.Stats) []status.LatenessBucket {
	out := make([]status.LatenessBucket, len(ls.WorkHistogram))
	for i, n := range ls.WorkHistogram {
		out[i].Count = n
		if i < len(media.WorkBuckets) {
			out[i].UpToUS = media.WorkBuckets[i].Microseconds()
		}
	}
	return out
}

// echoStats converts the stream's echo figures for the status.
func echoStats(e media.EchoStats) *status.EchoStats {
	es := &status.EchoStats{
		TailMS:        int(e.Tail / time.Millisecond),
		Active:        e.Active,
		ERLEDB:        round1(e.ERLE),
		DoubleTalkPct: round1(100 * e.DoubleTalk),
		SuppressedPct: round1(100 * e.Suppressed),
		DisabledBy:    e.DisabledBy,
		Passthrough:   e.Passthrough,
	}
	if e.Passthrough != "" {
		es.PassthroughFrom = "network"
		if e.PassthroughFromLine {
			es.PassthroughFrom = "line"
		}
		if e.Passthrough == media.PassthroughFaxLine {
			es.PassthroughFrom = ""
		}
	}
	return es
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
