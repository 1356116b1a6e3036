package sip

import (
	"slices"
	"strconv"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// A 3xx to our INVITE is followed (RFC 3261 8.1.3.4): its Contacts are
// tried in order of q, highest first, each as a new INVITE of the same
// call (same Call-ID, From tag and To, new CSeq and branch); a target
// tried already is skipped and at most maxRedirects INVITEs follow
// redirections, so a loop of redirections ends.

// maxRedirects bounds the INVITEs sent to redirected targets of one call.
const maxRedirects = 5

// redirects is the target set of one outgoing call.
type redirects struct {
	sent  int
	tried map[string]bool
	queue []sipmsg.Uri
}

// redirectContact is one Contact of a 3xx with its q.
type redirectContact struct {
	uri sipmsg.Uri
	q   float64
}

// redirectTargets lists a 3xx's sip: and sips: Contacts, highest q first
// (ties in the order given). A Contact without q counts as 1.
func redirectTargets(res *sipmsg.Response) []sipmsg.Uri {
	var cs []redirectContact
	for _, h := range res.GetHeaders("Contact") {
		ch, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			continue
		}
		s := strings.ToLower(ch.Address.Scheme)
		if (s != "sip" && s != "sips") || ch.Address.Host == "" {
			continue
		}
		q := 1.0
		if ch.Params != nil {
			if v, ok := ch.Params.Get("q"); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
		cs = append(cs, redirectContact{uri: *ch.Address.Clone(), q: q})
	}
	slices.SortStableFunc(cs, func(a, b redirectContact) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	out := make([]sipmsg.Uri, len(cs))
	for i, c := range cs {
		out[i] = c.uri
	}
	return out
}

// uriKey identifies a target for the loop check: the URI without its
// header part, scheme and host in lower case.
func uriKey(u sipmsg.Uri) string {
	u.Headers = nil
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	return u.String()
}

// redirect points req, our INVITE, at the next target of the 3xx res and
// reports whether there is one.
func (c *Call) redirect(req *sipmsg.Request, res *sipmsg.Response, r *redirects) bool {
	if r.tried == nil {
		r.tried = map[string]bool{uriKey(req.Recipient): true}
	}
	// The targets of this answer go first (depth first), best q first.
	fresh := redirectTargets(res)
	r.queue = append(fresh, r.queue...)
	for len(r.queue) > 0 && r.sent < maxRedirects {
		next := r.queue[0]
		r.queue = r.queue[1:]
		k := uriKey(next)
		if r.tried[k] {
			continue
		}
		r.tried[k] = true
		r.sent++
		c.ua.log.Info("sip call redirected", "call", c.id, "code", res.StatusCode, "target", next.String())
		req.Recipient = next
		req.SetDestination("") // from the new target (or the Route)
		req.RemoveHeader("Authorization")
		req.RemoveHeader("Proxy-Authorization")
		return true
	}
	return false
}
