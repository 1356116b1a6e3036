// Package status holds the gateway's status snapshot types, shared by the
// gateway that fills them and the web UI that shows them. It imports only the
// standard library, so readers of the status need not link the voice stack.
package status

import "time"

// Status is a snapshot of the gateway for the status page and /api/status.
type Status struct {
	// Version is the firmware version string.
	Version string `json:"version"`
	// Board names the board definition in use.
	Board string `json:"board"`
	// Uptime is how long the gateway has run, in seconds.
	Uptime float64 `json:"uptime_s"`
	// Ports has one entry per analog port.
	Ports []PortStatus `json:"ports"`
	// Accounts has one entry per SIP account.
	Accounts []AccountStatus `json:"accounts"`
	// Loop reports the health of the real-time media loop.
	Loop LoopStatus `json:"loop"`
	// SIP reports the SIP stack's overload protection.
	SIP SIPStatus `json:"sip"`
	// LastCrash is why the previous gateway process ended, as the boot
	// supervisor recorded it (empty when it did not crash).
	LastCrash string `json:"last_crash,omitempty"`
}

// SIPStatus counts what the SIP stack's overload protection refused.
type SIPStatus struct {
	// Shed counts requests answered 503 because they came over the rate
	// limits; DroppedACKs ACKs dropped for the same reason.
	Shed        uint64 `json:"shed"`
	DroppedACKs uint64 `json:"dropped_acks"`
	// Bans counts sources banned for failing again and again;
	// DroppedBanned datagrams dropped unanswered from banned sources;
	// RefusedConns TCP/TLS connections closed at accept (banned, or over
	// a connection cap); ClosedConns connections the limits ended (a
	// deadline, a message too large, not SIP).
	Bans          uint64 `json:"bans"`
	DroppedBanned uint64 `json:"dropped_banned"`
	RefusedConns  uint64 `json:"refused_conns"`
	ClosedConns   uint64 `json:"closed_conns"`
}

// PortStatus is the state of one analog port.
type PortStatus struct {
	// Port is the port number, from 1.
	Port int `json:"port"`
	// Kind is "fxs" or "fxo".
	Kind string `json:"kind"`
	// Account is the id of the SIP account the port uses.
	Account string `json:"account"`
	// Hook is "on" or "off".
	Hook string `json:"hook"`
	// State is the line state: idle, dialtone, dialing, calling, ringback,
	// talking, ringing, busy, reorder, disconnected, fault or confirm.
	State string `json:"state"`
	// Peer is the other party of the current call, if any.
	Peer string `json:"peer,omitempty"`
	// CallSeconds is the duration of the current call once answered.
	CallSeconds float64 `json:"call_s,omitempty"`
	// Fault explains why the port is out of service, if it is.
	Fault string `json:"fault,omitempty"`
	// MWI is true while the port's mailbox has messages waiting (the
	// phone's lamp and stutter dial tone); always false for FXO ports.
	MWI bool `json:"mwi"`
	// Line is the PSTN line of an FXO port (nil for FXS ports).
	Line *LineStatus `json:"line,omitempty"`
	// Call has the media statistics of the current call; LastCall those of
	// the previous one.
	Call     *CallStats `json:"call,omitempty"`
	LastCall *CallStats `json:"last_call,omitempty"`
	// Features are the port's calling features as its star codes (or
	// the web UI) set them; nil when the PBX runs the features.
	Features *Features `json:"features,omitempty"`
}

// Features are a port's forwarding and screening settings: runtime state
// kept in the data directory, not configuration.
type Features struct {
	// ForwardAll, ForwardBusy and ForwardNoAnswer are the targets calls
	// are forwarded to (302) always, when the port is busy, and when it
	// rings unanswered for NoAnswerSeconds; "" is off.
	ForwardAll      string `json:"forward_all,omitempty"`
	ForwardBusy     string `json:"forward_busy,omitempty"`
	ForwardNoAnswer string `json:"forward_no_answer,omitempty"`
	// NoAnswerSeconds is the no-answer forwarding delay; 0 means 20 s.
	NoAnswerSeconds int `json:"no_answer_s,omitempty"`
	// DND (do not disturb) answers every call busy without ringing.
	DND bool `json:"dnd"`
	// RejectAnonymous answers calls without a caller ID with 433.
	RejectAnonymous bool `json:"reject_anonymous"`
}

