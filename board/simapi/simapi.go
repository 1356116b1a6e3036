// Package simapi holds the JSON types of the sim control API (the
// /api/sim/ports endpoints a gateway serves from loopback when it runs on the
// simulated board): a port's state, the request bodies, the Control interface
// the web UI serves and the errors it maps to HTTP statuses. They are shared by
// the simulated board (board/sim produces them), the web UI (webui serves
// them), the lab (tools/lab decodes them) and the `loopstart phone` command,
// so the API has one declaration. It imports only the standard library.
package simapi

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Errors a Control wraps so the API can answer with the right status.
var (
	// ErrNoPort means the port does not exist (404).
	ErrNoPort = errors.New("no such port")
	// ErrBadRequest means the request's values are wrong (400).
	ErrBadRequest = errors.New("bad request")
)

// Control drives a simulated board's virtual phones (FXS ports) and virtual
// PSTN lines (FXO ports). Errors for an unknown port wrap ErrNoPort; errors
// for a request the port refuses wrap ErrBadRequest.
type Control interface {
	// PortStates describes every port, in port order. (The names are not
	// Ports and Port so that a board struct embedding board.Board, whose
	// Ports field lists its hardware ports, can implement Control.)
	PortStates() []Port
	// PortState describes port n.
	PortState(n int) (Port, error)
	// Hook sets the phone's hook: "off", "on" or "flash". On an FXO port it
	// moves the hook of a parallel extension phone on the line.
	Hook(n int, state string) error
	// Dial sends digits as DTMF audio (mode "dtmf") or hook pulses ("pulse").
	// On an FXO port the far party dials, DTMF only.
	Dial(n int, digits, mode string) error
	// Say makes the phone (or the far party of a PSTN line) send the sum of
	// these tones at this level until told otherwise; no tones means silence.
	Say(n int, tonesHz []float64, levelDBFS float64) error
	// Heard returns the last d of audio the phone (or the far party) heard,
	// 8 kHz linear.
	Heard(n int, d time.Duration) ([]int16, error)
	// PSTN performs an action of the far side of an FXO port's line, one of
	// PSTNActions; cid goes with "ring" only and may be nil.
	PSTN(n int, action string, cid *CallerID) error
}

// Port kinds.
const (
	// KindFXS is a port with a virtual phone.
	KindFXS = "fxs"
	// KindFXO is a port on a virtual PSTN line.
	KindFXO = "fxo"
)

// Port is the JSON state of one port of the sim board: an FXS port's virtual
// phone, or an FXO port's virtual PSTN line (Line set).
type Port struct {
	// Port is the port number, from 1.
	Port int `json:"port"`
	// Kind is KindFXS (a virtual phone) or KindFXO (a virtual PSTN line).
	Kind string `json:"kind"`
	// Hook is "on" or "off": the phone's hook switch, or on an FXO port the
	// gateway's (the DAA's) hook.
	Hook string `json:"hook"`
	// Ringing is true while the phone's ringer sounds, or while the office
	// rings the FXO line.
	Ringing bool `json:"ringing"`
	// Rings counts ring bursts since ringing last started.
	Rings int `json:"rings"`
	// CallerID is the last caller ID the phone decoded (on an FXO port, the
	// one the office sends), or null.
	CallerID *CallerID `json:"caller_id"`
	// MWI is the visual message waiting indicator.
	MWI bool `json:"mwi"`
	// Hearing describes the last 500 ms the phone (or the far party) heard.
	Hearing Hearing `json:"hearing"`
	// LastRingMS and LastPauseMS are the last ring burst and pause lengths.
	LastRingMS  int `json:"last_ring_ms"`
	LastPauseMS int `json:"last_pause_ms"`
	// DTMFHeard is every DTMF digit heard since the phone last went off hook.
	DTMFHeard string `json:"dtmf_heard"`
	// Line is the virtual PSTN line of an FXO port; nil for FXS.
	Line *Line `json:"line,omitempty"`
}

// Line is the state of an FXO port's virtual central office line.
type Line struct {
	// State is idle, ringing, offhook (seized, no call) or connected.
	State string `json:"state"`
	// Digits are the DTMF digits the central office received since the
	// line was last seized.
	Digits string `json:"digits"`
	// Volts is the tip-ring voltage the DAA sees, negative when reversed;
	// LoopMA the loop current while the DAA is off hook.
	Volts  float64 `json:"volts"`
	LoopMA float64 `json:"loop_ma"`
	// Polarity is "normal" or "reversed".
	Polarity string `json:"polarity,omitempty"`
	// Battery is false while the office has cut the line's battery.
	Battery bool `json:"battery"`
	// Extension is true while a parallel phone on the line is off hook.
	Extension bool `json:"extension"`
}

