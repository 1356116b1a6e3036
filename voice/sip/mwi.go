package sip

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

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

// maxSummaryCount bounds a message count, so that nobody's mailbox
// overflows an int on any platform.
const maxSummaryCount = 1 << 30

// ParseMessageSummary parses an application/simple-message-summary body
// (RFC 3842 section 5): the Messages-Waiting line (yes or no) is required;
// Message-Account and the Voice-Message counts "new/old (urgent-new/urgent-old)"
// are read when present. Names are matched without case, blank lines,
// other message classes and unknown lines are skipped.
func ParseMessageSummary(body []byte) (MessageWaiting, error) {
	var mw MessageWaiting
	seen := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 1024), 64<<10)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "messages-waiting":
			switch strings.ToLower(value) {
			case "yes":
				mw.Waiting = true
			case "no":
				mw.Waiting = false
			default:
				return MessageWaiting{}, fmt.Errorf("messages-waiting %q: want yes or no", value)
			}
			seen = true
		case "message-account":
			mw.Account = value
		case "voice-message":
			n, err := parseCounts(value)
			if err != nil {
				return MessageWaiting{}, fmt.Errorf("voice-message %q: %w", value, err)
			}
			mw.New, mw.Old, mw.UrgentNew, mw.UrgentOld = n[0], n[1], n[2], n[3]
		}
	}
	if err := sc.Err(); err != nil {
		return MessageWaiting{}, fmt.Errorf("message summary: %w", err)
	}
	if !seen {
		return MessageWaiting{}, errors.New("message summary without messages-waiting")
	}
	return mw, nil
}

// parseCounts reads "n/m" with an optional "(u/v)" after it.
func parseCounts(s string) ([4]int, error) {
	var n [4]int
	main, urgent, hasUrgent := strings.Cut(s, "(")
	if err := parsePair(main, n[0:2]); err != nil {
		return n, err
	}
	if hasUrgent {
		inner, rest, ok := strings.Cut(urgent, ")")
		if !ok || strings.TrimSpace(rest) != "" {
			return n, errors.New("unbalanced parenthesis")
		}
		if err := parsePair(inner, n[2:4]); err != nil {
			return n, err
		}
	}
	return n, nil
}

// parsePair reads "a/b" into out.
func parsePair(s string, out []int) error {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return errors.New("want new/old")
	}
	for i, f := range []string{a, b} {
		f = strings.TrimSpace(f)
		if f == "" || len(f) > 10 || strings.Trim(f, "0123456789") != "" {
			return fmt.Errorf("count %q: want digits", f)
		}
		v, err := strconv.Atoi(f)
		if err != nil || v > maxSummaryCount {
			return fmt.Errorf("count %q out of range", f)
		}
		out[i] = v
	}
	return nil
}
