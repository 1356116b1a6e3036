package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func crlf(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func TestBuildOffer(t *testing.T) {
	tests := []struct {
		name    string
		local   LocalMedia
		formats []string
		rtpmaps []string
		ptime   string
		addr    string
		wantErr bool
	}{
		{
			name:    "default codecs",
			local:   LocalMedia{Addr: netip.MustParseAddrPort("127.0.0.1:40000")},
			formats: []string{"0", "8", "101"},
			rtpmaps: []string{"0 PCMU/8000", "8 PCMA/8000", "101 telephone-event/8000"},
			ptime:   "20",
			addr:    "127.0.0.1",
		},
		{
			name:    "pcma first, 30 ms",
			local:   LocalMedia{Addr: netip.MustParseAddrPort("192.0.2.7:5004"), Codecs: []string{"PCMA", "pcmu"}, PTime: 30},
			formats: []string{"8", "0", "101"},
			rtpmaps: []string{"8 PCMA/8000", "0 PCMU/8000", "101 telephone-event/8000"},
			ptime:   "30",
			addr:    "192.0.2.7",
		},
		{
			name:    "ipv6",
			local:   LocalMedia{Addr: netip.MustParseAddrPort("[::1]:5004"), Codecs: []string{"pcmu"}},
			formats: []string{"0", "101"},
			rtpmaps: []string{"0 PCMU/8000", "101 telephone-event/8000"},
			ptime:   "20",
			addr:    "::1",
		},
		{
			name:    "g722 first (G722/8000: the RTP clock, RFC 3551)",
			local:   LocalMedia{Addr: netip.MustParseAddrPort("127.0.0.1:5004"), Codecs: []string{"g722", "pcmu"}},
			formats: []string{"9", "0", "101"},
			rtpmaps: []string{"9 G722/8000", "0 PCMU/8000", "101 telephone-event/8000"},
			ptime:   "20",
			addr:    "127.0.0.1",
		},
		{name: "unknown codec", local: LocalMedia{Addr: netip.MustParseAddrPort("127.0.0.1:4000"), Codecs: []string{"opus"}}, wantErr: true},
		{name: "no address", local: LocalMedia{}, wantErr: true},
		{name: "port zero", local: LocalMedia{Addr: netip.MustParseAddrPort("127.0.0.1:0")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := buildOffer(tt.local, 42, 42)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("buildOffer: want error, got\n%s", body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s sdp.SessionDescription
			if err := s.Unmarshal(body); err != nil {
				t.Fatalf("our offer does not parse: %v\n%s", err, body)
			}
			if got := s.ConnectionInformation.Address.Address; got != tt.addr {
				t.Errorf("c= %q, want %q", got, tt.addr)
			}
			md := s.MediaDescriptions[0]
			if md.MediaName.Port.Value != int(tt.local.Addr.Port()) {
				t.Errorf("m= port %d", md.MediaName.Port.Value)
			}
			if got := strings.Join(md.MediaName.Formats, " "); got != strings.Join(tt.formats, " ") {
				t.Errorf("formats %q, want %q", got, strings.Join(tt.formats, " "))
			}
			var maps []string
			for _, a := range md.Attributes {
				if a.Key == "rtpmap" {
					maps = append(maps, a.Value)
				}
			}
			if strings.Join(maps, ",") != strings.Join(tt.rtpmaps, ",") {
				t.Errorf("rtpmaps %q, want %q", maps, tt.rtpmaps)
			}
			if v, _ := md.Attribute("ptime"); v != tt.ptime {
				t.Errorf("ptime %q, want %q", v, tt.ptime)
			}
			if v, _ := md.Attribute("fmtp"); v != "101 0-15" {
				t.Errorf("fmtp %q", v)
			}
			// Our own parser reads our own offer back.
			desc, err := parseSDP(body)
			if err != nil {
				t.Fatal(err)
			}
			if desc.addr != tt.local.Addr || desc.dtmfPT != 101 {
				t.Errorf("parsed back %+v", desc)
			}
		})
	}
}

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		want    audioDesc
		wantErr string
	}{
		{
			name: "baresip-like offer",
			body: crlf("v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
				"m=audio 10000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
				"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:20", "a=sendrecv"),
			want: audioDesc{addr: netip.MustParseAddrPort("127.0.0.1:10000"), codecs: []remoteCodec{{"pcmu", 0}, {"pcma", 8}}, dtmfPT: 101, ptime: 20},
		},
		{
			name: "static types without rtpmap, media-level c=, other DTMF number",
			body: crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "t=0 0",
				"m=audio 4000 RTP/AVP 8 0 96", "c=IN IP4 10.0.0.9", "a=rtpmap:96 telephone-event/8000", "a=ptime:30"),
			want: audioDesc{addr: netip.MustParseAddrPort("10.0.0.9:4000"), codecs: []remoteCodec{{"pcma", 8}, {"pcmu", 0}}, dtmfPT: 96, ptime: 30},
		},
		{
			name: "skips video, rejected audio and foreign codecs",
			body: crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
				"m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000",
				"m=audio 0 RTP/AVP 0",
				"m=audio 6000 RTP/AVP 3 111 8", "a=rtpmap:111 opus/48000/2"),
			want: audioDesc{addr: netip.MustParseAddrPort("10.0.0.1:6000"), codecs: []remoteCodec{{"pcma", 8}}, ptime: 20},
		},
		{
			name: "g722, static and by rtpmap; G722/16000 is not RFC 3551's",
			body: crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
				"m=audio 6000 RTP/AVP 9 0", "a=rtpmap:9 G722/8000"),
			want: audioDesc{addr: netip.MustParseAddrPort("10.0.0.1:6000"), codecs: []remoteCodec{{"g722", 9}, {"pcmu", 0}}, ptime: 20},
		},
		{
			name: "g722 at the wrong clock rate skipped",
			body: crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
				"m=audio 6000 RTP/AVP 98 8", "a=rtpmap:98 G722/16000"),
			want: audioDesc{addr: netip.MustParseAddrPort("10.0.0.1:6000"), codecs: []remoteCodec{{"pcma", 8}}, ptime: 20},
		},
		{
			name:    "only opus",
			body:    crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 6000 RTP/AVP 111", "a=rtpmap:111 opus/48000/2"),
			wantErr: "no common codec",
		},
		{
			name:    "dtls only",
			body:    crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 6000 UDP/TLS/RTP/SAVP 0"),
			wantErr: "no usable",
		},
		{
			name:    "no connection",
			body:    crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "t=0 0", "m=audio 6000 RTP/AVP 0"),
			wantErr: "without connection",
		},
		{
			name:    "hostname connection",
			body:    crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 pbx.example", "t=0 0", "m=audio 6000 RTP/AVP 0"),
			wantErr: "not an IP",
		},
		{name: "no audio", body: crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0"), wantErr: "no audio"},
		{name: "garbage", body: []byte("hello"), wantErr: "bad sdp"},
		{name: "empty", body: nil, wantErr: "bad sdp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSDP(tt.body)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.addr != tt.want.addr || got.dtmfPT != tt.want.dtmfPT || got.ptime != tt.want.ptime ||
				len(got.codecs) != len(tt.want.codecs) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got.codecs {
				if got.codecs[i] != tt.want.codecs[i] {
					t.Fatalf("codecs %+v, want %+v", got.codecs, tt.want.codecs)
				}
			}
		})
	}
}

