package sip

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// The one check every request passes before its method's handler
// (RFC 3261 section 8.2, in its order): the version, the header fields
// every request needs once, the method, the Request-URI scheme, Require,
// the body's type and encoding, and Accept. A request that fails is
// answered here (an ACK never is) and no handler sees it.

// knownMethods are the methods of RFC 3261 and its common extensions:
// the ones we do not implement get 405, any other 501 (RFC 3261 21.5.2).
var knownMethods = map[sipmsg.RequestMethod]bool{
	sipmsg.INVITE: true, sipmsg.ACK: true, sipmsg.CANCEL: true, sipmsg.BYE: true,
	sipmsg.REGISTER: true, sipmsg.OPTIONS: true, sipmsg.SUBSCRIBE: true, sipmsg.NOTIFY: true,
	sipmsg.REFER: true, sipmsg.INFO: true, sipmsg.MESSAGE: true, sipmsg.PRACK: true,
	sipmsg.UPDATE: true, sipmsg.PUBLISH: true,
}

// singleHeaders may appear once in a request (RFC 3261 7.3.1, 20): twice
// is a 400.
var singleHeaders = []string{"From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"}

// Body types a method's handler takes; a body of another type gets 415
// with Accept. NOTIFY takes the message-waiting summary (RFC 3842); the
// resync events (check-sync and its family) carry no body.
const (
	typeSDP            = "application/sdp"
	typeMessageSummary = "application/simple-message-summary"
	typeSipfrag        = "message/sipfrag" // a transfer's progress (RFC 3515)
)

func acceptedTypes(m sipmsg.RequestMethod) []string {
	if m == sipmsg.NOTIFY {
		return []string{typeMessageSummary, typeSipfrag}
	}
	if m == sipmsg.INFO {
		return infoTypes // info.go
	}
	return []string{typeSDP}
}

// refusal is a precheck's answer: a status, its reason and extra headers.
type refusal struct {
	code   int
	reason string
	hdrs   []sipmsg.Header
}

// checked wraps a method handler with the precheck, after leaving a
// stranger's request unanswered when the config says so.
func (u *UA) checked(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		u.txRequests.Add(1)
		if u.ignoresStranger(req) {
			u.log.Debug("sip request from a stranger ignored", "method", req.Method.String(), "source", req.Source())
			return
		}
		if r := precheck(req); r != nil {
			if req.IsAck() {
				return // never answered (RFC 3261 17.2.3)
			}
			u.log.Debug("sip request refused", "method", req.Method.String(), "code", r.code, "reason", r.reason, "source", req.Source())
			u.respond(req, tx, r.code, r.reason, r.hdrs...)
			return
		}
		h(req, tx)
	}
}

// precheck returns why req must be refused before its handler, nil when it
// may go on.
func precheck(req *sipmsg.Request) *refusal {
	if !strings.EqualFold(req.SipVersion, "SIP/2.0") {
		return &refusal{code: 505, reason: "Version Not Supported"}
	}
	if h := missingHeader(req, false); h != "" {
		return &refusal{code: 400, reason: "Bad Request (missing " + h + ")"}
	}
	for _, name := range singleHeaders {
		if len(req.GetHeaders(name)) > 1 {
			return &refusal{code: 400, reason: "Bad Request (more than one " + name + ")"}
		}
	}
	// sipgo upper-cases the request line's method (methods are case
	// sensitive, RFC 3261 7.1) but not CSeq's: compare without case.
	if m := req.CSeq().MethodName; !strings.EqualFold(string(m), string(req.Method)) {
		return &refusal{code: 400, reason: "Bad Request (CSeq method " + string(m) + " is not the request's)"}
	}
	allow := sipmsg.NewHeader("Allow", allowMethods)
	if !knownMethods[req.Method] {
		return &refusal{code: 501, reason: "Not Implemented", hdrs: []sipmsg.Header{allow}}
	}
	if !implemented(req.Method) {
		return &refusal{code: 405, reason: "Method Not Allowed", hdrs: []sipmsg.Header{allow}}
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips", "tel":
	default:
		return &refusal{code: 416, reason: "Unsupported URI Scheme"}
	}
	if req.Method != sipmsg.ACK && req.Method != sipmsg.CANCEL {
		if tags := unsupportedTags(optionTags(req, "Require")); len(tags) > 0 {
			// We support 100rel, timer and Replaces (extensions.go).
			return &refusal{code: 420, reason: "Bad Extension",
				hdrs: []sipmsg.Header{sipmsg.NewHeader("Unsupported", strings.Join(tags, ", "))}}
		}
	}
	accepted := acceptedTypes(req.Method)
	if len(req.Body()) > 0 {
		if ct := req.ContentType(); ct != nil && !oneOf(mediaType(ct.Value()), accepted) {
			return &refusal{code: 415, reason: "Unsupported Media Type",
				hdrs: []sipmsg.Header{sipmsg.NewHeader("Accept", strings.Join(accepted, ", "))}}
		}
		ce := req.GetHeader("Content-Encoding")
		if ce == nil {
			ce = req.GetHeader("e")
		}
		if ce != nil {
			if v := strings.ToLower(strings.TrimSpace(ce.Value())); v != "" && v != "identity" {
				return &refusal{code: 415, reason: "Unsupported Media Type",
					hdrs: []sipmsg.Header{sipmsg.NewHeader("Accept-Encoding", "identity")}}
			}
		}
	}
	// Our only answer with a body is the SDP answer to an INVITE.
	if req.Method == sipmsg.INVITE && !accepts(req, typeSDP) {
		return &refusal{code: 406, reason: "Not Acceptable", hdrs: []sipmsg.Header{sipmsg.NewHeader("Accept", typeSDP)}}
	}
	return nil
}

// implemented reports whether the UA has a handler for m.
func implemented(m sipmsg.RequestMethod) bool {
	for _, a := range strings.Split(allowMethods, ",") {
		if strings.TrimSpace(a) == string(m) {
			return true
		}
	}
	return false
}

// optionTags lists the option tags of every name header of req.
func optionTags(req *sipmsg.Request, name string) []string {
	var tags []string
	for _, h := range req.GetHeaders(name) {
		for _, t := range strings.Split(h.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// mediaType is the lower-case type/subtype of a Content-Type or Accept
// entry, without parameters or white space.
func mediaType(v string) string {
	v, _, _ = strings.Cut(v, ";")
	typ, sub, _ := strings.Cut(v, "/")
	return strings.ToLower(strings.TrimSpace(typ) + "/" + strings.TrimSpace(sub))
}

func oneOf(s string, list []string) bool {
	for _, l := range list {
		if s == l {
			return true
		}
	}
	return false
}

// accepts reports whether req's Accept headers take media type typ; no
// Accept means application/sdp (RFC 3261 20.1), and an empty one nothing.
func accepts(req *sipmsg.Request, typ string) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return typ == typeSDP
	}
	major, _, _ := strings.Cut(typ, "/")
	for _, h := range hs {
		for _, e := range strings.Split(h.Value(), ",") {
			if q := acceptQ(e); q == 0 {
				continue
			}
			switch mediaType(e) {
			case typ, major + "/*", "*/*":
				return true
			}
		}
	}
	return false
}

// acceptQ is the q value of an Accept entry (1 without one).
func acceptQ(e string) float64 {
	_, params, _ := strings.Cut(e, ";")
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 1
			}
			return q
		}
	}
	return 1
}
