package sip

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"

	sipmsg "github.com/emiago/sipgo/sip"
)

// A pre-parse shim: it rewrites what RFC 3261 allows in a message's
// header section and sipgo's parser (v1.7.2) mis-reads into the plain
// form sipgo reads right. It runs on each UDP datagram before sipgo
// parses it (sipgo's transport read filter) and on each message read over
// TCP (normalize_tcp.go), and changes nothing else:
//
//   - folded header lines (a line starting with SP or HT continues the
//     previous one) are joined with one SP;
//   - in the header fields whose grammar is built of tokens and separators
//     (Via, From, To, Contact, Route, CSeq, Content-Type, ...), outside
//     quoted strings, the optional white space around ";", "=", "/", ",",
//     ":" (RFC 3261 25.1: SEMI, EQUAL, SLASH, COMMA, COLON) is removed and
//     other runs of white space become one SP: sipgo keeps it, so
//     "To: sip:a@b ;  tag = 1" had no tag and "Via: SIP / 2.0 / UDP" a
//     transport of " UDP";
//   - a Request-URI scheme that RFC 3986 allows but sipgo does not (digits,
//     "+", "-", "." after the first letter, as in "soap.beep:") has those
//     characters replaced by "x": sipgo refuses the whole message
//     otherwise, and the precheck answers any scheme but sip, sips and tel
//     with 416, whatever its spelling;
//   - an RFC 2543 request without a Via branch and without a From tag gets
//     a branch (see addBranch2543), or sipgo answers it 400.
//
// The body is passed through byte for byte, so Content-Length stays right.
// Free-text and unknown header fields are only unfolded.

// structuredHeaders are the header fields (long and compact names, lower
// case) whose separators the shim normalises.
var structuredHeaders = map[string]bool{
	"via": true, "v": true, "from": true, "f": true, "to": true, "t": true,
	"contact": true, "m": true, "route": true, "record-route": true,
	"cseq": true, "max-forwards": true, "content-length": true, "l": true,
	"content-type": true, "c": true, "accept": true, "require": true,
	"proxy-require": true, "supported": true, "k": true, "unsupported": true,
	"allow": true, "event": true, "o": true, "expires": true,
	"content-encoding": true, "e": true,
}

// normalizeFilter is the shim as sipgo's transport read filter: it takes
// only whole messages (UDP datagrams) and leaves stream data alone.
func normalizeFilter(p sipmsg.TransportReadProps, data []byte) ([]byte, error) {
	if p.Transport != "udp" && p.Transport != "UDP" {
		return data, nil
	}
	return normalizeMessage(data), nil
}

// normalizeMessage returns msg with its header section normalised (see
// above); msg itself when there is nothing to do or it is not a request or
// response it can make sense of; nil, to drop it, when its start line is
// not a SIP request or status line or a line of its header section ends in
// a bare LF (sipgo takes the LF into the value and echoes it, a version
// included, into its answers).
func normalizeMessage(msg []byte) []byte {
	first := bytes.Index(msg, []byte("\r\n"))
	if first <= 0 {
		return msg
	}
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if !validStartLine(msg[:first]) || bareLF(msg[:max(end, first)]) {
		return nil
	}
	if end < 0 {
		return msg
	}
	head, body := msg[:end+2], msg[end+2:] // head keeps its last CRLF; body starts with the empty line
	var lines [][]byte
	rest := head[first+2:]
	var line []byte
	flush := func() {
		if line != nil {
			lines = append(lines, appendHeader(nil, line))
		}
	}
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			i = len(rest)
		}
		l := rest[:i]
		if i+2 <= len(rest) {
			rest = rest[i+2:]
		} else {
			rest = nil
		}
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && line != nil {
			line = append(bytes.TrimRight(line, " \t"), ' ')
			line = append(line, bytes.TrimLeft(l, " \t")...)
			continue
		}
		flush()
		line = append([]byte(nil), l...)
	}
	flush()
	if !bytes.HasPrefix(head, []byte("SIP/")) {
		addBranch2543(lines, head[:first])
	}
	out := make([]byte, 0, len(msg)+64)
	out = appendStartLine(out, head[:first])
	out = append(out, "\r\n"...)
	for _, l := range lines {
		out = append(out, l...)
		out = append(out, "\r\n"...)
	}
	return append(out, body...)
}

