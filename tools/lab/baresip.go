package lab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// Baresip is a running baresip far phone: it auto-answers, plays a WAV file
// as its microphone and records every call (sndfile module) as
// dump-*-dec.wav (what it heard) in Dir.
type Baresip struct {
	// User is the SIP user it registered as.
	User string
	// Dir holds the config and the recordings.
	Dir  string
	proc *Proc
	ctrl net.Conn

	mu     sync.Mutex
	events []map[string]any
}

// BaresipOpts configures StartBaresip.
type BaresipOpts struct {
	// User and Password are the account at Kamailio (e.g. 1003, secret3).
	User, Password string
	// Registrar is Kamailio's host:port.
	Registrar string
	// SourceWAV is the 8 kHz mono 16-bit WAV it plays into calls.
	SourceWAV string
	// Transport is udp (default), tcp or tls: how it reaches Registrar.
	Transport string
	// MediaEnc is baresip's mediaenc account parameter, e.g. "srtp-mand";
	// empty means clear RTP.
	MediaEnc string
	// CAFile is the PEM file baresip trusts for TLS (sip_cafile).
	CAFile string
	// AudioCodecs is the account's audio_codecs list in preference
	// order; empty means "pcmu,pcma".
	AudioCodecs string
	// Modules are extra baresip modules to load (e.g. "g722.so").
	Modules []string
	// DisplayName is the account's display name (From), "" for none.
	DisplayName string
	// DNS is the only DNS server baresip asks (ip:port); "" = the
	// system's.
	DNS string
	// AnswerManual leaves incoming calls ringing until the "accept"
	// command (answermode=manual); by default it answers at once.
	AnswerManual bool
}

// StartBaresip configures and starts baresip; it returns once the account
// has registered.
func StartBaresip(t testing.TB, o BaresipOpts) *Baresip {
	t.Helper()
	Need(t, "baresip")
	dir := t.TempDir()
	sipPort := FreePort(t, 2) // baresip binds TLS on the next port
	ctrlPort := FreePort(t, 1)
	cfg := strings.NewReplacer("@SIPPORT@", strconv.Itoa(sipPort), "@CTRLPORT@", strconv.Itoa(ctrlPort),
		"@SOURCE@", o.SourceWAV, "@SNDPATH@", dir).Replace(baresipCfg)
	if o.MediaEnc != "" {
		cfg += "module\t\t\tsrtp.so\n"
	}
	if o.CAFile != "" {
		cfg += "sip_cafile\t\t" + o.CAFile + "\n"
	}
	if o.DNS != "" {
		cfg += "dns_server\t\t" + o.DNS + "\n"
	}
	for _, m := range o.Modules {
		cfg += "module\t\t\t" + m + "\n"
	}
	codecs := o.AudioCodecs
	if codecs == "" {
		codecs = "pcmu,pcma"
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tp := o.Transport
	if tp == "" {
		tp = "udp"
	}
	enc := ""
	if o.MediaEnc != "" {
		enc = ";mediaenc=" + o.MediaEnc
	}
	display := ""
	if o.DisplayName != "" {
		display = strconv.Quote(o.DisplayName) + " "
	}
	answer := "auto"
	if o.AnswerManual {
		answer = "manual"
	}
	acct := display + fmt.Sprintf("<sip:%s@%s;transport=%s>;auth_pass=%s;answermode=%s;audio_codecs=%s;regint=600%s\n",
		o.User, o.Registrar, tp, o.Password, answer, codecs, enc)
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(acct), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"contacts", "current_contact"} {
		_ = os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	b := &Baresip{User: o.User, Dir: dir}
	b.proc = Start(t, dir, "baresip", "-f", dir)
	var err error
	Eventually(t, 10*time.Second, "baresip ctrl_tcp", func() error {
		b.ctrl, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ctrlPort))
		if b.proc.Exited() {
			t.Fatalf("baresip exited:\n%s", tail(b.proc.Log(), 40))
		}
		return err
	})
	t.Cleanup(func() { b.ctrl.Close() })
	go b.readEvents()
	// Registration may finish before ctrl_tcp is connected, so its event can
	// be missed: read the log line baresip prints for a successful REGISTER.
	Eventually(t, 10*time.Second, "baresip registered", func() error {
		if strings.Contains(b.proc.Log(), "} 200 OK") || b.HasEvent("REGISTER_OK") {
			return nil
		}
		return fmt.Errorf("no 200 OK to its REGISTER yet")
	})
	return b
}

// readEvents collects ctrl_tcp netstring events.
func (b *Baresip) readEvents() {
	r := bufio.NewReader(b.ctrl)
	for {
		lenStr, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenStr, ":")))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		buf := make([]byte, n+1) // payload and ','
		if _, err := ioReadFull(r, buf); err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(buf[:n], &m) == nil {
			b.mu.Lock()
			b.events = append(b.events, m)
			b.mu.Unlock()
		}
	}
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// HasEvent reports whether baresip has sent an event of the given type
// (e.g. CALL_ESTABLISHED, CALL_CLOSED, REGISTER_OK).
func (b *Baresip) HasEvent(typ string) bool { return b.EventCount(typ) > 0 }

// EventCount counts events of the given type.
func (b *Baresip) EventCount(typ string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.events {
		if e["type"] == typ {
			n++
		}
	}
	return n
}

