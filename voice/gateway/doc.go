// Package gateway joins the layers: it turns line events from the analog
// ports into SIP calls and SIP calls into ringing, tones and talk paths, and
// runs the media loop that carries the audio.
//
// Threading: the media loop goroutine owns the line state machines and the
// RTP streams (it ticks them every frame). One control goroutine per port
// owns that port's SIP call; it reaches the loop only through the loop's
// command queue, and the loop reaches it only through a buffered channel.
// With several loop workers (Config.LoopWorkers) ports are ticked in
// parallel, each by one worker at a time: a port's Tick touches only that
// port's line, streams and channels, the board's chip drivers (each
// behind its own lock, a shared SPI bus carrying one transfer at a time)
// and what is safe for concurrent use (the log, a packet capture).
package gateway
