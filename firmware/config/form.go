package config

import (
	"reflect"
	"strings"
)

// Element is a configuration element that holds settings.
type Element interface {
	Account | Port | SIP | Provisioning | Firmware
}

// ApplyForm sets the settings of *dst named by their XML names (id,
// registrar, expires, ...) from HTML form values. Settings not in the
// form keep their value, and so does a secret (the password) sent empty;
// an empty number means the default (0). Values are trimmed. Problems
// (a number that is not one) come as a *ValidationError whose paths start
// with path, such as loopstart/account[id=1]; the settings that fit are
// set all the same. ApplyForm does not validate: call Normalize on the
// whole Config afterwards.
func ApplyForm[T Element](dst *T, form map[string][]string, path string) error {
	es := schema().byType[reflect.TypeFor[T]()]
	v := reflect.ValueOf(dst).Elem()
	var ps []Problem
	for _, f := range es.fields {
		vals := form[f.name]
		if len(vals) == 0 {
			continue
		}
		val := strings.TrimSpace(vals[0])
		switch {
		case val == "" && f.secret:
			continue
		case val == "" && f.kind == reflect.Int:
			v.Field(f.index).SetZero()
			continue
		}
		if msg := f.set(v, val); msg != "" {
			ps = append(ps, Problem{Path: path + "/" + f.name, Msg: msg})
		}
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}
