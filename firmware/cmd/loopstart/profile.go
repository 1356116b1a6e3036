//go:build loopstart_profile

package main

// Profiling hooks for measurement builds only (`go build -tags
// loopstart_profile`; tools/lab's benchmarks build so when asked): the
// product binary links no runtime/pprof. With LOOPSTART_PROFILE=DIR in the
// environment, SIGUSR2 writes DIR/heap-N.pprof (after a collection) and
// DIR/memstats-N.txt, and SIGUSR1 starts a CPU profile into DIR/cpu-N.pprof
// or stops the one running. SIGWINCH writes DIR/flight-N.trace: the last
// few seconds of the runtime's execution trace, kept by a flight recorder
// from the start (`go tool trace` reads it), for a late frame seen from
// outside.

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"
)

func init() {
	dir := os.Getenv("LOOPSTART_PROFILE")
	if dir == "" {
		return
	}
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 3 * time.Second, MaxBytes: 64 << 20})
	if err := fr.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "loopstart: flight recorder: %v\n", err)
		fr = nil
	}
	go profileSignals(dir, ch, fr)
}

// profileSignals answers SIGUSR1 and SIGUSR2 as the file comment says.
func profileSignals(dir string, ch <-chan os.Signal, fr *trace.FlightRecorder) {
	var cpu *os.File
	heaps, cpus, flights := 0, 0, 0
	for s := range ch {
		switch s {
		case syscall.SIGWINCH:
			if fr == nil {
				continue
			}
			flights++
			if err := writeFlight(dir, flights, fr); err != nil {
				fmt.Fprintf(os.Stderr, "loopstart: flight trace: %v\n", err)
			}
		case syscall.SIGUSR1:
			if cpu != nil {
				pprof.StopCPUProfile()
				cpu.Close()
				cpu = nil
				continue
			}
			cpus++
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", cpus)))
			if err != nil {
				fmt.Fprintf(os.Stderr, "loopstart: cpu profile: %v\n", err)
				continue
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintf(os.Stderr, "loopstart: cpu profile: %v\n", err)
				f.Close()
				continue
			}
			cpu = f
		case syscall.SIGUSR2:
			heaps++
			if err := writeHeap(dir, heaps); err != nil {
				fmt.Fprintf(os.Stderr, "loopstart: heap profile: %v\n", err)
			}
		}
	}
}

// writeHeap writes heap profile n and the runtime's memory statistics.
func writeHeap(dir string, n int) error {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	runtime.GC()
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", n)))
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	txt := fmt.Sprintf("before GC: HeapAlloc %.1f MiB HeapInuse %.1f MiB HeapSys %.1f MiB NextGC %.1f MiB\n"+
		"after GC: HeapAlloc %.1f MiB HeapInuse %.1f MiB HeapIdle %.1f MiB HeapReleased %.1f MiB HeapSys %.1f MiB\n"+
		"StackInuse %.1f MiB StackSys %.1f MiB MSpanSys %.1f MiB MCacheSys %.1f MiB BuckHashSys %.1f MiB GCSys %.1f MiB OtherSys %.1f MiB\n"+
		"Sys %.1f MiB NumGC %d NumGoroutine %d HeapObjects %d\n",
		mib(before.HeapAlloc), mib(before.HeapInuse), mib(before.HeapSys), mib(before.NextGC),
		mib(m.HeapAlloc), mib(m.HeapInuse), mib(m.HeapIdle), mib(m.HeapReleased), mib(m.HeapSys),
		mib(m.StackInuse), mib(m.StackSys), mib(m.MSpanSys), mib(m.MCacheSys), mib(m.BuckHashSys), mib(m.GCSys), mib(m.OtherSys),
		mib(m.Sys), m.NumGC, runtime.NumGoroutine(), m.HeapObjects)
	name := filepath.Join(dir, fmt.Sprintf("memstats-%d.txt", n))
	if err := os.WriteFile(name+".tmp", []byte(txt), 0o644); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name) // whoever waits for the file sees it whole

}

// writeFlight writes the flight recorder's window as flight trace n.
func writeFlight(dir string, n int, fr *trace.FlightRecorder) error {
	name := filepath.Join(dir, fmt.Sprintf("flight-%d.trace", n))
	f, err := os.Create(name + ".tmp")
	if err != nil {
		return err
	}
	if _, err := fr.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}