// Command sends a ctrl_tcp command such as ("dial", "sip:1001@127.0.0.1:5060") or ("hangup", "").
func (b *Baresip) Command(cmd, params string) error {
	m := map[string]string{"command": cmd, "params": params, "token": cmd}
	body, _ := json.Marshal(m)
	_, err := fmt.Fprintf(b.ctrl, "%d:%s,", len(body), body)
	return err
}

// Recordings returns the paths of the WAV files of what baresip heard.
func (b *Baresip) Recordings() []string {
	m, _ := filepath.Glob(filepath.Join(b.Dir, "dump-*-dec.wav"))
	return m
}

// WaitEvent waits until baresip has sent more than after events of type
// typ (e.g. CALL_CLOSED), failing the test after timeout.
func (b *Baresip) WaitEvent(t testing.TB, typ string, after int, timeout time.Duration, what string) {
	t.Helper()
	Eventually(t, timeout, what, func() error {
		if b.EventCount(typ) <= after {
			return fmt.Errorf("no new %s in %v", typ, b.Events())
		}
		return nil
	})
}

// Events returns the types of the events received so far, for failure messages.
func (b *Baresip) Events() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		out = append(out, fmt.Sprint(e["type"]))
	}
	return out
}

// WaitRecording waits until baresip has a recording newer than the first
// `after` ones and checks that its middle second carries hz (16 kHz
// recordings are brought down to 8 kHz first), failing the test after
// timeout.
func (b *Baresip) WaitRecording(t testing.TB, after int, hz float64, timeout time.Duration) {
	t.Helper()
	b.waitRecording(t, after, fmt.Sprintf("baresip's recording holds %v Hz", hz), timeout,
		func(path string) error { return RecordingHas(path, hz) })
}

// waitRecording waits until baresip has more than after recordings and
// the newest passes check.
func (b *Baresip) waitRecording(t testing.TB, after int, what string, timeout time.Duration, check func(path string) error) {
	t.Helper()
	Eventually(t, timeout, what, func() error {
		recs := b.Recordings()
		if len(recs) <= after {
			return fmt.Errorf("no new recording in %s", b.Dir)
		}
		return check(newest(recs))
	})
}

// WaitRecordingSomewhere is WaitRecording for a call whose middle may be
// taken by something else (a key press: the phone's keypad mutes its
// mouthpiece while it sends the digit): some half second of the newest
// recording must carry hz.
func (b *Baresip) WaitRecordingSomewhere(t testing.TB, after int, hz float64, timeout time.Duration) {
	t.Helper()
	b.waitRecording(t, after, fmt.Sprintf("baresip's recording holds %v Hz somewhere", hz), timeout,
		func(path string) error { return RecordingHasSomewhere(path, hz) })
}

// RecordingHasSomewhere checks that some half second of a WAV recording
// (8 or 16 kHz), in steps of a quarter second, carries hz among its
// dominant tones.
func RecordingHasSomewhere(path string, hz float64) error {
	s, err := recordingAt8k(path)
	if err != nil {
		return err
	}
	if len(s) < 8000 {
		return fmt.Errorf("%s: only %d samples", path, len(s))
	}
	var seen [][]float64
	for at := 0; at+4000 <= len(s); at += 2000 {
		tones := dsp.DominantTones(s[at:at+4000], 4)
		if Hears(tones, hz) {
			return nil
		}
		seen = append(seen, tones)
	}
	return fmt.Errorf("%s: no half second with %v Hz; tones per quarter second %v", path, hz, seen)
}

// RecordingDigits returns the DTMF digits a WAV recording (8 or 16 kHz)
// carries in band, in order.
func RecordingDigits(path string) (string, error) {
	s, err := recordingAt8k(path)
	if err != nil {
		return "", err
	}
	return string(dsp.NewDTMFDetector().Process(s, nil)), nil
}

// recordingAt8k reads a WAV recording as 8 kHz samples.
func recordingAt8k(path string) ([]int16, error) {
	s, rate, err := ReadWAV(path)
	if err != nil {
		return nil, err
	}
	switch rate {
	case 8000:
	case 16000:
		var d dsp.Downsampler2
		n := d.Process(s, s) // in place: each output lags its input
		s = s[:n]
	default:
		return nil, fmt.Errorf("%s: rate %d", path, rate)
	}
	return s, nil
}

// RecordingHas checks that the middle of a WAV recording (8 or 16 kHz)
// carries hz among its dominant tones.
func RecordingHas(path string, hz float64) error {
	s, err := recordingAt8k(path)
	if err != nil {
		return err
	}
	if len(s) < 8000 {
		return fmt.Errorf("%s: only %d samples", path, len(s))
	}
	mid := s[len(s)/2-2000 : len(s)/2+2000]
	if tones := dsp.DominantTones(mid, 4); !Hears(tones, hz) {
		return fmt.Errorf("%s: tones %v, want %v Hz", path, tones, hz)
	}
	return nil
}

// newest returns the lexically last path: baresip names recordings by time.
func newest(paths []string) string {
	best := paths[0]
	for _, p := range paths[1:] {
		if p > best {
			best = p
		}
	}
	return best
}

// Log returns baresip's output so far.
func (b *Baresip) Log() string { return b.proc.Log() }

// LastEvent returns the newest event of type typ (its JSON fields, such as
// "peeruri" and "peerdisplayname" of a call event), nil when there is none.
func (b *Baresip) LastEvent(typ string) map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.events) - 1; i >= 0; i-- {
		if b.events[i]["type"] == typ {
			return b.events[i]
		}
	}
	return nil
}
