package qemutest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/dsp/wav"
	"github.com/loopstart/loopstart/tools/lab"
)

// The call through the kernel crosses QEMU's user networking, which
// NATs the guest behind the host's loopback: the host reaches the guest
// only through forwarded ports, the guest reaches the host's 127.0.0.1
// as 10.0.2.2. Media takes this path:
//
//   - the guest's ephemeral UDP ports are narrowed to hilRTPPorts ports
//     (sysctl net.ipv4.ip_local_port_range on the kernel command line),
//     each forwarded from the same port on the host's 127.0.0.1, so the
//     gateway's RTP and RTCP sockets are reachable from the host (the
//     gateway binds two RTP/RTCP pairs per port at start, 8 ports for the
//     two ports, again when a config change rebuilds them, and the STUN
//     query one more);
//   - the account asks a STUN responder on the host for its public
//     address (<stun>): it sees 127.0.0.1, which the gateway's SDP offers
//     with its local port, where baresip sends;
//   - baresip's SDP offers 127.0.0.1, which inside the guest is the
//     guest itself: the gateway's symmetric RTP answers to the source of
//     baresip's packets instead (10.0.2.2, baresip's port), as it does
//     behind any NAT;
//   - Kamailio record-routes twice (hilKamailio), so the gateway's BYE
//     goes to 10.0.2.2 and baresip's to 127.0.0.1.
const hilRTPPorts = 32

// hilKamailio starts the lab's Kamailio with a double Record-Route: a
// dialog's requests from the host's side (baresip) reach it at
// 127.0.0.1, those from the guest at 10.0.2.2, which is the host's
// loopback as QEMU's user networking shows it to the guest (127.0.0.1 in
// the guest is the guest itself). Kamailio takes both as its own.
func hilKamailio(t *testing.T) *lab.Kamailio {
	t.Helper()
	port := lab.FreePort(t, 1)
	return lab.StartKamailioIn(t, nil, "127.0.0.1", port, lab.KamailioOpts{},
		// The first Record-Route (on top) is the callee's first hop back
		// (the gateway's), the second the caller's (baresip's).
		// r2=on: the route after ours is ours too (loose_route drops both).
		"record_route();", fmt.Sprintf(`record_route_preset("10.0.2.2:%d;r2=on", "127.0.0.1:%d;r2=on");`, port, port),
		fmt.Sprintf("alias=127.0.0.1:%d", port), fmt.Sprintf("alias=127.0.0.1:%d\nalias=10.0.2.2:%d", port, port))
}

// hilNet is the host side of the call's networking.
type hilNet struct {
	rtpBase  int      // the guest's first ephemeral port, forwarded as is
	stunPort int      // the STUN responder on 127.0.0.1
	forwards []string // QEMU hostfwd rules for the RTP ports
	cmdline  string   // kernel parameter narrowing the guest's ports
}

// newHILNet picks hilRTPPorts free UDP ports on the host (starting on an
// even one, as RTP does) and starts the STUN responder.
func newHILNet(t *testing.T) hilNet {
	t.Helper()
	base := lab.FreePort(t, hilRTPPorts+1)
	if base%2 == 1 {
		base++
	}
	n := hilNet{rtpBase: base, stunPort: stunResponder(t),
		cmdline: fmt.Sprintf(`sysctl.net.ipv4.ip_local_port_range="%d %d"`, base, base+hilRTPPorts-1)}
	for p := base; p < base+hilRTPPorts; p++ {
		n.forwards = append(n.forwards, fmt.Sprintf("udp:127.0.0.1:%d-:%d", p, p))
	}
	return n
}

