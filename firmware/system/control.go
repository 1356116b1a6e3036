package system

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ControlSocket is the unix socket `loopstart boot` listens on for
// requests from the gateway or a shell: one line in ("reboot", "poweroff",
// "status"), one line out.
const ControlSocket = "/run/loopstart/boot.sock"

// Request sends one control request to the boot process and returns its
// answer (JSON for "status", "ok" otherwise).
func Request(socket, req string) (string, error) {
	c, err := net.DialTimeout("unix", socket, 2*time.Second)
	if err != nil {
		return "", fmt.Errorf("boot control: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(c, req); err != nil {
		return "", fmt.Errorf("boot control: %w", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("boot control: %w", err)
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "error: "); ok {
		return "", fmt.Errorf("boot control: %s", msg)
	}
	return line, nil
}

// PowerAction is what the boot process does when it stops.
type PowerAction int

// Power actions.
const (
	ActionReboot PowerAction = iota + 1
	ActionPowerOff
)

// String names the action.
func (a PowerAction) String() string {
	if a == ActionPowerOff {
		return "poweroff"
	}
	return "reboot"
}

// controller answers the control socket and the test hooks.
type controller struct {
	sup   *Supervisor
	power chan<- PowerAction
	state func() any
	// webUI is the gateway's web UI as the board itself reaches it
	// (http://127.0.0.1 or https://127.0.0.1:PORT), for the test hooks'
	// sim API relay; empty: no relay.
	webUI string
}

func (c *controller) handle(req string) (string, error) {
	switch req {
	case "reboot":
		c.request(ActionReboot)
		return "ok", nil
	case "poweroff":
		c.request(ActionPowerOff)
		return "ok", nil
	case "status":
		b, err := json.Marshal(c.state())
		return string(b), err
	}
	return "", fmt.Errorf("unknown request %q (reboot, poweroff, status)", req)
}

func (c *controller) request(a PowerAction) {
	select {
	case c.power <- a:
	default: // one is already under way
	}
}

func (c *controller) serveSocket(ctx context.Context, path string) error {
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	_ = os.Chmod(path, 0o600)
	go func() { <-ctx.Done(); ln.Close() }()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				line, err := bufio.NewReader(conn).ReadString('\n')
				if err != nil && !errors.Is(err, net.ErrClosed) && line == "" {
					return
				}
				out, err := c.handle(strings.TrimSpace(line))
				if err != nil {
					fmt.Fprintf(conn, "error: %v\n", err)
					return
				}
				fmt.Fprintln(conn, out)
			}()
		}
	}()
	return nil
}

// testHooks is the test-only HTTP API (loopstart.testhooks=1 on the kernel
// command line): POST /test/kill (SIGKILL the gateway), POST /test/hang
// (SIGSTOP it: the loop stops, the watchdog must reset the board),
// POST /test/reboot, POST /test/poweroff, GET /test/state, and
// /test/sim/... relayed to the gateway's /api/sim/... (simRelay).
func (c *controller) testHooks() http.Handler {
	mux := http.NewServeMux()
	if c.webUI != "" {
		mux.Handle("/test/sim/", c.simRelay())
	}
	sig := func(s syscall.Signal) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := c.sup.Signal(s); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			fmt.Fprintln(w, "ok")
		}
	}
	mux.HandleFunc("POST /test/kill", sig(syscall.SIGKILL))
	mux.HandleFunc("POST /test/hang", sig(syscall.SIGSTOP))
	mux.HandleFunc("POST /test/reboot", func(w http.ResponseWriter, r *http.Request) {
		c.request(ActionReboot)
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /test/poweroff", func(w http.ResponseWriter, r *http.Request) {
		c.request(ActionPowerOff)
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /test/state", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.state())
	})
	return mux
}
