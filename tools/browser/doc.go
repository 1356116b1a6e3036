// Package browser holds the browser tests of the web UI: webui.mjs drives
// Debian's Chromium through npm playwright-core (installed here with
// npm ci from package-lock.json; no browser is downloaded), and
// browser_test.go starts the gateway and Kamailio and runs it.
package browser
