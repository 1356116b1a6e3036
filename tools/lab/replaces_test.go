package lab

import (
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// TestInteropFlashReplaces: SIPp, as B, calls phone 1 through Kamailio
// and streams a 1100 Hz tone; the phone answers and says 700 Hz. SIPp
// then sends, as D, an INVITE whose Replaces header names the phone's
// dialog with B (its Call-ID, the gateway's tag as to-tag, B's as
// from-tag), its media on a socket of the test that plays 1500 Hz and
// keeps what it hears. The gateway answers it at once, sends B's dialog a
// BYE, and the phone talks with D: it hears D's tone and not B's, and D
// hears the phone. The phone hangs up: D gets a BYE and SIPp ends with
// its scenario complete. Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run TestInteropFlashReplaces ./tools/lab/
func TestInteropFlashReplaces(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "sipp")
	k := StartKamailio(t, KamailioOpts{})
	g := StartGateway(t, GatewayOpts{Config: ContractConfig(k.Addr)})
	waitRegistered(t, g, "1")
	dir := t.TempDir()
	// B's tone, as SIPp's rtp_stream takes it: raw G.711 µ-law.
	tone := make([]int16, 8000*10)
	amp := dsp.DBm0ToAmplitude(-12)
	for i := range tone {
		tone[i] = int16(amp * math.Sin(2*math.Pi*1100*float64(i)/8000))
	}
	ulaw := make([]byte, len(tone))
	dsp.EncodeMulaw(ulaw, tone)
	toneFile := filepath.Join(dir, "b-1100.ulaw")
	if err := os.WriteFile(toneFile, ulaw, 0o644); err != nil {
		t.Fatal(err)
	}
	sf := filepath.Join(dir, "replaces.xml")
	d := startRTPParty(t, 1500)
	xml := strings.NewReplacer("@TONE@", toneFile, "@DPORT@", fmt.Sprint(d.port())).Replace(replacesXML)
	if err := os.WriteFile(sf, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	g.WaitIdle(t, 1)
	p := Start(t, dir, "sipp", k.Addr, "-sf", sf, "-s", "1001", "-i", "127.0.0.1",
		"-p", fmt.Sprint(FreePort(t, 1)), "-mp", fmt.Sprint(FreePort(t, 2)),
		"-m", "1", "-timeout", "60s", "-timeout_error", "-recv_timeout", "30000", "-nostdin")
	Eventually(t, 10*time.Second, "phone 1 rings for B", func() error {
		if p.Exited() {
			t.Fatalf("sipp ended before the phone rang:\n%s", tail(p.Log(), 30))
		}
		if !g.Phone(t, 1).Ringing {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	g.Hook(t, 1, "off")
	g.Say(t, 1, []float64{700}, -12)
	g.WaitHears(t, 1, 5*time.Second, "phone 1 hears B", 1100)
	Eventually(t, 15*time.Second, "phone 1 talks with D", func() error {
		if p.Exited() {
			t.Fatalf("sipp ended early:\n%s", tail(p.Log(), 30))
		}
		h := g.Phone(t, 1).Hearing.TonesHz
		if !Hears(h, 1500) || Hears(h, 1100) {
			return fmt.Errorf("hearing %v", h)
		}
		return nil
	})
	Eventually(t, 5*time.Second, "D hears the phone", func() error {
		if h := d.hearing(); !Hears(h, 700) {
			return fmt.Errorf("D hears %v", h)
		}
		return nil
	})
	if log := g.Log(); !strings.Contains(log, "call replaced") {
		t.Errorf("no call replaced in the gateway log:\n%s", tail(log, 30))
	}
	if st := g.PortStatus(t, 1); st.State != "talking" {
		t.Errorf("port 1 %s after the replacement, want talking", st.State)
	}
	time.Sleep(time.Second)
	g.Hook(t, 1, "on")
	g.Say(t, 1, nil, 0)
	waitExit(t, p, 20*time.Second)
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("sipp exit %d: the scenario (B's BYE, D's BYE) did not complete:\n%s", code, tail(p.Log(), 40))
	}
	g.WaitIdle(t, 1)
	Eventually(t, 5*time.Second, "port 1 idle with no peer", func() error {
		if st := g.PortStatus(t, 1); st.State != "idle" || st.Peer != "" {
			return fmt.Errorf("port 1 %s with %q", st.State, st.Peer)
		}
		return nil
	})
}

// replacesXML is the SIPp scenario of TestInteropFlashReplaces: B's call
// to [service] with its tone streamed, then D's INVITE with Replaces on a
// second dialog (its Call-ID carries B's after "///", which SIPp keys the
// messages of one scenario call on), B's BYE from the gateway answered,
// and D's BYE from the gateway answered.
const replacesXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart invite with replaces">
  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "B" <sip:1003@[local_ip]:[local_port]>;tag=[pid]SIPpTagB[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:b@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=b 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [rtpstream_audio_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="tag=([^;> ]+)" search_in="hdr" header="To:" assign_to="junk,gwtag"/>
    </action>
  </recv>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "B" <sip:1003@[local_ip]:[local_port]>;tag=[pid]SIPpTagB[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <nop>
    <action>
      <exec rtp_stream="@TONE@,-1,0"/>
    </action>
  </nop>
  <pause milliseconds="5000"/>
  <nop>
    <action>
      <exec rtp_stream="pause"/>
    </action>
  </nop>
  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "D" <sip:1005@[local_ip]:[local_port]>;tag=[pid]SIPpTagD[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: d///[call_id]
CSeq: 1 INVITE
Contact: <sip:d@[local_ip]:[local_port]>
Replaces: [call_id];to-tag=[$gwtag];from-tag=[pid]SIPpTagB[call_number]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=d 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio @DPORT@ RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "D" <sip:1005@[local_ip]:[local_port]>;tag=[pid]SIPpTagD[call_number]
[last_To:]
[routes]
Call-ID: d///[call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <recv request="BYE"/>
` + sippOK + `  <recv request="BYE"/>
` + sippOK + `  <Reference variables="junk"/>
</scenario>
`

// rtpParty is a bare RTP end point for a call's media: it answers the
// first packet's sender with a G.711 µ-law tone every 20 ms (at most a
// minute of it) and keeps the last second of what it hears.
type rtpParty struct {
	conn  *net.UDPConn
	mu    sync.Mutex
	heard []int16
}

func startRTPParty(t *testing.T, hz float64) *rtpParty {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &rtpParty{conn: conn}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(done); conn.Close(); wg.Wait() })
	peer := make(chan *net.UDPAddr, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		pcm := make([]int16, 1500)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n < 12 || buf[1]&0x7f != 0 {
				continue // not PCMU audio
			}
			select {
			case peer <- from:
			default:
			}
			hl := 12 + 4*int(buf[0]&0x0f)
			if hl > n {
				continue
			}
			m := n - hl
			dsp.DecodeMulaw(pcm[:m], buf[hl:n])
			r.mu.Lock()
			r.heard = append(r.heard, pcm[:m]...)
			if len(r.heard) > 8000 {
				r.heard = append(r.heard[:0], r.heard[len(r.heard)-8000:]...)
			}
			r.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		var to *net.UDPAddr
		select {
		case to = <-peer:
		case <-done:
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pkt := make([]byte, 12+160)
		pkt[0], pkt[1] = 0x80, 0
		frame := make([]int16, 160)
		amp := dsp.DBm0ToAmplitude(-12)
		n := 0
		for seq := range 3000 { // a minute at most
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for i := range frame {
				frame[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(n)/8000))
				n++
			}
			pkt[2], pkt[3] = byte(seq>>8), byte(seq)
			ts := uint32(seq * 160)
			pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
			pkt[8], pkt[9], pkt[10], pkt[11] = 0x4c, 0x53, 0x54, 0x44
			dsp.EncodeMulaw(pkt[12:], frame)
			_, _ = conn.WriteToUDP(pkt, to)
		}
	}()
	return r
}

func (r *rtpParty) port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

// hearing returns the dominant tones of the last half second heard.
func (r *rtpParty) hearing() []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.heard) < 4000 {
		return nil
	}
	return dsp.DominantTones(r.heard[len(r.heard)-4000:], 4)
}