// Hearing is an analysis of the audio a phone heard recently.
type Hearing struct {
	// TonesHz are the dominant tones (up to 4), in Hz; empty, not null, in
	// silence.
	TonesHz []float64 `json:"tones_hz"`
	// LevelDBFS is the RMS level in dB relative to full scale (on the sine
	// scale); -120 is silence.
	LevelDBFS float64 `json:"level_dbfs"`
	// DTMF holds the digits detected within the window.
	DTMF string `json:"dtmf"`
}

// CallerID is a caller ID message: one a phone decoded, or one a PSTN line
// sends with its ringing.
type CallerID struct {
	// Number is the calling number.
	Number string `json:"number"`
	// Name is the calling name.
	Name string `json:"name"`
	// Time is the message's date and time, as sent (MMDDhhmm).
	Time string `json:"time"`
	// Standard is how the message came: "bell202" or "v23" (FSK) or
	// "dtmf"; for a PSTN ring, how to send it ("" is Bell 202).
	Standard string `json:"standard,omitempty"`
	// Private and Unavailable are the reason a number is absent: withheld
	// ("P") or unavailable ("O").
	Private     bool `json:"private,omitempty"`
	Unavailable bool `json:"unavailable,omitempty"`
}

// HookRequest is the body of POST /api/sim/ports/{n}/hook.
type HookRequest struct {
	// State is "off", "on" or "flash".
	State string `json:"state"`
}

// DialRequest is the body of POST /api/sim/ports/{n}/dial.
type DialRequest struct {
	// Digits are the digits to dial.
	Digits string `json:"digits"`
	// Mode is "dtmf" (audio tones, the default when empty) or "pulse" (hook
	// pulses).
	Mode string `json:"mode"`
}

// SayRequest is the body of POST /api/sim/ports/{n}/say.
type SayRequest struct {
	// TonesHz are the tones to send; required: an empty, non-nil list means
	// silence, and a nil one encodes as null, which the server refuses.
	TonesHz []float64 `json:"tones_hz"`
	// LevelDBFS is the level; nil means DefaultSayDBFS.
	LevelDBFS *float64 `json:"level_dbfs,omitempty"`
}

// PSTNRequest is the body of POST /api/sim/ports/{n}/pstn.
type PSTNRequest struct {
	// Action is one of PSTNActions.
	Action string `json:"action"`
	// CallerID is sent with a "ring"; nil for none.
	CallerID *CallerID `json:"caller_id,omitempty"`
	// Signal goes with "hangup" of a call: how the office tells the line
	// the far party hung up, one of HangupSignals; "" is a loop-current
	// break that also restores polarity.
	Signal string `json:"signal,omitempty"`
}

// HangupSignals are the signals a PSTN "hangup" takes: a loop-current
// break (calling party control), a polarity reversal, busy tone, or
// silence alone.
var HangupSignals = []string{"cpc", "reversal", "busy", "none"}

// PSTNSignaler is a Control whose PSTN lines take a hangup signal.
type PSTNSignaler interface {
	// PSTNSignal is PSTN with signal (one of HangupSignals, or "") for a
	// "hangup".
	PSTNSignal(n int, action, signal string, cid *CallerID) error
}

// OKResponse is the body of a successful POST.
type OKResponse struct {
	// OK is true.
	OK bool `json:"ok"`
}

// ErrorResponse is the body of every answer that is not 2xx.
type ErrorResponse struct {
	// Error says what went wrong.
	Error string `json:"error"`
}

// PSTNActions are the actions POST /api/sim/ports/{n}/pstn takes: the far
// side rings (with an optional caller ID), answers or hangs up, and the
// extensions: a polarity reversal, a battery cut and its end, and a parallel
// extension phone going off and on hook, and the office's dial tone
// switched off and on.
var PSTNActions = []string{"ring", "answer", "hangup", "reverse", "disconnect", "reconnect", "extension-off", "extension-on", "dial-tone-off", "dial-tone-on"}

// Limits and defaults of the API.
const (
	// DefaultHeardMS is the heard.wav length when ms is not given.
	DefaultHeardMS = 2000
	// MaxHeardMS bounds heard.wav's ms.
	MaxHeardMS = 60000
	// DefaultSayDBFS is the level of say when level_dbfs is not given.
	DefaultSayDBFS = -12
	// HeardRate is the sample rate of heard.wav: the line's 8 kHz.
	HeardRate = 8000
)

// HeardLength reads heard.wav's ms parameter: DefaultHeardMS when v is
// empty, an error unless v is a whole number of milliseconds from 1 to
// MaxHeardMS.
func HeardLength(v string) (time.Duration, error) {
	if v == "" {
		return DefaultHeardMS * time.Millisecond, nil
	}
	ms, err := strconv.Atoi(v)
	if err != nil || ms < 1 || ms > MaxHeardMS {
		return 0, fmt.Errorf("ms %q must be a number 1..%d", v, MaxHeardMS)
	}
	return time.Duration(ms) * time.Millisecond, nil
}