// LineStatus is the state of an FXO port's PSTN line, as its DAA sees it.
type LineStatus struct {
	// Volts is the tip-ring voltage, negative when the polarity is reversed.
	Volts int `json:"volts"`
	// LoopMA is the loop current while the port holds the line.
	LoopMA int `json:"loop_ma"`
	// Polarity is "normal" or "reversed" (relative to start-up).
	Polarity string `json:"polarity"`
	// Battery is false while the line has no battery (disconnected).
	Battery bool `json:"battery"`
	// InUse is true while another phone on the line is off hook.
	InUse bool `json:"in_use"`
	// Rings counts the ring bursts of the current or last ringing.
	Rings int `json:"rings"`
	// Error is the last driver error, if the line could not be read.
	Error string `json:"error,omitempty"`
	// Call is the trunk call state: idle, ringing, seized, dialing,
	// progress, talking or collecting (two-stage dialing).
	Call string `json:"call,omitempty"`
	// CallerNumber and CallerName are the caller ID captured for the
	// current or last PSTN call.
	CallerNumber string `json:"caller_number,omitempty"`
	CallerName   string `json:"caller_name,omitempty"`
	// Dialed is the number the port is dialing or dialed on the line.
	Dialed string `json:"dialed,omitempty"`
	// Disconnect says how the line ended the last call (polarity
	// reversal, loop current lost, busy tone, reorder tone, silence).
	Disconnect string `json:"disconnect,omitempty"`
}

// AccountStatus is the registration state of one SIP account.
type AccountStatus struct {
	// ID is the account id from the config.
	ID string `json:"id"`
	// User is the SIP user (the extension).
	User string `json:"user"`
	// Registrar is the registrar URI, empty for an account that does not register.
	Registrar string `json:"registrar,omitempty"`
	// State is one of: none (no registrar), registering, registered, failed, unregistered.
	State string `json:"state"`
	// LastError explains the last failure, in words a person can act on.
	LastError string `json:"last_error,omitempty"`
	// LastCode is the SIP status code of the last registration response.
	LastCode int `json:"last_code,omitempty"`
	// Expires is when the current registration runs out.
	Expires time.Time `json:"expires,omitzero"`
}

// LoopStatus reports the media loop's health counters.
type LoopStatus struct {
	// Running is true while the loop ticks.
	Running bool `json:"running"`
	// Ticks counts frames processed.
	Ticks uint64 `json:"ticks"`
	// Late counts frames processed later than a frame after their boundary.
	Late uint64 `json:"late"`
	// Missed counts frames the loop never processed.
	Missed uint64 `json:"missed"`
	// MaxLateness is the worst lateness seen, in microseconds.
	MaxLatenessUS int64 `json:"max_lateness_us"`
	// MaxWorkUS is the longest one frame's processing took, in microseconds.
	MaxWorkUS int64 `json:"max_work_us,omitempty"`
	// Histogram counts ticks by lateness.
	Histogram []LatenessBucket `json:"histogram,omitempty"`
	// WorkHistogram counts ticks by the loop's work on them (UpToUS is
	// the bucket's bound on one frame's processing time).
	WorkHistogram []LatenessBucket `json:"work_histogram,omitempty"`
	// Priority is the loop thread's SCHED_FIFO priority, 0 when it runs
	// in the normal class; PriorityError says why a requested priority
	// could not be set.
	Priority      int    `json:"priority,omitempty"`
	PriorityError string `json:"priority_error,omitempty"`
	// Workers is how many goroutines share a busy frame's channels (1:
	// the loop alone); SplitFrames counts the frames they shared and
	// HelperTicks the port ticks of those frames the helpers did.
	Workers     int    `json:"workers,omitempty"`
	SplitFrames uint64 `json:"split_frames,omitempty"`
	HelperTicks uint64 `json:"helper_ticks,omitempty"`
	// SimModelsCPUUS is, on the simulated board, the CPU time its chip
	// models, phones and lines have taken in the loop's frames since it
	// started, in microseconds: test equipment in the same process, told
	// apart from the product's own cost (absent on real hardware).
	SimModelsCPUUS int64 `json:"sim_models_cpu_us,omitempty"`
}

// LatenessBucket is one bar of the media loop's tick-lateness histogram.
type LatenessBucket struct {
	// UpToUS is the bucket's upper bound in microseconds; 0 on the last
	// bucket, which counts everything above the previous bound.
	UpToUS int64 `json:"up_to_us"`
	// Count is the number of ticks that fell into the bucket.
	Count uint64 `json:"count"`
}

