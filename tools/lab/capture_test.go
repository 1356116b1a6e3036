package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCaptureTshark: a packet capture started from the diagnostics API
// during a call between two ports of the sim gateway (its own SIP stack
// and media loop, no outside server) downloads as a pcap that the real
// tshark opens, showing the call's INVITE, 200, ACK and BYE and its RTP
// both ways. The finished call then shows in /metrics' MOS, loss and
// jitter histograms.
func TestCaptureTshark(t *testing.T) {
	Need(t, "tshark")
	g := StartGateway(t, GatewayOpts{})
	defer g.Stop()
	tok := labLogin(t, g)
	send := func(method, path string, body any) []byte {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, g.HTTP+path, r)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, out)
		}
		return out
	}
	send("POST", "/api/capture", map[string]any{"port": 1, "seconds": 60, "max_bytes": 1 << 20})

	g.OffHookAndDial(t, 1, "102")
	Eventually(t, 10*time.Second, "phone 2 rings", func() error {
		if p := g.Phone(t, 2); !p.Ringing {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	g.Hook(t, 2, "off")
	g.Say(t, 2, []float64{1000}, -12)
	g.WaitHears(t, 1, 10*time.Second, "phone 1 hears phone 2's 1000 Hz", 1000)
	var local, remote string
	Eventually(t, 5*time.Second, "port 1's call statistics", func() error {
		c := g.PortStatus(t, 1).Call
		if c == nil || c.LocalRTP == "" || c.RemoteRTP == "" {
			return fmt.Errorf("no call")
		}
		local, remote = c.LocalRTP, c.RemoteRTP
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	g.Hook(t, 1, "on")
	g.Say(t, 2, nil, 0)
	g.Hook(t, 2, "on")
	Eventually(t, 5*time.Second, "port 1 idle with its call's statistics", func() error {
		if g.PortStatus(t, 1).LastCall == nil {
			return fmt.Errorf("no last call yet")
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // the BYE's answer
	var st struct {
		Running bool `json:"running"`
		Packets int  `json:"packets"`
		Bytes   int  `json:"bytes"`
	}
	json.Unmarshal(send("POST", "/api/capture/stop", nil), &st)
	pcap := send("GET", "/api/capture.pcap", nil)
	if st.Running || st.Packets < 50 || len(pcap) != st.Bytes {
		t.Fatalf("capture %+v, %d bytes downloaded", st, len(pcap))
	}
	f := filepath.Join(t.TempDir(), "call.pcap")
	if err := os.WriteFile(f, pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	tshark := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("tshark", append([]string{"-r", f}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
		}
		return string(out)
	}
	sip := tshark("-Y", "sip", "-T", "fields", "-e", "sip.CSeq")
	for _, want := range []string{"INVITE", "ACK", "BYE"} {
		if !strings.Contains(sip, want) {
			t.Errorf("tshark shows no %s in the SIP:\n%s", want, sip)
		}
	}
	lp, rp := netip.MustParseAddrPort(local).Port(), netip.MustParseAddrPort(remote).Port()
	rtp := tshark("-d", fmt.Sprintf("udp.port==%d,rtp", lp), "-Y", "rtp", "-T", "fields", "-e", "udp.srcport", "-e", "rtp.p_type")
	var sent, recv int
	for _, line := range strings.Split(strings.TrimSpace(rtp), "\n") {
		switch line {
		case fmt.Sprintf("%d\t0", lp), fmt.Sprintf("%d\t8", lp):
			sent++
		case fmt.Sprintf("%d\t0", rp), fmt.Sprintf("%d\t8", rp):
			recv++
		}
	}
	if sent < 25 || recv < 25 {
		t.Errorf("tshark shows %d RTP packets sent and %d received on port 1's call (%s -> %s)", sent, recv, local, remote)
	}
	// Both ports' finished calls are in /metrics' quality histograms.
	metrics := string(send("GET", "/metrics", nil))
	for _, want := range []string{"loopstart_finished_call_mos_count 2\n", `loopstart_finished_call_loss_ratio_bucket{le="+Inf"} 2` + "\n", "loopstart_finished_call_jitter_seconds_count 2\n"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	t.Logf("capture: %d packets, %d bytes; tshark: %d SIP lines, RTP %d sent / %d received", st.Packets, st.Bytes, strings.Count(sip, "\n"), sent, recv)
}
