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
//	GET  /hil/asound              every PCM substream's status and parameters
//	                              (/proc/asound), as text
//	GET  /hil/trace?dev=spidev0.0 the device's register accesses, one a line,
//	                              in the drivers' golden-file form
//	POST /hil/hook?port=1&state=off|on
//	GET  /hil/heard.wav?port=1[&ms=3000]  what the phone's earpiece heard, as WAV
//	GET  /hil/phone?port=1        the FXS port's phone as the sim control API
//	                              reports one (hook, rings, what it hears:
//	                              tones, level, DTMF)
//	POST /hil/say?port=1&hz=1000,1500&dbfs=-12   the phone's tone sender
//	                              (no hz: stop)
//	POST /hil/dial?port=1&digits=5[&ms=100]   the phone's keypad (DTMF), each key held ms (40–2000)
//
// The models' PCM: on a board whose highway is an ALSA device of the
// snd-aloop card ("alsa:hw:0,0"), spidevd runs the models on the
// loopback's other device (hw:0,1), paced by its capture: what the
// gateway plays reaches the chips' receive slots and what the chips send
// reaches the gateway's capture. -pcm none ticks them on a timer with
// silent PCM.
//
// The models' PCM thread runs in the normal class (-pcm-priority 0):
// under emulation the models and the phone cost milliseconds of CPU a
// frame, and at SCHED_FIFO above the gateway's loop they took the
// emulated CPU from the gateway's normal-class goroutines (the kernel's
// RT throttling kicked in and the phone's answer was not seen for 20 s).
// Falling behind costs frames (counted in /hil/status pcm.missed), not
// the gateway. So that it costs as few as it can, the models' side of the
// loopback keeps pcmPrime frames (80 ms) queued towards the gateway, in a
// buffer of pcmPeriods: with the 20 ms of the product's own defaults each
// stall of the emulated CPU longer than that underran the playback, and
// each underrun put 20 ms of silence and a restart into what the gateway
// captured (7 to 75 underruns in the HIL calls that lost their key
// presses, 0 to 2 in calls that did not).
//
// Usage: spidevd [-board qemu-hil] [-cuse /dev/cuse] [-listen :8082] [-ready FILE] [-priority 50] [-pcm auto|none|hw:C,D] [-pcm-priority 0]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/factory"
	"github.com/loopstart/loopstart/board/hil"
	"github.com/loopstart/loopstart/board/hil/cuse"
	"github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/drivers/pcm/alsa"
	"github.com/loopstart/loopstart/dsp/wav"
)

