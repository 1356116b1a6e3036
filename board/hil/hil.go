// Package hil is the chip side of the qemu-hil board (board.QEMUHIL): the
// Si3215 and Si3050 register-level models behind spidev devices served
// through CUSE (board/hil/cuse, board/hil/spidev), so the product's real
// board path (board/hw over periph.io's spidev driver) drives them
// through the kernel. A Rig holds the models and devices, reports each
// device's counters, the chip-select framing violations the models saw
// and the register accesses in the drivers' golden-file form, and gives
// the host the FXS ports' phones (board/sim's virtual phone: hook, keypad,
// tone sender, earpiece analysis; tools/spidevd serves them over HTTP).
package hil

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/hil/spidev"
	"github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/board/simapi"
	si3050model "github.com/loopstart/loopstart/drivers/si3050/model"
	si3215model "github.com/loopstart/loopstart/drivers/si3215/model"
)

// MaxTrace is how many chip-select cycles each device records: enough
// for both chips' bring-up and minutes of hook polling.
const MaxTrace = 1 << 17

// Device is one chip select of the rig.
type Device struct {
	// Name is the device file's name under /dev ("spidev0.0").
	Name string
	// Chip is the kind of chip on it.
	Chip board.ChipKind
	// Ports are the board ports of its chips.
	Ports []int
	// Dev is the spidev device the CUSE server serves.
	Dev *spidev.Device

	violations func() []string
	port       spi.Port
	framing    func(error) bool
}

// Rig is the models of a definition's chips behind spidev devices.
type Rig struct {
	// Def is the board definition the rig serves.
	Def board.Definition
	// Devices are the chip selects in definition order.
	Devices []*Device

	slics map[int]*si3215model.Chip
	daas  []transferer
	phone map[int]*sim.Phone
	pcm   pcmStats
}

// pcmStats counts the frames the rig's clock ran; safe for concurrent use.
type pcmStats struct {
	mu      sync.Mutex
	source  string
	frames  uint64
	missed  uint64
	last    uint64
	errors  uint64
	lastErr string
	// Levels of the last complete window of levelFrames frames, per slot
	// (levels.go), and the highway's xruns.
	toGW, fromGW      []float64
	digits            []string
	capXrun, playXrun int
}

