package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/loopstart/loopstart/webui"
)

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
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if host != "" {
		hosts = append(hosts, host)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				hosts = append(hosts, ipn.IP.String())
			}
		}
	}
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
