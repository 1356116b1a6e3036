package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/dsp/wav"
)

const phoneUsage = `usage: loopstart phone [--http ADDR] list
       loopstart phone [--http ADDR] N COMMAND

Drives a virtual phone of a gateway running with --board sim, through its
sim control API (loopback only).

commands:
  list                       every port's state, as JSON
  N status                   port N's state, as JSON
  N off | on | flash         take the phone off hook, hang up, flash the hook
  N dial DIGITS [--pulse]    dial digits as DTMF tones (or hook pulses)
  N say HZ[,HZ] [LEVEL_DBFS] send these tones until "quiet" (level default -12)
  N quiet                    stop sending tones
  N heard [--ms 2000] -o FILE.wav
                             save what the phone heard lately as a WAV file

flags:
  --http ADDR   the gateway's web address (default 127.0.0.1:8080)
  --pulse       dial with hook pulses instead of DTMF
  --ms N        how much audio heard saves, in milliseconds
  -o FILE       where heard writes the WAV file ("-" for stdout)
`

// numberArg matches arguments that are numbers (a negative level must not
// be taken for a flag).
var numberArg = regexp.MustCompile(`^-?[0-9]+(\.[0-9]*)?$`)

// phoneCmd runs `loopstart phone ...` and returns the exit code: 0 on
// success, 1 when the request fails, 2 on a usage error.
func phoneCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("phone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, phoneUsage) }
	addr := fs.String("http", "127.0.0.1:8080", "the gateway's web address")
	pulse := fs.Bool("pulse", false, "dial with hook pulses")
	ms := fs.Int("ms", simapi.DefaultHeardMS, "milliseconds of audio for heard")
	out := fs.String("o", "", "output file for heard")

	// Flags may come anywhere: parse, take a positional, go on.
	var pos, tail []string
	rest := args
	for i, a := range args {
		if a == "--" {
			rest, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
		for len(rest) > 0 && numberArg.MatchString(rest[0]) {
			pos = append(pos, rest[0])
			rest = rest[1:]
		}
	}
	pos = append(pos, tail...)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "loopstart phone: "+format+"\n", a...)
		fmt.Fprint(stderr, phoneUsage)
		return 2
	}
	c := &phoneClient{base: baseURL(*addr), http: &http.Client{Timeout: 15 * time.Second}}

	if len(pos) == 0 {
		return usageErr("missing port number or list")
	}
	if pos[0] == "list" {
		if len(pos) != 1 || len(set) > boolInt(set["http"]) {
			return usageErr("list takes no arguments")
		}
		return c.run(stdout, stderr, func() error { return c.getJSON(stdout, "/api/sim/ports") })
	}
	n, err := strconv.Atoi(pos[0])
	if err != nil || n < 1 {
		return usageErr("%q is not a port number", pos[0])
	}
	if len(pos) < 2 {
		return usageErr("missing command after port %d", n)
	}
	verb, vargs := pos[1], pos[2:]
	allowed := map[string]bool{"http": true}
	switch verb {
	case "dial":
		allowed["pulse"] = true
	case "heard":
		allowed["ms"], allowed["o"] = true, true
	}
	for name := range set {
		if !allowed[name] {
			return usageErr("flag --%s does not apply to %s", name, verb)
		}
	}
	port := "/api/sim/ports/" + strconv.Itoa(n)
	switch verb {
	case "status":
		if len(vargs) != 0 {
			return usageErr("status takes no arguments")
		}
		return c.run(stdout, stderr, func() error { return c.getJSON(stdout, port) })
	case "off", "on", "flash":
		if len(vargs) != 0 {
			return usageErr("%s takes no arguments", verb)
		}
		return c.run(stdout, stderr, func() error { return c.post(port+"/hook", simapi.HookRequest{State: verb}) })
	case "dial":
		if len(vargs) != 1 {
			return usageErr("dial takes one argument, the digits")
		}
		mode := "dtmf"
		if *pulse {
			mode = "pulse"
		}
		return c.run(stdout, stderr, func() error {
			return c.post(port+"/dial", simapi.DialRequest{Digits: vargs[0], Mode: mode})
		})
	case "say":
		if len(vargs) < 1 || len(vargs) > 2 {
			return usageErr("say takes HZ[,HZ] and an optional LEVEL_DBFS")
		}
		var tones []float64
		for _, f := range strings.Split(vargs[0], ",") {
			hz, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return usageErr("%q is not a frequency in Hz", f)
			}
			tones = append(tones, hz)
		}
		body := simapi.SayRequest{TonesHz: tones}
		if len(vargs) == 2 {
			level, err := strconv.ParseFloat(vargs[1], 64)
			if err != nil {
				return usageErr("%q is not a level in dBFS", vargs[1])
			}
			body.LevelDBFS = &level
		}
		return c.run(stdout, stderr, func() error { return c.post(port+"/say", body) })
	case "quiet":
		if len(vargs) != 0 {
			return usageErr("quiet takes no arguments")
		}
		return c.run(stdout, stderr, func() error { return c.post(port+"/say", simapi.SayRequest{TonesHz: []float64{}}) })
	case "heard":
		if len(vargs) != 0 {
			return usageErr("heard takes no arguments (use -o FILE)")
		}
		if *out == "" {
			return usageErr("heard needs -o FILE.wav")
		}
		if *ms < 1 {
			return usageErr("--ms must be positive")
		}
		return c.run(stdout, stderr, func() error {
			return c.heard(stdout, port+"/heard.wav?ms="+strconv.Itoa(*ms), *out)
		})
	default:
		return usageErr("unknown command %q", verb)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// baseURL turns --http into a URL prefix; a bare host:port means http.
func baseURL(addr string) string {
	addr = strings.TrimRight(addr, "/")
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		return addr
	}
	return "http://" + addr
}

// phoneClient talks to the sim control API.
type phoneClient struct {
	base string
	http *http.Client
}

func (c *phoneClient) run(stdout, stderr io.Writer, f func() error) int {
	if err := f(); err != nil {
		fmt.Fprintf(stderr, "loopstart phone: %v\n", err)
		return 1
	}
	return 0
}

// do performs a request and returns the body of a 2xx answer, or an error
// carrying the server's own message.
func (c *phoneClient) do(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is the gateway running with --board sim? %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e simapi.ErrorResponse
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 500 {
			msg = msg[:500]
		}
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	return data, nil
}

func (c *phoneClient) getJSON(stdout io.Writer, path string) error {
	data, err := c.do(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(data), "", "  "); err != nil {
		return fmt.Errorf("GET %s: the answer is not JSON: %w", path, err)
	}
	b.WriteByte('\n')
	_, err = stdout.Write(b.Bytes())
	return err
}

func (c *phoneClient) post(path string, body any) error {
	_, err := c.do(http.MethodPost, path, body)
	return err
}

func (c *phoneClient) heard(stdout io.Writer, path, out string) error {
	data, err := c.do(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if _, _, err := wav.Read(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("GET %s: the answer is not a WAV file: %w", path, err)
	}
	if out == "-" {
		_, err = stdout.Write(data)
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("save heard audio: %w", err)
	}
	return nil
}
