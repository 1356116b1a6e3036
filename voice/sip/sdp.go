package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Codec names understood by the offer/answer code. They are the lower-case
// RTP encoding names of static payload types.
const (
	CodecPCMU = "pcmu" // G.711 µ-law, static payload type 0
	CodecPCMA = "pcma" // G.711 A-law, static payload type 8
	// CodecG722 is G.722, static payload type 9, "G722/8000" in SDP: its
	// RTP clock is 8000 although the audio is 16 kHz (RFC 3551 4.5.2).
	CodecG722 = "g722"
)

// DTMFPayloadType is the payload type we use for telephone-event/8000
// (RFC 4733) in our offers. In answers we mirror the offerer's number.
const DTMFPayloadType = 101

// defaultPTime is the packet time, in milliseconds, used when none is given.
const defaultPTime = 20

// ErrNoCommonCodec is returned when the remote SDP has no codec in common
// with ours; the caller should answer 488 Not Acceptable Here.
var ErrNoCommonCodec = errors.New("no common codec")

// LocalMedia describes our end of an audio stream, used to build an SDP
// offer or answer.
type LocalMedia struct {
	Addr   netip.AddrPort // our RTP address (c= and m= port)
	Codecs []string       // preference order among "pcmu", "pcma" and "g722"; empty = pcmu, pcma
	PTime  int            // packet time in ms; 0 = 20
	// SRTP is the media encryption policy (SRTPOff, SRTPOptional,
	// SRTPMandatory); "" = the account's.
	SRTP string
	// Direction is the a= direction attribute we put in an offer (hold:
	// SendOnly, or Inactive when the far end holds too); "" = sendrecv.
	// An answer's direction follows from the offer's (answerDirection).
	Direction Direction
	// Flash offers telephone-event 16 (hook flash) as well as 0-15, for a
	// port relaying flash to the PBX; without it only 0-15 are offered,
	// as some PBXs hang up on 16.
	Flash bool
}

// RemoteMedia is the negotiated audio stream of a call as seen from our end.
type RemoteMedia struct {
	Addr   netip.AddrPort // where to send RTP
	Codec  string         // "pcmu", "pcma" or "g722": the negotiated codec
	PT     uint8          // RTP payload type of Codec
	DTMFPT uint8          // telephone-event payload type; 0 when the peer has none
	PTime  int            // packet time in ms the peer asked for (20 when it did not say)
	SRTP   SRTPKeys       // negotiated SDES keys; zero = clear RTP
	// Direction is the far end's a= direction attribute, sendrecv when it
	// gave none; see Holding.
	Direction Direction
}

// codecPT maps our codec names to their static payload types.
var codecPT = map[string]uint8{CodecPCMU: 0, CodecPCMA: 8, CodecG722: 9}

// audioDesc is the part of a remote SDP that matters to us: its first usable
// audio stream.
type audioDesc struct {
	addr   netip.AddrPort
	codecs []remoteCodec // supported codecs in the order of the m= line
	dtmfPT uint8
	ptime  int
	// secure is true for RTP/SAVP; cryptos are its usable a=crypto lines
	// in the order of the SDP.
	secure  bool
	cryptos []cryptoAttr
	dir     Direction // a= direction of the stream, else of the session, else sendrecv
}

// remoteCodec is one of our codecs as the remote SDP numbered it.
type remoteCodec struct {
	name string
	pt   uint8
}

// has reports the remote payload type of codec name, if the remote offered it.
func (a audioDesc) has(name string) (uint8, bool) {
	for _, c := range a.codecs {
		if c.name == name {
			return c.pt, true
		}
	}
	return 0, false
}

