package sip

import sipmsg "github.com/emiago/sipgo/sip"

// onDialogNotify handles a NOTIFY of one of our subscriptions; it reports
// false when the NOTIFY belongs to none.
func (u *UA) onDialogNotify(req *sipmsg.Request, tx sipmsg.ServerTransaction, tag string) bool {
	return false
}
