package factory

import "testing"

func TestResetButtonNone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantErr bool
	}{{"sim", false}, {"qemu", false}, {"no-such-board", true}} {
		p, err := ResetButton(tc.name)
		if (err != nil) != tc.wantErr || p != nil {
			t.Errorf("%s: reader %v, err %v", tc.name, p != nil, err)
		}
	}
}
