package card

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
)

// EnvSize is CONFIG_ENV_SIZE of Debian's NanoPi NEO U-Boot (u-boot-sunxi
// 2023.01): uboot.env is this many bytes, a CRC32 and the NUL-separated
// variables. Checked by booting it: a 0x20000-byte file fails its CRC
// ("bad CRC, using default environment"), and the file its saveenv
// writes is 0x10000 bytes.
const EnvSize = 0x10000

// Env is a U-Boot environment: variable names to values.
type Env map[string]string

// EncodeEnv returns the environment as U-Boot's saveenv stores it (no
// redundant copy): the little-endian CRC32 (IEEE) of the data, then
// "name=value" strings each ended by a NUL, sorted, then zeros to size.
func EncodeEnv(e Env, size int) ([]byte, error) {
	if size < 8 {
		return nil, fmt.Errorf("uboot env: size %d too small", size)
	}
	names := make([]string, 0, len(e))
	for k := range e {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("uboot env: bad variable name %q", k)
		}
		if strings.Contains(e[k], "\x00") {
			return nil, fmt.Errorf("uboot env: %s: NUL in the value", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	b := make([]byte, size)
	off := 4
	for _, k := range names {
		kv := k + "=" + e[k]
		if off+len(kv)+2 > size { // its NUL and the final empty string
			return nil, fmt.Errorf("uboot env: more than %d bytes", size)
		}
		off += copy(b[off:], kv) + 1
	}
	binary.LittleEndian.PutUint32(b, crc32.ChecksumIEEE(b[4:]))
	return b, nil
}

// ErrEnvCRC means the environment's CRC does not match its data (U-Boot
// then uses its built-in default environment).
var ErrEnvCRC = errors.New("uboot env: bad CRC")

// ParseEnv decodes an environment stored as EncodeEnv writes it.
func ParseEnv(b []byte) (Env, error) {
	if len(b) < 8 {
		return nil, errors.New("uboot env: too short")
	}
	if binary.LittleEndian.Uint32(b) != crc32.ChecksumIEEE(b[4:]) {
		return nil, ErrEnvCRC
	}
	e := Env{}
	for _, kv := range bytes.Split(b[4:], []byte{0}) {
		if len(kv) == 0 {
			break
		}
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("uboot env: entry %q has no name=value", kv)
		}
		e[k] = v
	}
	return e, nil
}

// DefaultEnv finds the built-in default environment in a U-Boot binary:
// the NUL-separated block holding "bootcmd=", ended by an empty string.
// The card's uboot.env starts from it, because U-Boot replaces its whole
// environment with a valid uboot.env (distro boot's variables included).
func DefaultEnv(uboot []byte) (Env, error) {
	i := bytes.Index(uboot, []byte("\x00bootcmd="))
	if i < 0 {
		return nil, errors.New("uboot env: no default environment (bootcmd=) in the U-Boot binary")
	}
	// Walk back over the "name=value" strings before bootcmd.
	start := i + 1
	for start > 1 {
		j := bytes.LastIndexByte(uboot[:start-1], 0)
		s := uboot[j+1 : start-1]
		if !envEntry(s) {
			break
		}
		start = j + 1
	}
	end := bytes.Index(uboot[start:], []byte{0, 0})
	if end < 0 {
		return nil, errors.New("uboot env: default environment not terminated")
	}
	e := Env{}
	for _, kv := range bytes.Split(uboot[start:start+end], []byte{0}) {
		if !envEntry(kv) {
			return nil, fmt.Errorf("uboot env: default environment entry %q", kv)
		}
		k, v, _ := strings.Cut(string(kv), "=")
		e[k] = v
	}
	for _, need := range []string{"bootcmd", "kernel_addr_r", "fdt_addr_r", "ramdisk_addr_r"} {
		if _, ok := e[need]; !ok {
			return nil, fmt.Errorf("uboot env: default environment has no %s", need)
		}
	}
	return e, nil
}

// envEntry reports whether s looks like "name=value" with a printable
// name.
func envEntry(s []byte) bool {
	k, _, ok := bytes.Cut(s, []byte("="))
	if !ok || len(k) == 0 || len(k) > 64 {
		return false
	}
	for _, c := range s {
		if c < 0x20 && c != '\t' && c != '\n' || c > 0x7e {
			return false
		}
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
