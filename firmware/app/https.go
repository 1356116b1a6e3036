package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/loopstart/loopstart/webui"
)

// certNames lists the names the self-signed certificate is made for: the
// loopback names, the listen address unless it is unspecified (0.0.0.0,
// ::), the interfaces' addresses and the device's host name with its
// mDNS form — the names the web UI's Host check accepts — each once.
func certNames(listenHost string, addrs []net.Addr, hostname string) []string {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, n := range []string{"localhost", "127.0.0.1", "::1"} {
		add(n)
	}
	if ip, err := netip.ParseAddr(listenHost); err != nil || !ip.IsUnspecified() {
		add(listenHost)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsUnspecified() {
			add(ipn.IP.String())
		}
	}
	if label, _, _ := strings.Cut(hostname, "."); label != "" {
		add(hostname)
		add(label + ".local")
	}
	return names
}

// serveHTTPS starts the web UI on addr (--https) with the data
// directory's certificate (self-signed on first start) and, with redirect
// (--http-redirect), turns the plain listener's server into a redirect to
// it (for the device's own names only, like the web UI). It returns a
// function that stops the HTTPS server.
func serveHTTPS(addr string, redirect bool, ui *webui.Server, plain *http.Server, limits webui.ServerLimits, log *slog.Logger) (func(), error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--https %q: %w", addr, err)
	}
	addrs, _ := net.InterfaceAddrs()
	hostname, _ := os.Hostname()
	hosts := certNames(host, addrs, hostname)
	tcfg, err := ui.EnableTLS(hosts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--https: %w", err)
	}
	srv := webui.NewHTTPServer(ui, limits)
	srv.TLSConfig = tcfg
	go func() {
		if err := srv.Serve(tls.NewListener(ln, tcfg)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("https server", "err", err)
		}
	}()
	if redirect {
		plain.Handler = ui.CheckHost(webui.RedirectToHTTPS(port))
	}
	log.Info("web UI on https", "addr", ln.Addr().String(), "redirect_http", redirect)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