func TestBuildAnswer(t *testing.T) {
	offer := func(formats string, extra ...string) audioDesc {
		lines := []string{"v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 7000 RTP/AVP " + formats}
		d, err := parseSDP(crlf(append(lines, extra...)...))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	local := func(codecs ...string) LocalMedia {
		return LocalMedia{Addr: netip.MustParseAddrPort("127.0.0.1:9000"), Codecs: codecs}
	}
	tests := []struct {
		name       string
		offer      audioDesc
		local      LocalMedia
		wantCodec  string
		wantPT     uint8
		wantDTMF   uint8
		wantFormat string
		wantErr    error
	}{
		{"our preference wins", offer("0 8 101", "a=rtpmap:101 telephone-event/8000"), local("pcma", "pcmu"), "pcma", 8, 101, "8 101", nil},
		{"offer order irrelevant", offer("8 0 101", "a=rtpmap:101 telephone-event/8000"), local("pcmu", "pcma"), "pcmu", 0, 101, "0 101", nil},
		{"mirror their dtmf number", offer("0 96", "a=rtpmap:96 telephone-event/8000"), local(), "pcmu", 0, 96, "0 96", nil},
		{"no dtmf offered", offer("8"), local(), "pcma", 8, 0, "8", nil},
		{"g722 preferred", offer("0 8 9 101", "a=rtpmap:101 telephone-event/8000"), local("g722", "pcmu"), "g722", 9, 101, "9 101", nil},
		{"g722 offered, not ours by default", offer("9 8"), local(), "pcma", 8, 0, "8", nil},
		{"g722 only, we prefer pcmu then g722", offer("9"), local("pcmu", "g722"), "g722", 9, 0, "9", nil},
		{"no common codec", offer("8"), local("pcmu"), "", 0, 0, "", ErrNoCommonCodec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, rm, err := buildAnswer(tt.local, tt.offer, 7, 7)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rm.Codec != tt.wantCodec || rm.PT != tt.wantPT || rm.DTMFPT != tt.wantDTMF ||
				rm.Addr != netip.MustParseAddrPort("10.0.0.1:7000") || rm.PTime != 20 {
				t.Errorf("remote media %+v", rm)
			}
			var s sdp.SessionDescription
			if err := s.Unmarshal(body); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(s.MediaDescriptions[0].MediaName.Formats, " "); got != tt.wantFormat {
				t.Errorf("answer formats %q, want %q", got, tt.wantFormat)
			}
		})
	}
}

