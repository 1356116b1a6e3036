package line

import "strings"

// describe renders the compiled form, for tests and debugging.
func (m *DigitMap) describe() string {
	var b strings.Builder
	start := 0
	for i, end := range m.ends {
		if i > 0 {
			b.WriteByte('|')
		}
		for _, e := range m.elems[start:end] {
			b.WriteString(describeMask(e.mask))
			if e.repeat {
				b.WriteByte('.')
			}
		}
		start = end
	}
	return b.String()
}

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