// stunResponder answers STUN binding requests on 127.0.0.1 with the
// request's source address (RFC 5389 XOR-MAPPED-ADDRESS): the part of a
// STUN server the gateway's <stun> uses, here only to let the guest learn
// the address QEMU's NAT gives it. It stops with the test.
func stunResponder(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil || req.Type != stun.BindingRequest {
				continue
			}
			res, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())}, stun.Fingerprint)
			if err == nil {
				_, _ = pc.WriteToUDPAddrPort(res.Raw, from)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// hilCallConfig registers port 1's account (1001) at Kamailio on the host,
// with the STUN responder for its media address.
func hilCallConfig(kamPort, stunPort int) string {
	return fmt.Sprintf(`<loopstart>
  <account id="1"><registrar>sip:10.0.2.2:%d</registrar><user>1001</user><password>secret1</password><stun>10.0.2.2:%d</stun></account>
  <port n="1" account="1"/>
</loopstart>
`, kamPort, stunPort)
}

// guestPhone drives a virtual phone in the guest from the host.
type guestPhone interface {
	// state reads the phone (the sim API's port object).
	state() (simapi.Port, error)
	// hook puts the handset "off" or "on".
	hook(state string) error
	// say has the phone send a tone at level.
	say(hz int, dbfs float64) error
	// dial keys DTMF digits.
	dial(digits string) error
}

// hilPhone is the phone on the qemu-hil board's models, through
// spidevd's API.
type hilPhone struct {
	addr string // spidevd's forwarded API
	port int
}

func (p hilPhone) state() (simapi.Port, error) {
	var s simapi.Port
	b, err := hilGet(p.addr, "/hil/phone?port="+strconv.Itoa(p.port))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func (p hilPhone) hook(state string) error {
	_, err := hilPost(p.addr, fmt.Sprintf("/hil/hook?port=%d&state=%s", p.port, state))
	return err
}

func (p hilPhone) say(hz int, dbfs float64) error {
	_, err := hilPost(p.addr, fmt.Sprintf("/hil/say?port=%d&hz=%d&dbfs=%g", p.port, hz, dbfs))
	return err
}

func (p hilPhone) dial(digits string) error {
	_, err := hilPost(p.addr, fmt.Sprintf("/hil/dial?port=%d&digits=%s", p.port, digits))
	return err
}

// dialHeld keys digits holding each key for hold.
func (p hilPhone) dialHeld(digits string, hold time.Duration) error {
	_, err := hilPost(p.addr, fmt.Sprintf("/hil/dial?port=%d&digits=%s&ms=%d", p.port, digits, hold.Milliseconds()))
	return err
}

// simPhone is a sim board's phone through the sim API, which answers
// only the guest's loopback: the test hooks relay it (/test/sim/...).
type simPhone struct {
	hooks string // the test hooks' forwarded address
	port  int
}

func (p simPhone) state() (simapi.Port, error) {
	var s simapi.Port
	b, err := hilGet(p.hooks, fmt.Sprintf("/test/sim/ports/%d", p.port))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func (p simPhone) post(what string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Post(fmt.Sprintf("http://%s/test/sim/ports/%d/%s", p.hooks, p.port, what), "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("sim API %s %s: %s %s", what, b, resp.Status, msg)
	}
	return nil
}

func (p simPhone) hook(state string) error {
	return p.post("hook", map[string]string{"state": state})
}

func (p simPhone) say(hz int, dbfs float64) error {
	return p.post("say", map[string]any{"tones_hz": []int{hz}, "level_dbfs": dbfs})
}

func (p simPhone) dial(digits string) error {
	return p.post("dial", map[string]string{"digits": digits, "mode": "dtmf"})
}

// hilCall is a whole call through the guest: baresip on the host calls
// port 1's number through Kamailio, the phone rings, answers, hears
// baresip's tone and sends its own, dials a DTMF digit that baresip
// receives as a telephone-event, and hangs up. On the qemu-hil board
// (hilPhone) ring, hook and PCM go through the kernel (spidev, snd-aloop
// and spidevd); on the sim board (simPhone) through the sim models.
func hilCall(t *testing.T, v *vm, ph guestPhone, k *lab.Kamailio) {
	const farHz, phoneHz = 600, 1000
	farWAV := filepath.Join(t.TempDir(), "far.wav")
	// baresip ends the call when its source file ends: longer than the
	// call can take.
	if err := lab.WriteToneWAV(farWAV, farHz, -12, 120); err != nil {
		t.Fatal(err)
	}
	b := lab.StartBaresip(t, lab.BaresipOpts{User: "1003", Password: "secret3",
		Registrar: fmt.Sprintf("127.0.0.1:%d", k.Port), SourceWAV: farWAV})
	lab.Eventually(t, 60*time.Second, "account 1 registered at Kamailio", func() error {
		s, err := v.accountState("1")
		if err == nil && s != "registered" {
			err = fmt.Errorf("state %q", s)
		}
		return err
	})
	// The first REGISTER's Contact is the guest's own address; the
	// registrar's received/rport then make it 127.0.0.1 (the forwarded
	// port) and the old one is removed: dial once only that one is left.
	lab.Eventually(t, 30*time.Second, "1001 registered at Kamailio with the forwarded 127.0.0.1 only", func() error {
		loc, err := k.Locations()
		if err != nil {
			return err
		}
		if strings.Contains(loc, "10.0.2.15") || !strings.Contains(loc, "AoR: 1001") {
			return fmt.Errorf("location table:\n%s", loc)
		}
		return nil
	})
	start := time.Now()
	if err := b.Command("dial", fmt.Sprintf("sip:1001@127.0.0.1:%d", k.Port)); err != nil {
		t.Fatal(err)
	}
	lab.Eventually(t, 30*time.Second, "the phone on the model rings", func() error {
		p, err := ph.state()
		if err == nil && p.Rings == 0 {
			err = fmt.Errorf("phone %+v", p)
		}
		return err
	})
	t.Logf("call: the phone rang %v after the dial", time.Since(start).Round(time.Millisecond))
	if err := ph.hook("off"); err != nil {
		t.Fatal(err)
	}
	b.WaitEvent(t, "CALL_ESTABLISHED", 0, 40*time.Second, "baresip's call established")
	t.Logf("call: established %v after the dial", time.Since(start).Round(time.Millisecond))
	if err := ph.say(phoneHz, -12); err != nil {
		t.Fatal(err)
	}
	lab.Eventually(t, 30*time.Second, fmt.Sprintf("the phone hears baresip's %d Hz", farHz), func() error {
		p, err := ph.state()
		if err == nil && !lab.Hears(p.Hearing.TonesHz, farHz) {
			err = fmt.Errorf("phone hears %v at %.1f dBFS", p.Hearing.TonesHz, p.Hearing.LevelDBFS)
		}
		return err
	})
	p, _ := ph.state()
	t.Logf("call: the phone hears %v Hz at %.1f dBFS", p.Hearing.TonesHz, p.Hearing.LevelDBFS)
	hp, isHIL := ph.(hilPhone)
	var cpu0 hilCPUTicks
	if isHIL {
		cpu0, _ = hilCPU(hp.addr)
	}
	// Let baresip record a few seconds of the phone's tone, then a digit.
	time.Sleep(4 * time.Second)
	if isHIL {
		// Who had the guest's CPU during the call (a call whose audio
		// breaks up has the gateway's loop missing frames).
		if cpu1, err := hilCPU(hp.addr); err == nil && cpu1.Total > cpu0.Total {
			t.Logf("call: the guest's CPU over 4 s: %s", cpuShares(cpu0, cpu1))
		}
		// Whether the phone's own tone comes back to it: a line's
		// canceller whose reference carries the phone's own signal
		// cancels the phone (its tone, then its key presses).
		if b, err := hilGet(hp.addr, "/hil/heard.wav?port=1&ms=3000"); err == nil {
			if x, _, err := wav.Read(bytes.NewReader(b)); err == nil && len(x) > 0 {
				t.Logf("call: the phone's earpiece over 3 s: baresip's %d Hz at %.1f dBFS, the phone's own %d Hz at %.1f dBFS",
					farHz, toneDBFS(x, farHz), phoneHz, toneDBFS(x, phoneHz))
			}
		}
	}
	// The port's canceller before the key press (a digit it hides, or
	// not, is judged against passing calls).
	if _, body, err := v.api("GET", "/api/status", "", nil); err == nil {
		var st struct {
			Ports []struct {
				Call *struct {
					Echo json.RawMessage `json:"echo"`
				} `json:"call"`
			} `json:"ports"`
			Loop struct {
				Ticks  uint64 `json:"ticks"`
				Late   uint64 `json:"late"`
				Missed uint64 `json:"missed"`
			} `json:"loop"`
		}
		if json.Unmarshal(body, &st) == nil && len(st.Ports) > 0 && st.Ports[0].Call != nil {
			t.Logf("call: before the key press, port 1's echo canceller %s; the loop %+v", st.Ports[0].Call.Echo, st.Loop)
		}
	}
	// A key press, again (at most 4 presses) while baresip has not seen
	// it: on a loaded host the models' PCM in spidevd (normal class) can
	// fall behind and drop frames of a press (the guest's whole audio
	// slowed by a tenth in one such run: 9 % of the models' frames
	// missed, a tenth of the gateway's packets not sent). As a person who
	// is not understood does, each press after the first holds the key
	// twice as long where the phone can (hilPhone: 200, 400, 800 ms).
	presses := 0
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if _, body, err := v.api("GET", "/api/status", "", nil); err == nil {
			t.Logf("gateway status at the end: %s", body)
		}
		if p, err := ph.state(); err == nil {
			t.Logf("the phone at the end: %+v", p)
		}
		// The PCM mode, timeslot and loopback registers the gateway
		// wrote to the SLIC (1–5, 8), in order, and the line feed (64).
		if hp, ok := ph.(hilPhone); ok {
			if tr, err := hilGet(hp.addr, "/hil/trace?dev=spidev0.0"); err == nil {
				var w []string
				for _, l := range strings.Split(string(tr), "\n") {
					if f := strings.Fields(l); len(f) == 3 && f[0] == "W" && (len(f[1]) == 1 && f[1] >= "1" && f[1] <= "8" || f[1] == "64") {
						w = append(w, f[1]+"="+f[2])
					}
				}
				t.Logf("SLIC writes to registers 1-5, 8, 64: %v", w)
			}
			// Where the call's audio stopped: the levels the models sent
			// and got per slot (in /hil/status, logged by the test's end),
			// and which loopback substreams each side holds and runs.
			if a, err := hilGet(hp.addr, "/hil/asound"); err == nil {
				t.Logf("the guest's PCM substreams:\n%s", a)
			}
		}
		// What reached baresip: hang up, let it close its recording, and
		// list the recording's tones (the uplink's audio, or not).
		if err := ph.hook("on"); err == nil {
			for end := time.Now().Add(10 * time.Second); b.EventCount("CALL_CLOSED") == 0 && time.Now().Before(end); {
				time.Sleep(200 * time.Millisecond)
			}
		}
		if recs := b.Recordings(); len(recs) > 0 {
			err := lab.RecordingHasSomewhere(recs[len(recs)-1], phoneHz)
			digits, derr := lab.RecordingDigits(recs[len(recs)-1])
			t.Logf("baresip's recording (%d files): %d Hz somewhere: %v; DTMF in band: %q %v", len(recs), phoneHz, err, digits, derr)
		}
	})
	lab.Eventually(t, 40*time.Second, "baresip receives DTMF 5", func() error {
		if e := b.LastEvent("CALL_DTMF_START"); e != nil && fmt.Sprint(e["param"]) == "5" {
			return nil
		}
		if presses < 4 {
			presses++
			var err error
			if h, ok := ph.(interface {
				dialHeld(string, time.Duration) error
			}); ok && presses > 1 {
				err = h.dialHeld("5", (100<<(presses-1))*time.Millisecond)
			} else {
				err = ph.dial("5")
			}
			if err != nil {
				return err
			}
			time.Sleep(2 * time.Second)
		}
		return fmt.Errorf("after %d presses, last DTMF event %v; events %v", presses, b.LastEvent("CALL_DTMF_START"), b.Events())
	})
	t.Logf("call: baresip got DTMF 5 after %d key press(es)", presses)
	if hp, ok := ph.(hilPhone); ok {
		// The models' PCM in a passing call, beside the failing ones'.
		if b, err := hilGet(hp.addr, "/hil/status"); err == nil {
			var st struct {
				PCM json.RawMessage `json:"pcm"`
			}
			if json.Unmarshal(b, &st) == nil {
				t.Logf("call: the models' pcm: %s", st.PCM)
			}
		}
	}
	time.Sleep(2 * time.Second)
	if err := ph.hook("on"); err != nil {
		t.Fatal(err)
	}
	b.WaitEvent(t, "CALL_CLOSED", 0, 40*time.Second, "baresip's call closed by the phone's hang-up")
	// The call's middle may fall on the key press, whose digit the phone
	// sends instead of its tone: some half second must carry the tone.
	b.WaitRecordingSomewhere(t, 0, phoneHz, 15*time.Second)
	lab.Eventually(t, 20*time.Second, "port 1 idle after the call", func() error {
		gs, err := v.gatewayStatus()
		if err == nil && (gs.Ports[0].Hook != "on" || gs.Ports[0].State != "idle") {
			err = fmt.Errorf("port 1 hook %s state %s", gs.Ports[0].Hook, gs.Ports[0].State)
		}
		return err
	})
	if strings.Contains(b.Log(), "rtp: ") {
		t.Logf("baresip on rtp: %s", lastMatch(b.Log(), "rtp: "))
	}
}

// lastMatch is the last line of log holding s.
func lastMatch(log, s string) string {
	l := strings.Split(log, "\n")
	for i := len(l) - 1; i >= 0; i-- {
		if strings.Contains(l[i], s) {
			return l[i]
		}
	}
	return ""
}

// toneDBFS is the level of hz in x (Goertzel over all of it), in dBFS of
// a full-scale sine.
func toneDBFS(x []int16, hz float64) float64 {
	c := 2 * math.Cos(2*math.Pi*hz/8000)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2 // |X(hz)|²
	amp := 2 * math.Sqrt(max(p, 1e-9)) / float64(len(x))
	return 20 * math.Log10(max(amp, 1e-6)/32767)
}
