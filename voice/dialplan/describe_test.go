package dialplan

import (
	"strconv"
	"strings"
	"time"
)

// describe renders the compiled form in the Cisco syntax, for tests and
// debugging; alternatives that never match are left out.
func (m *Map) describe() string {
	var b strings.Builder
	n := 0
	for _, a := range m.alts {
		if a.dead {
			continue
		}
		if n > 0 {
			b.WriteByte('|')
		}
		n++
		inSub := false
		for j := 0; j <= len(a.elems); j++ {
			if a.tone&(1<<j) != 0 {
				if inSub {
					b.WriteString(":>")
					inSub = false
				}
				b.WriteByte(',')
			}
			if a.ins[j] != "" {
				if !inSub {
					b.WriteByte('<')
				}
				b.WriteString(":" + a.ins[j] + ">")
				inSub = false
			}
			if j == len(a.elems) {
				break
			}
			e := a.elems[j]
			if e.drop && !inSub {
				b.WriteByte('<')
				inSub = true
			}
			if !e.drop && inSub {
				b.WriteString(":>")
				inSub = false
			}
			b.WriteString(describeMask(e.mask))
			if e.repeat {
				b.WriteByte('.')
			}
		}
		if inSub {
			b.WriteString(":>")
		}
		if a.short >= 0 {
			b.WriteString("S" + secs(a.short))
		}
		if a.long >= 0 {
			b.WriteString("L" + secs(a.long))
		}
		if a.wait {
			b.WriteByte('T')
		}
		if a.bar {
			b.WriteByte('!')
		}
	}
	return b.String()
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

func describeMask(mask symMask) string {
	if mask == anyDigit {
		return "x"
	}
	var keys []byte
	for s := range 12 {
		if mask&(1<<s) != 0 {
			keys = append(keys, "0123456789*#"[s])
		}
	}
	if len(keys) == 1 {
		return string(keys)
	}
	return "[" + string(keys) + "]"
}
