// Package archtest holds tests that keep the architecture true: every
// package imports only what its layer's entry in the allow-list names
// (module packages and third-party modules alike), and every package says
// what it is for.
package archtest