// New builds the rig for def: one model per chip (Si3215s on a shared
// chip select daisy-chained on a bus, Si3050s chained likewise), each chip
// select a spidev device.
func New(def board.Definition) (*Rig, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	r := &Rig{Def: def, slics: map[int]*si3215model.Chip{}, phone: map[int]*sim.Phone{}}
	type cs struct{ bus, cs int }
	var order []cs
	groups := map[cs][]board.ChipDef{}
	for _, c := range def.Chips {
		k := cs{c.SPIBus, c.CS}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	for _, k := range order {
		cds := groups[k]
		d := &Device{Name: fmt.Sprintf("spidev%d.%d", k.bus, k.cs), Chip: cds[0].Chip}
		var port spi.Port
		var framing func(error) bool
		switch d.Chip {
		case board.ChipSi3215:
			var chips []*si3215model.Chip
			for _, cd := range cds {
				c := si3215model.New(si3215model.Opts{Chain: cd.Chain})
				ph := sim.NewPhone(cd.Port)
				c.Attach(ph)
				r.slics[cd.Port], r.phone[cd.Port] = c, ph
				chips = append(chips, c)
				d.Ports = append(d.Ports, cd.Port)
			}
			if len(chips) == 1 {
				port = chips[0]
			} else {
				b, err := si3215model.NewBus(chips...)
				if err != nil {
					return nil, err
				}
				port = slicChain{b}
			}
			framing = func(err error) bool { return errors.Is(err, si3215model.ErrCSHeld) }
			d.violations = func() []string {
				var v []string
				for _, c := range chips {
					v = append(v, c.Violations()...)
				}
				return v
			}
		case board.ChipSi3050:
			var chips []*si3050model.Chip
			for _, cd := range cds {
				c := si3050model.New(si3050model.Opts{Chain: cd.Chain})
				c.Attach(office{})
				r.daas = append(r.daas, c)
				chips = append(chips, c)
				d.Ports = append(d.Ports, cd.Port)
			}
			if len(chips) == 1 {
				port = chips[0]
			} else {
				b, err := si3050model.NewBus(chips...)
				if err != nil {
					return nil, err
				}
				port = b
			}
			d.violations = func() []string {
				var v []string
				for _, c := range chips {
					v = append(v, c.Violations()...)
				}
				return v
			}
		}
		d.port, d.framing = port, framing
		d.Dev = spidev.New(spidev.Opts{Port: port, Framing: framing, MaxTrace: MaxTrace, MaxSpeedHz: uint32(def.SPIHz)})
		r.Devices = append(r.Devices, d)
	}
	return r, nil
}

// Describe turns a device's cycles into register accesses, one a line, in
// the form of the drivers' golden files (drivers/*/testdata): for an
// Si3215 "W reg 0xVV" or "R reg -> 0xVV" per two-byte access, for an
// Si3050 "W 0xCC reg 0xVV" or "R 0xCC reg -> 0xVV" per three-byte frame.
// A refused cycle ends the description with a line naming it.
func Describe(chip board.ChipKind, cycles []spidev.Cycle) string {
	var w, rd []byte
	var b strings.Builder
	for _, c := range cycles {
		if c.Err != "" {
			fmt.Fprintf(&b, "! refused: %s\n", c.Err)
			break
		}
		w = append(w, c.W...)
		if c.R != nil {
			rd = append(rd, c.R...)
		} else {
			rd = append(rd, make([]byte, len(c.W))...)
		}
	}
	switch chip {
	case board.ChipSi3215:
		for i := 0; i+1 < len(w); i += 2 {
			if w[i]&0x80 != 0 {
				fmt.Fprintf(&b, "R %d -> 0x%02x\n", w[i]&0x7F, rd[i+1])
			} else {
				fmt.Fprintf(&b, "W %d 0x%02x\n", w[i], w[i+1])
			}
		}
	case board.ChipSi3050:
		for i := 0; i+2 < len(w); i += 3 {
			if w[i]&0x40 != 0 {
				fmt.Fprintf(&b, "R %#02x %d -> 0x%02x\n", w[i], w[i+1], rd[i+2])
			} else {
				fmt.Fprintf(&b, "W %#02x %d 0x%02x\n", w[i], w[i+1], w[i+2])
			}
		}
	}
	return b.String()
}

// DeviceStatus is one device in the rig's status.
type DeviceStatus struct {
	Name  string       `json:"name"`
	Chip  string       `json:"chip"`
	Ports []int        `json:"ports"`
	Stats spidev.Stats `json:"stats"`
	// ModelViolations are the models' own complaints (register misuse).
	ModelViolations []string `json:"model_violations"`
	// Cycles is how many chip-select cycles were recorded.
	Cycles int `json:"cycles"`
}

// Status is the rig's state as its HTTP handler reports it.
type Status struct {
	Board   string         `json:"board"`
	Devices []DeviceStatus `json:"devices"`
	// Phones are the FXS ports' terminals: off hook, ringing, bursts.
	Phones map[int]PhoneStatus `json:"phones"`
	// PCM is the models' frame clock.
	PCM PCMStatus `json:"pcm"`
}

// PhoneStatus is an FXS port's terminal.
type PhoneStatus struct {
	OffHook bool `json:"off_hook"`
	Ringing bool `json:"ringing"`
	Rings   int  `json:"rings"`
}

// PCMStatus is the models' frame clock: what paces it and how many
// frames it ran and missed.
type PCMStatus struct {
	// Source is "timer" (silent PCM) or the ALSA device it exchanges
	// frames with ("alsa:hw:0,1").
	Source string `json:"source"`
	// Frames counts the frames the models ran.
	Frames uint64 `json:"frames"`
	// Missed counts frames the clock skipped (a late tick, an overrun).
	Missed uint64 `json:"missed"`
	// Errors counts failed exchanges with the PCM (retried), LastError
	// is the last one.
	Errors    uint64 `json:"errors"`
	LastError string `json:"last_error,omitempty"`
	// ToGatewayDBFS and FromGatewayDBFS are the RMS level of each slot's
	// 16-bit words over the last half second: what the chips sent the
	// gateway (its capture) and what they got from it (its playback).
	// A linear slot's level is its audio's; a G.711 slot's words carry
	// the code in their high byte, so only silent or not is meaningful.
	// Silence reads SilentDBFS.
	ToGatewayDBFS   []float64 `json:"to_gateway_dbfs"`
	FromGatewayDBFS []float64 `json:"from_gateway_dbfs"`
	// ToGatewayDigits are the DTMF digits each slot sent to the gateway
	// carried (the last 32; only a linear slot's mean anything).
	ToGatewayDigits []string `json:"to_gateway_digits"`
	// CaptureXruns and PlaybackXruns count the ALSA highway's overruns
	// and underruns on the models' side.
	CaptureXruns  int `json:"capture_xruns"`
	PlaybackXruns int `json:"playback_xruns"`
}

// Status returns the rig's state.
func (r *Rig) Status() Status {
	s := Status{Board: r.Def.Name, Phones: map[int]PhoneStatus{}}
	for _, d := range r.Devices {
		s.Devices = append(s.Devices, DeviceStatus{Name: d.Name, Chip: string(d.Chip), Ports: d.Ports,
			Stats: d.Dev.Stats(), ModelViolations: d.violations(), Cycles: len(d.Dev.Trace())})
	}
	for n, p := range r.phone {
		st := p.State()
		s.Phones[n] = PhoneStatus{OffHook: st.Hook == "off", Ringing: st.Ringing, Rings: st.Rings}
	}
	r.pcm.mu.Lock()
	s.PCM = PCMStatus{Source: r.pcm.source, Frames: r.pcm.frames, Missed: r.pcm.missed, Errors: r.pcm.errors, LastError: r.pcm.lastErr,
		ToGatewayDBFS: slices.Clone(r.pcm.toGW), FromGatewayDBFS: slices.Clone(r.pcm.fromGW),
		ToGatewayDigits: slices.Clone(r.pcm.digits), CaptureXruns: r.pcm.capXrun, PlaybackXruns: r.pcm.playXrun}
	r.pcm.mu.Unlock()
	return s
}

// SetHook takes port's phone off hook (true) or puts it back.
func (r *Rig) SetHook(port int, off bool) error {
	p, err := r.Phone(port)
	if err != nil {
		return err
	}
	st := "on"
	if off {
		st = "off"
	}
	return p.SetHook(st)
}

// Phone returns the virtual phone on FXS port port: its keypad (Dial),
// tone sender (Say) and earpiece analysis (State, Heard).
func (r *Rig) Phone(port int) (*sim.Phone, error) {
	p, ok := r.phone[port]
	if !ok {
		return nil, fmt.Errorf("hil: port %d has no phone", port)
	}
	return p, nil
}

// PhoneState is port's phone as the sim control API reports a phone.
func (r *Rig) PhoneState(port int) (simapi.Port, error) {
	p, err := r.Phone(port)
	if err != nil {
		return simapi.Port{}, err
	}
	return p.State(), nil
}

// slicChain names an Si3215 chain for spi.Port.
type slicChain struct{ *si3215model.Bus }

func (slicChain) String() string { return "si3215-model-chain" }
