// Package line holds the analog line state machines of the voice layer. An
// FXS line turns the hook state and keypad audio of a phone on a board.FXS
// port into events for the gateway (off hook, number dialed, answer, flash,
// hang-up) and plays call-progress tones and ringing as the gateway commands
// (calling, ringback, connected, busy, reorder, ring). A DigitMap (dial plan)
// decides when a dialed number is complete.
//
// Everything here runs on the real-time media loop goroutine, once per 10 ms
// frame, and does not allocate in steady state.
package line
