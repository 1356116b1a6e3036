// Package dsp holds the telephony signal processing used by the media loop,
// the line state machines and the simulated phones: G.711 companding, signal
// levels, call-progress tone and DTMF generation, DTMF detection, FSK modems
// (Bell 202, V.23) with the caller ID codec (SDMF, MDMF, VMWI, DTMF caller
// ID), CAS / DT-AS alerting signals, G.711 packet loss concealment ([PLC]),
// the G.722 wideband codec ([G722Encoder], [G722Decoder], 16 kHz) with
// 8 ↔ 16 kHz half-band resamplers ([Upsampler2], [Downsampler2]) to carry
// it over the 8 kHz media loop, a line echo canceller ([EchoCanceller])
// and a small spectrum analyser.
//
// Everything works on 8 kHz linear 16-bit PCM ([SampleRate]), the format of the
// PCM highway (drivers/pcm), except G.722, which works at 16 kHz
// ([G722SampleRate]). Functions meant for the real-time path (called
// once per 10 ms frame) never allocate; each has a zero-allocation test.
//
// Standards and sources:
//   - ITU-T G.711: µ-law and A-law companding, bit-exact with the reference
//     algorithm also used by spandsp (µ-law bias 0x84, A-law even-bit
//     inversion 0x55).
//   - ITU-T G.711/G.168 level convention: 0 dBm0 is a sine whose µ-law peak is
//     3.17 dB below digital full scale.
//   - ITU-T Q.23 (DTMF frequencies) and Q.24 / Telcordia GR-506 (DTMF receiver
//     limits: duration, twist, level).
//   - ITU-T E.180 and its Supplement 2 (national call-progress tones), values
//     as collected in Asterisk's indications.conf.sample; the US levels come
//     from the North American "precise tone plan" (ANSI T1.401).
//   - Telcordia GR-30-CORE and ETSI EN 300 659-1/-3 (on-hook data: FSK,
//     message formats, seizure and mark timing), ETSI ES 200 778 variants for
//     DTMF caller ID, SR-TSV-002476 (CAS).
//   - ITU-T G.711 Appendix I (packet loss concealment by pitch-period
//     repetition; see [PLC] for the two departures).
//   - ITU-T G.722 (7 kHz audio coding within 64 kbit/s), mode 1, bit-exact
//     with spandsp; RFC 3551 for its RTP payload type and clock rate.
//   - ITU-T G.168 (line echo cancellers: 64 ms tail, ERLE, double talk,
//     non-linear processor), as a design target; the adaptive filter is a
//     partitioned-block frequency-domain filter (multidelay filter, J.-S.
//     Soo and K. K. Pang, 1990) with IPNLMS-style proportionate gains
//     (J. Benesty and S. L. Gay, 2002) and a non-parametric variable step
//     (J. Benesty et al., 2006).
//
// The tests cross-check G.711, G.722, DTMF detection, caller ID, packet loss
// concealment and echo cancellation against spandsp
// through a C oracle (internal/oracle); see docs/DSP.md for the results.
//
// The package imports only the Go standard library.
package dsp
