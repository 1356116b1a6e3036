// Package archtest holds tests that keep the architecture of DESIGN.md true:
// imports point down only, and every package says what it is for.
package archtest
