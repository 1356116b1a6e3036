package sip

import (
	"fmt"
	"testing"
)

func TestParseMessageSummary(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       MessageWaiting
		err        bool
	}{
		{"RFC 3842 example", "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 2/8 (0/2)\r\n",
			MessageWaiting{Waiting: true, Account: "sip:alice@vmail.example.com", New: 2, Old: 8, UrgentOld: 2}, false},
		{"no messages", "Messages-Waiting: no\r\n", MessageWaiting{}, false},
		{"any case, bare LF, no urgent counts", "messages-waiting:YES\nVOICE-MESSAGE:3/0\n",
			MessageWaiting{Waiting: true, New: 3}, false},
		{"spaces inside the counts", "Messages-Waiting: yes\r\nVoice-Message: 1 / 2 ( 3 / 4 )\r\n",
			MessageWaiting{Waiting: true, New: 1, Old: 2, UrgentNew: 3, UrgentOld: 4}, false},
		{"other classes and extra lines skipped", "Messages-Waiting: yes\r\n\r\nFax-Message: 1/1\r\nX-Vendor: x\r\nnonsense\r\nVoice-Message: 4/5\r\n",
			MessageWaiting{Waiting: true, New: 4, Old: 5}, false},
		{"no messages-waiting", "Voice-Message: 1/0\r\n", MessageWaiting{}, true},
		{"empty", "", MessageWaiting{}, true},
		{"bad messages-waiting", "Messages-Waiting: perhaps\r\n", MessageWaiting{}, true},
		{"negative count", "Messages-Waiting: yes\r\nVoice-Message: -1/0\r\n", MessageWaiting{}, true},
		{"one count", "Messages-Waiting: yes\r\nVoice-Message: 1\r\n", MessageWaiting{}, true},
		{"unbalanced", "Messages-Waiting: yes\r\nVoice-Message: 1/0 (1/0\r\n", MessageWaiting{}, true},
		{"huge count", "Messages-Waiting: yes\r\nVoice-Message: 99999999999/0\r\n", MessageWaiting{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMessageSummary([]byte(tt.body))
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// formatSummary writes mw as a message-summary body.
func formatSummary(mw MessageWaiting) string {
	w := "no"
	if mw.Waiting {
		w = "yes"
	}
	s := "Messages-Waiting: " + w + "\r\n"
	if mw.Account != "" {
		s += "Message-Account: " + mw.Account + "\r\n"
	}
	return s + fmt.Sprintf("Voice-Message: %d/%d (%d/%d)\r\n", mw.New, mw.Old, mw.UrgentNew, mw.UrgentOld)
}

// FuzzParseMessageSummary checks that any body parses or is refused
// without a panic, that counts are never negative, and that what parsed
// reads back the same once written out.
func FuzzParseMessageSummary(f *testing.F) {
	f.Add([]byte("Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 2/8 (0/2)\r\n"))
	f.Add([]byte("Messages-Waiting: no\r\n"))
	f.Add([]byte("messages-waiting:YES\nFax-Message: 1/1\nVoice-Message:3/0\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		mw, err := ParseMessageSummary(body)
		if err != nil {
			return
		}
		if mw.New < 0 || mw.Old < 0 || mw.UrgentNew < 0 || mw.UrgentOld < 0 {
			t.Fatalf("negative count: %+v", mw)
		}
		again, err := ParseMessageSummary([]byte(formatSummary(mw)))
		if err != nil {
			t.Fatalf("%+v written out does not parse: %v", mw, err)
		}
		if again != mw {
			t.Fatalf("read back %+v, want %+v", again, mw)
		}
	})
}