// branch2543 starts the Via branch the shim gives an RFC 2543 request.
const branch2543 = "z9hG4bK-ls2543-"

// addBranch2543 gives an RFC 2543 request sipgo cannot match to a
// transaction a branch it can. sipgo keys a request without an RFC 3261
// branch by its From tag and refuses it (400) when the From has none, as
// RFC 2543 requests may (RFC 4475 "inv2543"). The added branch is a hash of
// what RFC 3261 17.2.3 matches such requests by, less the method and the
// To tag, so the INVITE, its retransmissions, its ACK and its CANCEL share
// it. Requests with a branch or a From tag are left alone. The branch is
// copied into the answers' Via, where an RFC 2543 client ignores it.
func addBranch2543(lines [][]byte, startLine []byte) {
	via, from, callID, cseq := -1, -1, -1, -1
	for i, l := range lines {
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		switch string(bytes.ToLower(name)) {
		case "via", "v":
			if via < 0 {
				via = i
			}
		case "from", "f":
			from = i
		case "call-id", "i":
			callID = i
		case "cseq":
			cseq = i
		}
	}
	if via < 0 || from < 0 || callID < 0 || cseq < 0 {
		return
	}
	v := lines[via]
	top := v
	if c := bytes.IndexByte(v, ','); c >= 0 {
		top = v[:c]
	}
	if bytes.Contains(bytes.ToLower(top), []byte(";branch=")) || bytes.Contains(bytes.ToLower(lines[from]), []byte(";tag=")) {
		return
	}
	num, _, _ := bytes.Cut(bytes.TrimSpace(lines[cseq][bytes.IndexByte(lines[cseq], ':')+1:]), []byte(" "))
	uri := startLine
	if f := bytes.Fields(startLine); len(f) == 3 {
		uri = f[1]
	}
	h := sha256.New()
	for _, part := range [][]byte{uri, lines[from], lines[callID], num, top} {
		h.Write(part)
		h.Write([]byte{0})
	}
	branch := branch2543 + hex.EncodeToString(h.Sum(nil)[:8])
	nv := append([]byte(nil), top...)
	nv = append(nv, ";branch="...)
	nv = append(nv, branch...)
	lines[via] = append(nv, v[len(top):]...)
}

