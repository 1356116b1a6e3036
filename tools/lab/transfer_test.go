package lab

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestInteropFlashTransfer proves the transfers and the three-way mix
// against Kamailio and two baresips: B (1003, 1300 Hz, answers at once)
// and C (1004, 1700 Hz, rings until told to answer), each recording what
// it hears; phone 1 says 700 Hz. Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run TestInteropFlashTransfer ./tools/lab/
func TestInteropFlashTransfer(t *testing.T) {
	r := startFlashRig(t, true)
	k, b, c, g, hearsOnly := r.k, r.b, r.c, r.g, r.hearsOnly
	// answerC has C answer its next incoming call (after the first
	// `after` ones).
	answerC := func(t *testing.T, after int) {
		t.Helper()
		c.WaitEvent(t, "CALL_INCOMING", after, 10*time.Second, "C rings")
		if err := c.Command("accept", ""); err != nil {
			t.Fatal(err)
		}
	}
	portIdle := func(t *testing.T) {
		t.Helper()
		g.WaitIdle(t, 1)
		Eventually(t, 5*time.Second, "port 1 idle with no peer", func() error {
			if st := g.Status(t).Ports[0]; st.State != "idle" || st.Peer != "" {
				return fmt.Errorf("port 1 %s with %q", st.State, st.Peer)
			}
			return nil
		})
	}
	callB := func(t *testing.T) {
		t.Helper()
		g.WaitIdle(t, 1)
		g.OffHookAndDial(t, 1, "1003#")
		g.Say(t, 1, []float64{700}, -12)
		g.WaitHears(t, 1, 10*time.Second, "phone 1 hears B", 1300)
	}
	// endBC has B hang up its call with C and waits for both to close.
	endBC := func(t *testing.T, closedB, closedC int) {
		t.Helper()
		if err := b.Command("hangup", ""); err != nil {
			t.Fatal(err)
		}
		b.WaitEvent(t, "CALL_CLOSED", closedB, 10*time.Second, "B's calls end")
		c.WaitEvent(t, "CALL_CLOSED", closedC, 10*time.Second, "C's calls end")
	}

	t.Run("a/three-way-b-hears-c", func(t *testing.T) {
		// The phone calls C, then consults B and joins the three: B, the
		// consultation call, records the whole conference (a held
		// party's recording stops at the hold re-INVITE).
		recB, recC := len(b.Recordings()), len(c.Recordings())
		inC, closedB := c.EventCount("CALL_INCOMING"), b.EventCount("CALL_CLOSED")
		g.WaitIdle(t, 1)
		g.OffHookAndDial(t, 1, "1004#")
		g.Say(t, 1, []float64{700}, -12)
		answerC(t, inC)
		g.WaitHears(t, 1, 10*time.Second, "phone 1 hears C", 1700)
		g.Hook(t, 1, "flash")
		g.WaitHears(t, 1, 5*time.Second, "second dial tone", 350, 440)
		g.Dial(t, 1, "1003#")
		hearsOnly(t, "phone 1 consults B, C held", 1300, 1700)
		g.Hook(t, 1, "flash")
		g.WaitHears(t, 1, 5*time.Second, "phone 1 hears B and C", 1300, 1700)
		time.Sleep(3 * time.Second) // the conference, in B's recording
		g.Hook(t, 1, "flash")       // drops B, the party added last
		b.WaitEvent(t, "CALL_CLOSED", closedB, 10*time.Second, "B dropped from the conference")
		hearsOnly(t, "flash drops B", 1700, 1300)
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		portIdle(t)
		waitRecordingHeard(t, b, recB, 1700) // B heard C
		waitRecordingHeard(t, b, recB, 700)  // and the phone
		waitRecordingHeard(t, c, recC, 700)
	})

	t.Run("b/blind-transfer", func(t *testing.T) {
		recB, recC := len(b.Recordings()), len(c.Recordings())
		closedB, closedC := b.EventCount("CALL_CLOSED"), c.EventCount("CALL_CLOSED")
		inC := c.EventCount("CALL_INCOMING")
		callB(t)
		g.Hook(t, 1, "flash")
		g.WaitHears(t, 1, 5*time.Second, "second dial tone", 350, 440)
		g.Dial(t, 1, "1004#")
		c.WaitEvent(t, "CALL_INCOMING", inC, 10*time.Second, "C rings for the consultation")
		// Hang up while C rings: B is REFERred to C, the attempt cancelled.
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		g.WaitIdle(t, 1)            // the line; B's call stays until the transfer's outcome
		answerC(t, inC+1)           // B's call, placed on the REFER
		portIdle(t)                 // the NOTIFY 200 ended B's call with the port
		time.Sleep(4 * time.Second) // B and C talk
		endBC(t, closedB, closedC)
		waitRecordingHeard(t, b, recB, 1700) // B heard C
		waitRecordingHeard(t, c, recC, 1300) // C heard B
		portIdle(t)
	})

	t.Run("c/incoming-refer", func(t *testing.T) {
		recC := len(c.Recordings())
		closedB, closedC := b.EventCount("CALL_CLOSED"), c.EventCount("CALL_CLOSED")
		inC := c.EventCount("CALL_INCOMING")
		callB(t)
		// B transfers us to C (baresip's /transfer: a REFER).
		if err := b.Command("transfer", "sip:1004@"+k.Addr); err != nil {
			t.Fatal(err)
		}
		answerC(t, inC)
		b.WaitEvent(t, "CALL_CLOSED", closedB, 10*time.Second, "B's call ends once the transfer is done")
		hearsOnly(t, "phone 1 talks with C", 1700, 1300)
		// baresip's REFER names no Referred-By: the gateway's INVITE to C
		// carries B, the REFER's sender, as Kamailio logs it.
		if n := strings.Count(k.Log(), "INVITE to 1004 referred by [<sip:1003@"); n == 0 {
			t.Errorf("no INVITE to C referred by B in Kamailio's log:\n%s", tail(k.Log(), 20))
		}
		time.Sleep(2 * time.Second) // C's recording takes the phone's tone
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		c.WaitEvent(t, "CALL_CLOSED", closedC, 10*time.Second, "C's call ends")
		waitRecordingHeard(t, c, recC, 700) // C heard the phone
		portIdle(t)
	})
}