// CallStats are the media statistics of one call (current or finished).
type CallStats struct {
	// Codec is the negotiated codec ("pcmu", "pcma", "g722").
	Codec string `json:"codec"`
	// SRTP names the SRTP crypto suite, empty for clear RTP.
	SRTP string `json:"srtp,omitempty"`
	// Encrypted reports whether the call's media is SRTP (SRTP is set)
	// rather than clear RTP.
	Encrypted bool `json:"encrypted"`
	// LocalRTP and RemoteRTP are the RTP addresses, ours and the far end's.
	LocalRTP  string `json:"local_rtp"`
	RemoteRTP string `json:"remote_rtp"`
	// Seconds is the call's duration so far.
	Seconds float64 `json:"seconds"`
	// PacketsSent and PacketsReceived count RTP packets.
	PacketsSent     uint64 `json:"packets_sent"`
	PacketsReceived uint64 `json:"packets_received"`
	// Lost counts packets never received; LossPercent is Lost over expected.
	Lost        uint64  `json:"lost"`
	LossPercent float64 `json:"loss_pct"`
	// Late counts packets that came too late to play; Duplicates twice-received ones.
	Late       uint64 `json:"late"`
	Duplicates uint64 `json:"duplicates"`
	// AuthFailures counts packets dropped by SRTP authentication.
	AuthFailures uint64 `json:"auth_failures,omitempty"`
	// ConcealedMS is the audio made up by loss concealment, in milliseconds.
	ConcealedMS float64 `json:"concealed_ms"`
	// JitterMS is the RFC 3550 interarrival jitter.
	JitterMS float64 `json:"jitter_ms"`
	// BufferMS is the jitter buffer's current delay.
	BufferMS float64 `json:"buffer_ms"`
	// MOS is the E-model (ITU-T G.107) estimate of listening quality, 1..4.5.
	MOS float64 `json:"mos"`
	// DTMFSent and DTMFReceived count RFC 4733 telephone-events (digits).
	DTMFSent     uint64 `json:"dtmf_sent,omitempty"`
	DTMFReceived uint64 `json:"dtmf_received,omitempty"`
	// DTMFEchoes counts digits the phone's side carried that were taken
	// for the line's echo of the far end's audio and not sent.
	DTMFEchoes uint64 `json:"dtmf_echoes,omitempty"`
	// RTCPSent and RTCPReceived count RTCP reports (SRTCP on SRTP calls).
	RTCPSent     uint64 `json:"rtcp_sent"`
	RTCPReceived uint64 `json:"rtcp_received"`
	// RTTMS is the round-trip time from RTCP (0 until the far end
	// reported on our stream); the MOS includes half of it.
	RTTMS float64 `json:"rtt_ms"`
	// RemoteLost and RemoteJitterMS are the far end's view of our stream
	// (its last RTCP report): packets lost, interarrival jitter.
	RemoteLost     uint64  `json:"remote_lost"`
	RemoteJitterMS float64 `json:"remote_jitter_ms"`
	// Echo is the call's line echo control (nil on calls without it).
	Echo *EchoStats `json:"echo,omitempty"`
}

// EchoStats are a call's line echo canceller figures and its fax/modem
// pass-through state.
type EchoStats struct {
	// TailMS is the canceller's tail.
	TailMS int `json:"tail_ms"`
	// Active reports whether the canceller runs now.
	Active bool `json:"active"`
	// ERLEDB estimates the echo return loss enhancement: how much of the
	// echo the canceller removes while only the far end talks.
	ERLEDB float64 `json:"erle_db"`
	// DoubleTalkPct is the share of the far end's talk during which the
	// near end talked too (adaptation held).
	DoubleTalkPct float64 `json:"double_talk_pct"`
	// SuppressedPct is the share of the far end's talk during which the
	// non-linear processor replaced what was left of the echo by comfort
	// noise.
	SuppressedPct float64 `json:"suppressed_pct"`
	// DisabledBy says why the canceller (or its non-linear processor) is
	// off: "reversals" (2100 Hz answer tone with phase reversals: off for
	// the call), "passthrough" (fax/modem pass-through), "ans" (2100 Hz
	// without reversals: non-linear processor off while it lasts),
	// "config"; empty while it fully runs.
	DisabledBy string `json:"disabled_by,omitempty"`
	// Passthrough says why the call is in fax/modem pass-through:
	// "fax-line" (the port's setting), "cng" (1100 Hz calling tone) or
	// "ans" (2100 Hz answer tone); empty when it is not.
	Passthrough string `json:"passthrough,omitempty"`
	// PassthroughFrom is "line" or "network": the side the tone came from.
	PassthroughFrom string `json:"passthrough_from,omitempty"`
}