// pcmPeriods and pcmPrime are the models' ALSA buffer and how much of it
// is kept queued towards the gateway (see the package doc).
const (
	pcmPeriods = 16
	pcmPrime   = 8
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
	pcmDev := flag.String("pcm", "auto", "the models' PCM: auto (the other device of the board's snd-aloop highway), none (a timer, silent), or hw:CARD,DEVICE")
	pcmPrio := flag.Int("pcm-priority", 0, "SCHED_FIFO priority of the thread running the models' PCM (0: normal class)")
	flag.Parse()
	log.SetPrefix("spidevd: ")
	log.SetFlags(0)
	if err := run(*boardName, *cusePath, *listen, *ready, *pcmDev, *prio, *pcmPrio); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(boardName, cusePath, listen, ready, pcmDev string, prio, pcmPrio int) error {
	def, err := board.Lookup(boardName)
	if err != nil {
		return err
	}
	rig, err := hil.New(def)
	if err != nil {
		return err
	}
	clock := rig.NewClock()
	card, dev, ok, err := pcmDevice(pcmDev, def.Highway)
	if err != nil {
		return err
	}
	if ok {
		h, err := alsa.Open(alsa.Opts{Card: card, Device: dev, Slots: def.Slots, Periods: pcmPeriods, Prime: pcmPrime})
		if err != nil {
			return fmt.Errorf("the models' pcm: %w", err)
		}
		defer h.Close()
		name := fmt.Sprintf("alsa:hw:%d,%d", card, dev)
		log.Printf("models' pcm on %s, %d slots", name, def.Slots)
		clock.StartPCM(h, name, func() { setFIFO("pcm", pcmPrio) })
	} else {
		clock.Start()
	}
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
			setFIFO(d.Name, prio)
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

// setFIFO puts the calling thread in SCHED_FIFO at prio (0: leaves it).
func setFIFO(what string, prio int) {
	if prio <= 0 {
		return
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		log.Printf("%s: SCHED_FIFO %d: %v (running in the normal class)", what, prio, err)
	}
}

// pcmDevice picks the ALSA device the models' PCM runs on: for "auto",
// the other device of the board's snd-aloop highway (playback on one
// device of the loopback card is capture on the other); none for "none"
// or a board without an ALSA highway; else the hw:CARD,DEVICE given.
func pcmDevice(flagVal, highway string) (card, dev uint, ok bool, err error) {
	switch flagVal {
	case "none":
		return 0, 0, false, nil
	case "auto":
		if !strings.HasPrefix(highway, "alsa:") {
			return 0, 0, false, nil
		}
		c, d, err := factory.ALSADevice(highway)
		if err != nil {
			return 0, 0, false, err
		}
		if d > 1 {
			return 0, 0, false, fmt.Errorf("highway %q: a loopback card has devices 0 and 1", highway)
		}
		return c, 1 - d, true, nil
	}
	c, d, err := factory.ALSADevice("alsa:" + flagVal)
	if err != nil {
		return 0, 0, false, fmt.Errorf("-pcm: %w", err)
	}
	return c, d, true, nil
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
	mux.HandleFunc("GET /hil/asound", func(w http.ResponseWriter, _ *http.Request) {
		s, err := readASound("/proc")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(s))
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
	mux.HandleFunc("GET /hil/phone", func(w http.ResponseWriter, q *http.Request) {
		port, ok := portParam(w, q)
		if !ok {
			return
		}
		st, err := r.PhoneState(port)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	mux.HandleFunc("GET /hil/heard.wav", func(w http.ResponseWriter, q *http.Request) {
		port, ok := portParam(w, q)
		if !ok {
			return
		}
		d, err := simapi.HeardLength(q.URL.Query().Get("ms"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p, err := r.Phone(port)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		_ = wav.Write(w, p.Heard(d), simapi.HeardRate)
	})
	mux.HandleFunc("POST /hil/say", func(w http.ResponseWriter, q *http.Request) {
		port, ok := portParam(w, q)
		if !ok {
			return
		}
		tones, level, err := sayParams(q.URL.Query().Get("hz"), q.URL.Query().Get("dbfs"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p, err := r.Phone(port)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		if err := p.Say(tones, level); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /hil/dial", func(w http.ResponseWriter, q *http.Request) {
		port, ok := portParam(w, q)
		if !ok {
			return
		}
		p, err := r.Phone(port)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		on := sim.DTMFOn
		if v := q.URL.Query().Get("ms"); v != "" {
			ms, err := strconv.Atoi(v)
			if err != nil {
				http.Error(w, "ms: "+err.Error(), http.StatusBadRequest)
				return
			}
			on = time.Duration(ms) * time.Millisecond
		}
		if err := p.DialDTMF(q.URL.Query().Get("digits"), on); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /hil/hook", func(w http.ResponseWriter, q *http.Request) {
		port, ok := portParam(w, q)
		if !ok {
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

// portParam reads the port query parameter, answering 400 when it is
// not a number.
func portParam(w http.ResponseWriter, q *http.Request) (int, bool) {
	port, err := strconv.Atoi(q.URL.Query().Get("port"))
	if err != nil {
		http.Error(w, "port: want a number", http.StatusBadRequest)
		return 0, false
	}
	return port, true
}

// sayParams parses the say request's tones ("1000" or "697,1209"; empty
// stops the sender) and level in dBFS (empty: simapi.DefaultSayDBFS).
func sayParams(hz, dbfs string) ([]float64, float64, error) {
	level := float64(simapi.DefaultSayDBFS)
	if dbfs != "" {
		v, err := strconv.ParseFloat(dbfs, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("dbfs: %w", err)
		}
		level = v
	}
	var tones []float64
	if hz != "" {
		for _, f := range strings.Split(hz, ",") {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("hz: %w", err)
			}
			tones = append(tones, v)
		}
	}
	return tones, level, nil
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
