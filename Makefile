# Loopstart — see README.md. `make run` and `make test` are the two commands.
GO      ?= go
BIN     := bin/loopstart
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1
DATA    ?= .data
HTTP    ?= 127.0.0.1:8080
SIP     ?= 127.0.0.1:5062

.PHONY: all build run test unit interop peers bench lint fmt image qemu clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./firmware/cmd/loopstart

# The gateway on the simulated board, web UI on http://$(HTTP).
run: build
	./$(BIN) run --board sim --data $(DATA) --http $(HTTP) --sip $(SIP)

# Everything: peers installed, lint, unit tests, then the interop tests on
# their own (they measure audio in real time and should not share the CPU
# with the rest of the suite).
test: peers lint
	LOOPSTART_REQUIRE_PEERS=1 $(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /tools/lab)
	LOOPSTART_REQUIRE_PEERS=1 $(GO) test -count=1 -timeout 15m -v ./tools/lab/

# Unit tests only (no peers needed; interop tests skip loudly).
unit:
	$(GO) test ./...

# The interop tests alone (Kamailio, baresip).
interop: peers
	LOOPSTART_REQUIRE_PEERS=1 $(GO) test -count=1 -v -run Interop ./tools/lab/

peers:
	./tools/lab/install-peers.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./voice/... ./drivers/... ./board/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

image qemu:
	@echo "make $@: the bootable image arrives with the image issue (u-root initramfs, QEMU)"; exit 2

clean:
	rm -rf bin $(DATA)
