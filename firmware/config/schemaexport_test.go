package config

import (
	"errors"
	"slices"
	"testing"
)

// TestSchemaComplete fails when a setting of the document has no entry in
// fieldMetas (a new field needs a label, help and, for a choice, its
// values there) or an entry names a setting that is gone.
func TestSchemaComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, es := range schema().elems {
		for _, f := range es.fields {
			p := es.name + "/" + f.name
			seen[p] = true
			m, ok := fieldMetas[p]
			if !ok {
				t.Errorf("%s: no entry in fieldMetas (label, help, values)", p)
				continue
			}
			if m.label == "" || m.help == "" {
				t.Errorf("%s: label and help are required", p)
			}
		}
	}
	for p := range fieldMetas {
		if !seen[p] {
			t.Errorf("fieldMetas has %s, which the schema does not", p)
		}
	}
	if n := len(Schema()); n != len(seen) {
		t.Errorf("Schema() has %d settings, the struct tags %d", n, len(seen))
	}
}

// schemaBase is a valid config with every element present.
func schemaBase() *Config {
	c := Default(2)
	c.SIP = &SIP{}
	c.Provisioning = &Provisioning{URL: "http://127.0.0.1/prov/"}
	c.Firmware = &Firmware{URL: "http://127.0.0.1/fw.img"}
	c.Accounts[0].Registrar = "sip:127.0.0.1"
	c.Accounts[0].Password = "pw"
	return c
}

// setField sets one setting of the first element named by f.Element,
// creating it when c has none, and returns the path problems with the
// setting carry.
func setField(t *testing.T, c *Config, f Field, v string) string {
	t.Helper()
	if err := c.ApplyElementForm(f.Element, 0, map[string][]string{f.Name: {v}}); err != nil {
		t.Fatal(err)
	}
	return c.ElementPath(f.Element, 0) + "/" + f.Name
}

// problemOn reports whether err has a problem with the setting at path.
func problemOn(err error, path string) bool {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, p := range ve.Problems {
		if p.Path == path {
			return true
		}
	}
	return false
}

// TestSchemaValuesValidate checks the schema's choices against
// validation: each value offered is accepted and a value not offered is
// refused with a problem on that setting.
func TestSchemaValuesValidate(t *testing.T) {
	n := 0
	for _, f := range Schema() {
		if f.Kind != KindEnum && f.Kind != KindBool {
			continue
		}
		n++
		t.Run(f.Path, func(t *testing.T) {
			if len(f.Values) == 0 || slices.Contains(f.Values, "") {
				t.Fatalf("values %q: want a non-empty list without the empty value", f.Values)
			}
			// Only problems with this setting count: a new element may
			// need other settings this test does not know.
			for _, v := range f.Values {
				c := schemaBase()
				path := setField(t, c, f, v)
				if err := c.Normalize(); problemOn(err, path) {
					t.Errorf("%s=%q offered but refused: %v", f.Path, v, err)
				}
			}
			c := schemaBase()
			path := setField(t, c, f, "not-a-choice")
			if err := c.Normalize(); !problemOn(err, path) {
				t.Errorf("%s=not-a-choice: want a problem on %s, got %v", f.Path, path, err)
			}
		})
	}
	if n < 15 {
		t.Errorf("only %d choices in the schema", n)
	}
}

func TestSchemaShape(t *testing.T) {
	byPath := map[string]Field{}
	for _, f := range Schema() {
		byPath[f.Path] = f
	}
	for _, tc := range []struct {
		path, kind string
		values     []string
		key        bool
	}{
		{"account/@id", KindText, nil, true},
		{"account/transport", KindEnum, []string{"udp", "tcp", "tls"}, false},
		{"account/srtp", KindEnum, []string{"off", "optional", "mandatory"}, false},
		{"account/expires", KindNumber, nil, false},
		{"port/@n", KindNumber, nil, true},
		{"port/country", KindEnum, Countries(), false},
		{"port/dtmf", KindEnum, []string{"rfc4733", "info"}, false},
		{"port/caller-id", KindEnum, []string{"off", "bell202", "v23", "dtmf"}, false},
		{"port/call-waiting", KindBool, []string{"true", "false"}, false},
		{"sip/direct-calls", KindBool, []string{"true", "false"}, false},
	} {
		f, ok := byPath[tc.path]
		if !ok {
			t.Errorf("%s: not in the schema", tc.path)
			continue
		}
		if f.Kind != tc.kind || !slices.Equal(f.Values, tc.values) || f.Key != tc.key {
			t.Errorf("%s: kind %s values %q key %v, want %s %q %v", tc.path, f.Kind, f.Values, f.Key, tc.kind, tc.values, tc.key)
		}
	}
	if f := byPath["account/password"]; !f.Secret {
		t.Error("account/password: not secret")
	}
	if len(SchemaOf("port")) == 0 || len(SchemaOf("nothing")) != 0 {
		t.Error("SchemaOf: wrong selection")
	}
}
