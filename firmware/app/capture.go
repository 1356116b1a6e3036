package app

import (
	"io"
	"time"

	"github.com/loopstart/loopstart/voice/capture"
	"github.com/loopstart/loopstart/voice/sip"
	"github.com/loopstart/loopstart/webui"
)

// newCapture makes the process's packet capture and hooks it into the
// SIP trace; the gateway's streams get it through gateway.Config.
func newCapture(trace *sip.Trace) *capture.Capture {
	c := capture.New(nil)
	trace.SetCapture(c)
	return c
}

// captureUI runs the capture for the web UI.
type captureUI struct{ c *capture.Capture }

func (u captureUI) StartCapture(r webui.CaptureRequest) (webui.CaptureStatus, error) {
	st, err := u.c.Start(capture.Options{Port: r.Port, Duration: time.Duration(r.Seconds) * time.Second,
		MaxBytes: r.MaxBytes, Decrypted: r.Decrypted})
	return captureStatus(st), err
}

func (u captureUI) StopCapture() webui.CaptureStatus   { return captureStatus(u.c.Stop()) }
func (u captureUI) CaptureStatus() webui.CaptureStatus { return captureStatus(u.c.Status()) }
func (u captureUI) WritePcap(w io.Writer) error        { return u.c.WritePcap(w) }

func captureStatus(s capture.Status) webui.CaptureStatus {
	return webui.CaptureStatus{Running: s.Running, Port: s.Options.Port, Seconds: int(s.Options.Duration / time.Second),
		MaxBytes: s.Options.MaxBytes, Decrypted: s.Options.Decrypted, Started: s.Started, Until: s.Until,
		Packets: s.Packets, Bytes: s.Bytes, Dropped: s.Dropped, Ended: s.Ended}
}