// normalizeCodecs checks a preference list and fills in the default.
func normalizeCodecs(codecs []string) ([]string, error) {
	if len(codecs) == 0 {
		return []string{CodecPCMU, CodecPCMA}, nil
	}
	out := make([]string, 0, len(codecs))
	for _, c := range codecs {
		c = strings.ToLower(strings.TrimSpace(c))
		if _, ok := codecPT[c]; !ok {
			return nil, fmt.Errorf("unsupported codec %q (want pcmu, pcma or g722)", c)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// parseSDP extracts the first usable audio stream of a remote SDP: an
// "audio" m= line with a non-zero port on RTP/AVP or RTP/SAVP that lists
// PCMU, PCMA or G722 (at the RTP clock rate 8000), with its usable a=crypto lines (RFC 4568).
// It never panics on malformed input.
func parseSDP(body []byte) (audioDesc, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return audioDesc{}, fmt.Errorf("bad sdp: %w", err)
	}
	sawAudio := false
	for _, md := range s.MediaDescriptions {
		if md == nil || md.MediaName.Media != "audio" {
			continue
		}
		sawAudio = true
		if md.MediaName.Port.Value <= 0 || md.MediaName.Port.Value > 65535 {
			continue // rejected or disabled stream
		}
		proto := strings.Join(md.MediaName.Protos, "/")
		if proto != "RTP/AVP" && proto != "RTP/SAVP" {
			continue
		}
		ci := md.ConnectionInformation
		if ci == nil {
			ci = s.ConnectionInformation
		}
		if ci == nil || ci.Address == nil {
			return audioDesc{}, errors.New("bad sdp: audio stream without connection address")
		}
		ip, err := netip.ParseAddr(ci.Address.Address)
		if err != nil {
			return audioDesc{}, fmt.Errorf("bad sdp: connection address %q is not an IP address", ci.Address.Address)
		}
		a := audioDesc{
			addr:   netip.AddrPortFrom(ip.Unmap(), uint16(md.MediaName.Port.Value)),
			ptime:  defaultPTime,
			secure: proto == "RTP/SAVP",
		}
		for _, at := range md.Attributes {
			if at.Key != "crypto" {
				continue
			}
			if c, err := parseCrypto(at.Value); err == nil {
				a.cryptos = append(a.cryptos, c)
			}
		}
		// Let pion decode rtpmap lines (and the static types) for this
		// stream only.
		codecs := (&sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{md}}).GetCodecMap()
		for _, f := range md.MediaName.Formats {
			n, err := strconv.ParseUint(f, 10, 8)
			if err != nil || n > 127 {
				continue
			}
			pt := uint8(n)
			c, ok := codecs[pt]
			if !ok || (c.ClockRate != 0 && c.ClockRate != 8000) {
				continue
			}
			name := strings.ToLower(c.Name)
			if name == "telephone-event" {
				if a.dtmfPT == 0 {
					a.dtmfPT = pt
				}
				continue
			}
			if _, ours := codecPT[name]; ours {
				if _, dup := a.has(name); !dup {
					a.codecs = append(a.codecs, remoteCodec{name: name, pt: pt})
				}
			}
		}
		a.dir = sdpDirection(md.Attributes, s.Attributes)
		if v, ok := md.Attribute("ptime"); ok {
			a.ptime = parsePTime(v)
		} else if v, ok := s.Attribute("ptime"); ok {
			a.ptime = parsePTime(v)
		}
		if len(a.codecs) == 0 {
			return a, fmt.Errorf("%w: remote offers none of pcmu, pcma, g722", ErrNoCommonCodec)
		}
		return a, nil
	}
	if sawAudio {
		return audioDesc{}, errors.New("bad sdp: no usable RTP/AVP or RTP/SAVP audio stream")
	}
	return audioDesc{}, errors.New("bad sdp: no audio stream")
}

// parsePTime reads an a=ptime value, falling back to the default.
func parsePTime(v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 10 || n > 200 {
		return defaultPTime
	}
	return n
}

// negotiate picks the codec of a remote description. prefs is our preference
// order; the answerer's rule (ours): the first codec of our preference order
// that the remote lists. The DTMF payload type is taken from the remote.
func negotiate(remote audioDesc, prefs []string) (RemoteMedia, error) {
	for _, name := range prefs {
		if pt, ok := remote.has(name); ok {
			return RemoteMedia{
				Addr:      remote.addr,
				Codec:     name,
				PT:        pt,
				DTMFPT:    remote.dtmfPT,
				PTime:     remote.ptime,
				Direction: remote.dir,
			}, nil
		}
	}
	return RemoteMedia{}, ErrNoCommonCodec
}

// offerMedia is what the remote would see before we know our own
// preferences: the remote's own first codec.
func offerMedia(remote audioDesc) RemoteMedia {
	c := remote.codecs[0]
	return RemoteMedia{Addr: remote.addr, Codec: c.name, PT: c.pt, DTMFPT: remote.dtmfPT, PTime: remote.ptime, Direction: remote.dir}
}

// buildOffer builds our SDP offer: every codec of local.Codecs in order, then
// telephone-event/8000 as payload type 101; with an SRTP policy other than
// off, one a=crypto line per suite with fresh keys (see buildOfferSRTP).
func buildOffer(local LocalMedia, sessID, version uint64) ([]byte, error) {
	body, _, err := buildOfferSRTP(local, sessID, version)
	return body, err
}

// buildOfferSRTP is buildOffer that also returns the crypto lines offered:
// RTP/SAVP for SRTPMandatory, RTP/AVP with crypto lines for SRTPOptional.
func buildOfferSRTP(local LocalMedia, sessID, version uint64) ([]byte, []cryptoAttr, error) {
	prefs, err := normalizeCodecs(local.Codecs)
	if err != nil {
		return nil, nil, err
	}
	mode, err := parseSRTPMode(local.SRTP)
	if err != nil {
		return nil, nil, err
	}
	codecs := make([]remoteCodec, 0, len(prefs))
	for _, p := range prefs {
		codecs = append(codecs, remoteCodec{name: p, pt: codecPT[p]})
	}
	var cryptos []cryptoAttr
	if mode != SRTPOff {
		if cryptos, err = offerCryptos(); err != nil {
			return nil, nil, err
		}
	}
	body, err := buildSDP(local, sessID, version, codecs, DTMFPayloadType, mode == SRTPMandatory, cryptos)
	return body, cryptos, err
}

// buildAnswer builds our SDP answer to a remote offer: one codec (chosen by
// negotiate) and telephone-event with the offer's payload type when offered;
// SRTP as answerCrypto decides under local.SRTP, on the offer's profile.
func buildAnswer(local LocalMedia, offer audioDesc, sessID, version uint64) ([]byte, RemoteMedia, error) {
	prefs, err := normalizeCodecs(local.Codecs)
	if err != nil {
		return nil, RemoteMedia{}, err
	}
	mode, err := parseSRTPMode(local.SRTP)
	if err != nil {
		return nil, RemoteMedia{}, err
	}
	rm, err := negotiate(offer, prefs)
	if err != nil {
		return nil, RemoteMedia{}, err
	}
	ours, theirs, err := answerCrypto(mode, offer)
	if err != nil {
		return nil, RemoteMedia{}, err
	}
	rm.SRTP = keysFrom(ours, theirs)
	var cryptos []cryptoAttr
	if rm.SRTP.Enabled() {
		cryptos = []cryptoAttr{ours}
	}
	local.Direction = answerDirection(offer.dir, local.Direction)
	body, err := buildSDP(local, sessID, version, []remoteCodec{{name: rm.Codec, pt: rm.PT}}, rm.DTMFPT,
		offer.secure, cryptos)
	if err != nil {
		return nil, RemoteMedia{}, err
	}
	return body, rm, nil
}

// buildSDP marshals an audio-only SDP with pion/sdp.
func buildSDP(local LocalMedia, sessID, version uint64, codecs []remoteCodec, dtmfPT uint8, secure bool, cryptos []cryptoAttr) ([]byte, error) {
	if !local.Addr.IsValid() || local.Addr.Port() == 0 {
		return nil, fmt.Errorf("invalid local media address %v", local.Addr)
	}
	ptime := local.PTime
	if ptime <= 0 {
		ptime = defaultPTime
	}
	ip := local.Addr.Addr().Unmap()
	addrType := "IP4"
	if ip.Is6() {
		addrType = "IP6"
	}
	formats := make([]string, 0, len(codecs)+1)
	attrs := make([]sdp.Attribute, 0, len(codecs)+5)
	for _, c := range codecs {
		formats = append(formats, strconv.Itoa(int(c.pt)))
		attrs = append(attrs, sdp.NewAttribute("rtpmap", fmt.Sprintf("%d %s/8000", c.pt, strings.ToUpper(c.name))))
	}
	if dtmfPT != 0 {
		formats = append(formats, strconv.Itoa(int(dtmfPT)))
		attrs = append(attrs,
			sdp.NewAttribute("rtpmap", fmt.Sprintf("%d telephone-event/8000", dtmfPT)),
			sdp.NewAttribute("fmtp", fmt.Sprintf("%d %s", dtmfPT, eventRange(local.Flash))))
	}
	for _, c := range cryptos {
		attrs = append(attrs, sdp.NewAttribute("crypto", c.value()))
	}
	attrs = append(attrs,
		sdp.NewAttribute("ptime", strconv.Itoa(ptime)),
		sdp.NewPropertyAttribute(string(local.Direction.orSendRecv())))
	proto := []string{"RTP", "AVP"}
	if secure {
		proto = []string{"RTP", "SAVP"}
	}
	s := sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       "loopstart",
			SessionID:      sessID,
			SessionVersion: version,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: ip.String(),
		},
		SessionName: "loopstart",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &sdp.Address{Address: ip.String()},
		},
		TimeDescriptions: []sdp.TimeDescription{{}},
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName: sdp.MediaName{
				Media:   "audio",
				Port:    sdp.RangedPort{Value: int(local.Addr.Port())},
				Protos:  proto,
				Formats: formats,
			},
			Attributes: attrs,
		}},
	}
	return s.Marshal()
}

// eventRange is the telephone-event fmtp range offered: 0-15 (DTMF), or
// 0-16 with flash.
func eventRange(flash bool) string {
	if flash {
		return "0-16"
	}
	return "0-15"
}
