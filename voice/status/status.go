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
	// talking, ringing, busy, reorder, disconnected or fault.
	State string `json:"state"`
	// Peer is the other party of the current call, if any.
	Peer string `json:"peer,omitempty"`
	// CallSeconds is the duration of the current call once answered.
	CallSeconds float64 `json:"call_s,omitempty"`
	// Fault explains why the port is out of service, if it is.
	Fault string `json:"fault,omitempty"`
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
}
