package sip

import (
	"strings"
	"testing"
	"time"
)

// TestNotifyResyncFamily: every provisioning event PBXs send reaches
// OnNotify once trusted (here over the registered TLS connection), with
// its parameters; the same from a stranger is refused unseen.
func TestNotifyResyncFamily(t *testing.T) {
	rig := newNotifyRig(t)
	defer closeUA(t, rig.u)
	for _, ev := range []string{"check-sync", "check-sync;reboot=true", "check-sync;reboot=false", "resync", "sys-control",
		"report", "reboot", "reboot_now", "restart_now", "reboot=true"} {
		rig.advance(NotifyResyncInterval + time.Second)
		rig.mu.Lock()
		rig.events = nil
		rig.mu.Unlock()
		stranger := rig.send(t, notifyMsg{ruser: rig.u.ContactUser("2"), event: ev, src: strangerIP, transport: "TLS"})
		if code(stranger) != 404 {
			t.Errorf("%s from a stranger: %d", ev, code(stranger))
		}
		res := rig.send(t, notifyMsg{ruser: rig.u.ContactUser("2"), event: ev, src: tlsPBXSrc, transport: "TLS"})
		want := 489 // the rig's OnNotify takes check-sync only
		if strings.HasPrefix(ev, "check-sync") {
			want = 200
		}
		rig.mu.Lock()
		got := strings.Join(rig.events, ",")
		rig.mu.Unlock()
		if code(res) != want || got != ev {
			t.Errorf("%s: answer %d (want %d), OnNotify got %q", ev, code(res), want, got)
		}
	}
}

// TestNotifyResyncInDialog: a check-sync inside a subscription's dialog
// takes the out-of-dialog rule: refused from a stranger (where another
// event in the dialog gets 489), never delivered unchallenged.
func TestNotifyResyncInDialog(t *testing.T) {
	reg := startRegistrar(t, &testRegistrar{users: map[string]string{"1001": "secret1"}})
	rig := newSubRig(t, reg, "")
	defer closeUA(t, rig.u)
	rec, _ := rig.subscribed(t)
	for ev, want := range map[string]int{"check-sync": 404, "reboot_now": 404, "presence": 489} {
		text := strings.Replace(rec.notifyText("active", "Messages-Waiting: yes\r\n"), "Event: message-summary", "Event: "+ev, 1)
		req := mustRequest(t, text)
		req.SetSource(strangerIP)
		req.SetTransport("UDP")
		tx := &recordTx{}
		rig.u.checked(rig.u.onNotify)(req, tx)
		if c := code(tx.final()); c != want {
			t.Errorf("%s in the dialog from a stranger: %d, want %d", ev, c, want)
		}
	}
}