// validStartLine reports whether line is a Request-Line (a token, one SP,
// a URI without white space, one SP, SIP/digits.digits) or a Status-Line
// (SIP/digits.digits, SP, three digits, then SP and a reason phrase or
// nothing), without control characters but HT in the reason phrase
// (RFC 3261 7.1, 7.2, 25.1).
func validStartLine(line []byte) bool {
	for _, c := range line {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	if bytes.HasPrefix(line, []byte("SIP/")) {
		version, rest, _ := bytes.Cut(line, []byte(" "))
		if !sipVersion(version) || len(rest) < 3 || len(rest) > 3 && rest[3] != ' ' {
			return false
		}
		for _, c := range rest[:3] {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	parts := bytes.Split(line, []byte(" "))
	if len(parts) != 3 || len(parts[1]) == 0 || bytes.IndexByte(parts[1], '\t') >= 0 || !sipVersion(parts[2]) {
		return false
	}
	for _, c := range parts[0] {
		if !isLetter(c) && !('0' <= c && c <= '9') && bytes.IndexByte([]byte("-.!%*_+`'~"), c) < 0 {
			return false
		}
	}
	return len(parts[0]) > 0
}

// sipVersion reports whether v is "SIP/" 1*DIGIT "." 1*DIGIT.
func sipVersion(v []byte) bool {
	rest, ok := bytes.CutPrefix(v, []byte("SIP/"))
	if !ok {
		return false
	}
	major, minor, ok := bytes.Cut(rest, []byte("."))
	if !ok || len(major) == 0 || len(minor) == 0 {
		return false
	}
	for _, c := range append(append([]byte(nil), major...), minor...) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// bareLF reports whether b holds an LF that no CR precedes.
func bareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// appendStartLine appends a request or status line, with a Request-URI
// scheme sipgo can read.
func appendStartLine(out, line []byte) []byte {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || bytes.HasPrefix(line, []byte("SIP/")) {
		return append(out, line...)
	}
	uri := line[sp+1:]
	colon := bytes.IndexByte(uri, ':')
	if colon <= 0 || !isURIScheme(uri[:colon]) {
		return append(out, line...)
	}
	out = append(out, line[:sp+1]...)
	for _, c := range uri[:colon] {
		if !isLetter(c) {
			c = 'x'
		}
		out = append(out, c)
	}
	return append(out, uri[colon:]...)
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isURIScheme reports whether s is an RFC 3986 scheme:
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isURIScheme(s []byte) bool {
	if len(s) == 0 || !isLetter(s[0]) {
		return false
	}
	for _, c := range s[1:] {
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// appendHeader appends one unfolded header line, "Name: value" with the
// value normalised when the field is structured.
func appendHeader(out, line []byte) []byte {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return append(out, line...)
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if !structuredHeaders[string(bytes.ToLower(name))] {
		return append(out, line...)
	}
	out = append(out, name...)
	out = append(out, ": "...)
	return appendValue(out, bytes.Trim(line[colon+1:], " \t"))
}

// appendValue appends a structured header value with the optional white
// space around separators removed and other white space runs made one SP,
// outside quoted strings (which are copied as they are, escapes included).
func appendValue(out, v []byte) []byte {
	isSep := func(c byte) bool { return c == ';' || c == '=' || c == '/' || c == ',' || c == ':' }
	pendingSpace := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ' || c == '\t':
			pendingSpace = true
			continue
		case c == '"':
			if pendingSpace && len(out) > 0 && !isSep(out[len(out)-1]) {
				out = append(out, ' ')
			}
			pendingSpace = false
			j := i + 1
			for j < len(v) && v[j] != '"' {
				if v[j] == '\\' && j+1 < len(v) {
					j++
				}
				j++
			}
			if j >= len(v) {
				// Unterminated: leave the rest for the parser to refuse.
				return append(out, v[i:]...)
			}
			out = append(out, v[i:j+1]...)
			i = j
			continue
		case c == '<':
			// A URI in angle brackets holds no white space to normalise.
			if pendingSpace && len(out) > 0 && !isSep(out[len(out)-1]) {
				out = append(out, ' ')
			}
			pendingSpace = false
			j := bytes.IndexByte(v[i:], '>')
			if j < 0 {
				return append(out, v[i:]...)
			}
			out = append(out, v[i:i+j+1]...)
			i += j
			continue
		}
		if pendingSpace && !isSep(c) && len(out) > 0 && !isSep(out[len(out)-1]) {
			out = append(out, ' ')
		}
		pendingSpace = false
		out = append(out, c)
	}
	return out
}

// maxUDPMessage bounds the SIP messages sipgo writes over UDP: sipgo's
// limit (UDPMTUSize, 1500, less 200) refuses to send larger ones, and a
// response must go back over UDP whatever its size (RFC 3261 18.2.2; the
// size rule of 18.1.1 is for requests, and sipgo does not switch those to
// TCP either). A request with long header fields (RFC 4475 "longreq")
// otherwise gets no answer at all. 65535 less sipgo's 200 fits an IPv4
// UDP datagram.
const maxUDPMessage = 65535

func init() {
	// sipgo keeps the limit in a package variable; this stack is the only
	// SIP user in the binary.
	sipmsg.UDPMTUSize = maxUDPMessage
}
