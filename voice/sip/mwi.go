package sip

// MessageWaiting is a mailbox's state as a message-summary NOTIFY
// (RFC 3842) reports it.
type MessageWaiting struct {
	// Waiting is the Messages-Waiting line: yes or no.
	Waiting bool
	// Account is the Message-Account URI, "" when the body gives none.
	Account string
	// New, Old, UrgentNew and UrgentOld are the voice-message counts
	// (the Voice-Message line), 0 when absent.
	New, Old, UrgentNew, UrgentOld int
}