// FuzzParseSDP checks that parseSDP never panics and that what it accepts
// is answerable by a port that could take it: parseSDP accepts every codec
// some port may be configured with (G.711 and G.722) and leaves the SRTP
// policy to the caller, so the answer is built with all our codecs and
// optional SRTP. Its only refusal then is an RTP/SAVP offer without a
// crypto suite we support, which no policy can answer (488 in onInvite).
// With the default, G.711-only codecs, the answer fails for want of a
// common codec exactly when the offer has no G.711.
func FuzzParseSDP(f *testing.F) {
	seed, _ := buildOffer(LocalMedia{Addr: netip.MustParseAddrPort("127.0.0.1:4000")}, 1, 1)
	f.Add(seed)
	f.Add(crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "t=0 0", "m=audio 6000 RTP/AVP 0 8 96", "c=IN IP6 ::1", "a=rtpmap:96 telephone-event/8000", "a=ptime:x"))
	f.Add(crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 99999 RTP/AVP 300 -1 8"))
	f.Add(crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 6000 RTP/AVP 9"))
	f.Add(crlf("v=0", "o=- 1 2 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 6000 RTP/SAVP 0"))
	f.Add([]byte("v=0\nm=audio"))
	local := netip.MustParseAddrPort("127.0.0.1:4000")
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parseSDP(body)
		if err != nil {
			return
		}
		if len(d.codecs) == 0 || !d.addr.IsValid() || d.addr.Port() == 0 {
			t.Fatalf("accepted unusable description %+v", d)
		}
		all := LocalMedia{Addr: local, Codecs: []string{CodecPCMU, CodecPCMA, CodecG722}, SRTP: SRTPOptional}
		_, rm, err := buildAnswer(all, d, 1, 1)
		switch {
		case err == nil:
			if _, ok := d.has(rm.Codec); !ok {
				t.Fatalf("answered with %s, which the offer lacks", rm.Codec)
			}
		case errors.Is(err, ErrNoCryptoSuite) && d.secure && len(d.cryptos) == 0:
		default:
			t.Fatalf("cannot answer accepted offer with every codec: %v", err)
		}
		_, _, err = buildAnswer(LocalMedia{Addr: local, SRTP: SRTPOptional}, d, 1, 1)
		_, pcmu := d.has(CodecPCMU)
		_, pcma := d.has(CodecPCMA)
		if noG711 := !pcmu && !pcma; noG711 != errors.Is(err, ErrNoCommonCodec) {
			t.Fatalf("default codecs: offer without G.711 %v, answer error %v", noG711, err)
		}
	})
}
