package system

import (
	"crypto/tls"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// simRelay relays /test/sim/REST to the gateway's /api/sim/REST from the
// board's own loopback (test hooks only). The sim API answers loopback
// alone, and a test on the host of a QEMU guest reaches the guest only
// through user networking's forwards, which arrive from 10.0.2.2; the
// relay lets such a test lift a virtual phone's handset, dial and listen.
// The gateway's certificate is its own self-signed one: the relay, which
// talks to 127.0.0.1 inside the board, does not verify it.
func (c *controller) simRelay() http.Handler {
	target, err := url.Parse(c.webUI)
	if err != nil || target.Host == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "sim relay: bad web UI address "+c.webUI, http.StatusInternalServerError)
		})
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the board's own self-signed web UI on loopback, test hooks only
	tr.ResponseHeaderTimeout = 3 * time.Minute                 // heard.wav can hold a minute
	return &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = "/api/sim/" + strings.TrimPrefix(pr.In.URL.Path, "/test/sim/")
			pr.Out.URL.RawPath = ""
			pr.Out.Host = target.Host
		},
	}
}

// webUIURL is the address of the gateway's web UI from the board itself:
// HTTPS when it serves HTTPS (the plain port then only redirects).
func webUIURL(httpPort, httpsPort int) string {
	if httpsPort != 0 {
		return "https://127.0.0.1:" + strconv.Itoa(httpsPort)
	}
	return "http://127.0.0.1:" + strconv.Itoa(httpPort)
}
