// Command spidevd serves a board definition's chip models as Linux spidev
// devices through CUSE, for the qemu-hil test image: one /dev/spidevB.C
// per chip select (board/hil), answered from the Si3215 and Si3050
// register-level models, so the gateway's real board path (board/hw over
// periph.io's spidev driver) drives them through the kernel. It needs
// /dev/cuse (cuse.ko) and runs before `loopstart run`.
//
// Its HTTP control API, for the host (forwarded by QEMU):
//
//	GET  /hil/status              devices' counters, framing violations, phones
//	GET  /hil/cpu                 the guest's CPU ticks, total, idle and per command
//	GET  /hil/trace?dev=spidev0.0 the device's register accesses, one a line,
//	                              in the drivers' golden-file form
//	POST /hil/hook?port=1&state=off|on
//
// Usage: spidevd [-board qemu-hil] [-cuse /dev/cuse] [-listen :8082] [-ready FILE] [-priority 50]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/hil"
	"github.com/loopstart/loopstart/board/hil/cuse"
)

// DefaultListen is the control API's address.
const DefaultListen = ":8082"

// DefaultPriority is the SCHED_FIFO priority of the threads answering the
// kernel: above the gateway's media loop (40), as a hardware SPI
// controller does not wait for the scheduler.
const DefaultPriority = 50

func main() {
	boardName := flag.String("board", "qemu-hil", "board definition whose chips to serve")
	cusePath := flag.String("cuse", cuse.DefaultPath, "CUSE control device")
	listen := flag.String("listen", DefaultListen, "control API address (empty: none)")
	ready := flag.String("ready", "", "file to write the device paths to once every device node exists")
	prio := flag.Int("priority", DefaultPriority, "SCHED_FIFO priority of the threads answering the kernel (0: normal class)")
	flag.Parse()
	log.SetPrefix("spidevd: ")
	log.SetFlags(0)
	if err := run(*boardName, *cusePath, *listen, *ready, *prio); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(boardName, cusePath, listen, ready string, prio int) error {
	def, err := board.Lookup(boardName)
	if err != nil {
		return err
	}
	rig, err := hil.New(def)
	if err != nil {
		return err
	}
	clock := rig.NewClock()
	clock.Start()
	defer clock.Stop()
	errs := make(chan error, len(rig.Devices)+2)
	for _, d := range rig.Devices {
		f, err := cuse.Open(cusePath)
		if err != nil {
			return err
		}
		srv := &cuse.Server{Name: d.Name, Dev: d.Dev}
		go func() {
			// A chip answers at once, whatever else runs: the thread that
			// answers the kernel runs above the gateway's media loop.
			runtime.LockOSThread()
			if prio > 0 {
				attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}
				if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
					log.Printf("%s: SCHED_FIFO %d: %v (serving in the normal class)", d.Name, prio, err)
				}
			}
			errs <- fmt.Errorf("%s: %w", d.Name, srv.Serve(f))
		}()
		log.Printf("serving /dev/%s (%s, ports %v)", d.Name, d.Chip, d.Ports)
	}
	if listen != "" {
		go func() { errs <- http.ListenAndServe(listen, handler(rig)) }()
	}
	if ready != "" {
		go func() { errs <- writeReady(rig, ready, 20*time.Second) }()
	}
	return <-errs
}

// handler serves the rig's control API:
//
//	GET  /hil/status              Status as JSON
//	GET  /hil/trace?dev=spidev0.0 the device's register accesses (Describe)
//	POST /hil/hook?port=1&state=off|on
func handler(r *hil.Rig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hil/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.Status())
	})
	mux.HandleFunc("GET /hil/cpu", func(w http.ResponseWriter, _ *http.Request) {
		c, err := readCPU("/proc")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c)
	})
	mux.HandleFunc("GET /hil/trace", func(w http.ResponseWriter, q *http.Request) {
		name := q.URL.Query().Get("dev")
		for _, d := range r.Devices {
			if d.Name == name {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, _ = w.Write([]byte(hil.Describe(d.Chip, d.Dev.Trace())))
				return
			}
		}
		http.Error(w, fmt.Sprintf("no device %q", name), http.StatusNotFound)
	})
	mux.HandleFunc("POST /hil/hook", func(w http.ResponseWriter, q *http.Request) {
		var port int
		if _, err := fmt.Sscanf(q.URL.Query().Get("port"), "%d", &port); err != nil {
			http.Error(w, "port: want a number", http.StatusBadRequest)
			return
		}
		st := q.URL.Query().Get("state")
		if st != "off" && st != "on" {
			http.Error(w, "state: want off or on", http.StatusBadRequest)
			return
		}
		if err := r.SetHook(port, st == "off"); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// writeReady waits until every device node exists (the kernel adds them
// after CUSE_INIT's reply) and writes their paths to path, one a line;
// after timeout it fails naming the missing ones. It returns only on
// failure: serving goes on.
func writeReady(rig *hil.Rig, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var have, missing []string
		for _, d := range rig.Devices {
			p := "/dev/" + d.Name
			if _, err := os.Stat(p); err != nil {
				missing = append(missing, p)
			} else {
				have = append(have, p)
			}
		}
		if len(missing) == 0 {
			if err := os.WriteFile(path, []byte(strings.Join(have, "\n")+"\n"), 0o644); err != nil {
				return err
			}
			log.Printf("ready: %s", strings.Join(have, " "))
			select {}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("device nodes missing after %v: %s", timeout, strings.Join(missing, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
