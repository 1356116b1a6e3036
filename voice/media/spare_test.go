package media

import "testing"

// TestSpareStreamCanceller: a stream makes its line echo canceller when it
// is made (off the loop), a spare stream at its first call; either way a
// call starts with one and keeps it.
func TestSpareStreamCanceller(t *testing.T) {
	for _, tc := range []struct {
		name       string
		spare      bool
		beforeCall bool // a canceller before the first call
	}{
		{"a port's first stream", false, true},
		{"a spare stream", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewStreamWith(loopback, StreamOpts{Spare: tc.spare})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.echo.ec != nil; got != tc.beforeCall {
				t.Fatalf("canceller before the first call: %v, want %v", got, tc.beforeCall)
			}
			s.Start(Session{Remote: loopback, Codec: PCMU, PT: 0})
			ec := s.echo.ec
			if ec == nil || !s.echo.on {
				t.Fatalf("call started without a running canceller (on %v)", s.echo.on)
			}
			s.Stop()
			s.Start(Session{Remote: loopback, Codec: PCMU, PT: 0})
			if s.echo.ec != ec {
				t.Fatal("the second call made a new canceller")
			}
		})
	}
}
