package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
)

const minimalConfig = `<loopstart>
  <account id="1"><registrar>sip:127.0.0.1:5060</registrar><user>1001</user><password>secret1</password></account>
  <account id="2"><registrar>sip:127.0.0.1:5060</registrar><user>1002</user><password>secret2</password></account>
  <port n="1" account="1"/>
  <port n="2" account="2"/>
</loopstart>
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheck(t *testing.T) {
	good := writeFile(t, "good.xml", minimalConfig)
	bad := writeFile(t, "bad.xml", `<loopstart>
  <account id="1"><registrar>sip:127.0.0.1:5060</registrar><user>1001</user>
    <expires>abc</expires><transport>xyz</transport></account>
  <port n="3" account="9"/>
</loopstart>`)
	missing := filepath.Join(t.TempDir(), "nope.xml")
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  []string
		stderrLine int // number of lines on stderr, -1 to skip
	}{
		{"valid", []string{"check", good}, 0, good + ": ok\n", nil, 0},
		{"invalid", []string{"check", bad}, 1, "", []string{
			bad + `: line 2: loopstart/account[id=1]/password: missing (an account with a registrar needs one)`,
			bad + `: line 3: loopstart/account[id=1]/expires: "abc" is not a number`,
			bad + `: line 3: loopstart/account[id=1]/transport: "xyz" is not one of udp, tcp, tls`,
			bad + `: line 4: loopstart/port[n=3]: account "9" is not defined`,
		}, 4},
		{"missing file", []string{"check", missing}, 1, "", []string{missing + ": open config:"}, 1},
		{"no file", []string{"check"}, 2, "", []string{"want exactly one FILE"}, -1},
		{"two files", []string{"check", good, good}, 2, "", []string{"want exactly one FILE"}, -1},
		{"bad flag", []string{"check", "-x", good}, 2, "", []string{"flag provided but not defined"}, -1},
		{"no subcommand", nil, 2, "", []string{"usage:"}, -1},
		{"unknown subcommand", []string{"lint", good}, 2, "", []string{`unknown command "lint"`}, -1},
		{"help", []string{"help"}, 0, "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := configCmd(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if tt.stdout != "" && stdout.String() != tt.stdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.stdout)
			}
			for _, want := range tt.stderrHas {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if tt.stderrLine >= 0 {
				if n := strings.Count(stderr.String(), "\n"); n != tt.stderrLine {
					t.Errorf("stderr has %d lines, want %d:\n%s", n, tt.stderrLine, stderr.String())
				}
			}
		})
	}
}

func TestConfigDefault(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := configCmd([]string{"default", "-ports", "3"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	c, err := config.Parse(&stdout)
	if err != nil {
		t.Fatalf("default output does not parse: %v", err)
	}
	if len(c.Ports) != 3 || c.Account("3").User != "103" {
		t.Errorf("default config = %+v", c)
	}
	// The printed default passes `config check`.
	p := writeFile(t, "default.xml", string(mustMarshal(t, config.Default(2))))
	if code := configCmd([]string{"check", p}, &stdout, &stderr); code != 0 {
		t.Errorf("check of the default config: exit %d: %s", code, stderr.String())
	}
	if code := configCmd([]string{"default", "-ports", "0"}, &stdout, &stderr); code != 2 {
		t.Errorf("-ports 0: exit %d", code)
	}
}

func mustMarshal(t *testing.T, c *config.Config) []byte {
	t.Helper()
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
