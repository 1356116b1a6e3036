# Loopstart — see README.md. `make run` and `make test` are the two commands.
GO      ?= go
BIN     := bin/loopstart
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# The build date orders firmware versions that are not semantic versions
# (a downgrade needs confirming); sign images of this build with -built $(BUILT).
BUILT   ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X github.com/loopstart/loopstart/firmware/update.BuildDate=$(BUILT)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1
DATA    ?= .data
HTTP    ?= 127.0.0.1:8080
SIP     ?= 127.0.0.1:5062

.PHONY: all build run test unit race interop peers bench lint cross fmt image qemu test-arm64 clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./firmware/cmd/loopstart

# The gateway on the simulated board, web UI on http://$(HTTP).
run: build
	./$(BIN) run --board sim --data $(DATA) --http $(HTTP) --sip $(SIP)

# Everything: peers installed, lint, cross-builds, unit tests (voice/gateway
# on its own: its sim-board calls measure audio levels and echo in real
# time), then the interop and QEMU boot tests one package at a time (they
# measure audio and boot in real time and should not share the CPU with the
# rest of the suite). The qemu-amd64 board kernel, which the 64 MiB boot
# test needs, builds meanwhile in the background in the idle scheduling
# class (CPU no test wants; the test waits for it, then finds it cached;
# stopped when the suite ends); the other QEMU tests boot Debian's kernel.
# tools/testdigest ends a failing verbose run with the failing tests' own
# messages, so that a log cut to its tail still says why.
KERNEL_LOG ?= .cache/kernel-qemu-amd64.log
test: peers
	@mkdir -p .cache; \
	setsid chrt --idle 0 nice -n 19 $(MAKE) -s kernel TARGET=qemu-amd64 >$(KERNEL_LOG) 2>&1 & kpid=$$!; \
	trap 'kill -- -$$kpid 2>/dev/null; wait $$kpid 2>/dev/null' EXIT; \
	echo "board kernel building in the background (pid $$kpid, log $(KERNEL_LOG))"; \
	$(MAKE) lint cross && \
	LOOPSTART_REQUIRE_PEERS=1 $(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v -e /tools/lab -e /buildroot/qemutest -e /voice/gateway$$) && \
	$(GO) test -count=1 -timeout 10m ./voice/gateway/ && \
	$(MAKE) fuzz-sip && \
	LOOPSTART_REQUIRE_PEERS=1 LOOPSTART_STOCK_KERNEL=1 $(GO) run ./tools/testdigest -- \
		$(GO) test -count=1 -p 1 -timeout 40m -v ./tools/lab/ ./buildroot/qemutest/

# The SIP request path's fuzz targets, each for a fixed time (their seed
# corpora also run in every `go test`); tools/fuzz.sh runs a target once
# more when Go 1.26's coordinator fails it on its own deadline race.
FUZZTIME ?= 6s
.PHONY: fuzz-sip
fuzz-sip:
	GO=$(GO) ./tools/fuzz.sh ./voice/sip $(FUZZTIME) FuzzRequestPath FuzzNormalize FuzzParseSDP FuzzBuild503 FuzzNotify FuzzParseMessageSummary FuzzParseChallenges FuzzIdentityFrom FuzzRingPattern FuzzParseRSeqRAck FuzzParseSessionExpires FuzzStrangerConn

# The firmware cross-builds, pure Go, for every target architecture.
cross:
	for a in amd64 arm64 arm; do CGO_ENABLED=0 GOARCH=$$a $(GO) build -o /dev/null ./firmware/cmd/loopstart || exit 1; done

# Unit tests only (no peers needed; interop tests skip loudly).
unit:
	$(GO) test ./...

# The unit tests under the race detector (minutes; not in `make test`).
race:
	$(GO) test -race -count=1 -timeout 30m $$($(GO) list ./... | grep -v -e /tools/lab -e /buildroot/qemutest)

# The interop tests alone (Kamailio, baresip).
interop: peers
	LOOPSTART_REQUIRE_PEERS=1 $(GO) test -count=1 -v -run Interop ./tools/lab/

peers:
	./tools/lab/install-peers.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./voice/... ./drivers/... ./board/...
	LOOPSTART_BENCH=1 $(GO) test -count=1 -run SpeedVsSpandsp -v ./dsp/

# CPU seconds per call-minute of simultaneous G.711+SRTP calls, loopstart
# against paced baresip on the same calls in the same run, and the one-way
# delay the media path adds (docs/PERFORMANCE.md, "Secure media").
# bench-peers: CPU per call-minute against paced baresip, BENCH_CALLS
# simultaneous SRTP calls (a sim board of that many FXS ports).
BENCH_CALLS ?= 8
.PHONY: bench-peers
bench-peers: peers
	LOOPSTART_BENCH_PEERS=1 LOOPSTART_BENCH_CALLS=$(BENCH_CALLS) LOOPSTART_BENCH_WINDOWS=3 LOOPSTART_REQUIRE_PEERS=1 $(GO) test -count=1 -timeout 10m -v -run TestBenchPeers ./tools/lab/
	$(GO) test -run '^$$' -bench OneWayDelay -benchtime 300x ./voice/media/

# N = 1, 2, 8, 16, 32 simultaneous SRTP calls with the echo canceller on
# every channel, under a SIPp flood; minutes of CPU, so not in `make test`.
# LOOPSTART_SCALE_CHANNELS=32 runs one count, LOOPSTART_BENCH_SECONDS the window.
.PHONY: bench-scale
bench-scale: peers
	LOOPSTART_BENCH_SCALE=1 LOOPSTART_REQUIRE_PEERS=1 $(GO) test -count=1 -timeout 40m -v -run 'TestBenchScale$$' ./tools/lab/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# The bootable image (buildroot/): TARGET=qemu-amd64 or qemu-arm64, into
# bin/image/TARGET (kernel, initramfs.cpio, initramfs.cpio.xz); the kernel
# comes from Debian's packages, cached in $(IMAGE_CACHE). DEBUG=1 adds a shell.
# TARGET=nanopi-neo makes the SD card image to flash (docs/FLASHING.md):
# bin/image/nanopi-neo/loopstart-nanopi-neo.img.xz and its .sha256, with
# Debian's u-boot-sunxi; `make qemu TARGET=nanopi-neo` boots a copy of it in
# QEMU's orangepi-pc (the same H3 SoC) from the emulated SD card.
# TARGET=rpi makes the Raspberry Pi 3's card the same way; it needs the
# Pi's closed boot firmware (bootcode.bin, start.elf, fixup.dat) in the
# directory RPI_FIRMWARE (docs/FLASHING.md says where to get it).
RPI_FIRMWARE ?=
TARGET      ?= qemu-amd64
IMAGE_CACHE ?= .cache/image
QEMU_HTTPS  ?= 127.0.0.1:8443
QEMU_HTTP   ?= 127.0.0.1:8080
QEMU_SIP    ?= 127.0.0.1:5060

image:
	LOOPSTART_KERNEL_CACHE=$(KERNEL_CACHE) $(GO) run ./buildroot/cmd/image build -target $(TARGET) -cache $(IMAGE_CACHE) -version $(VERSION) $(if $(DEBUG),-debug) $(if $(MODULES_EXTRA),-modules-extra $(MODULES_EXTRA)) $(if $(RPI_FIRMWARE),-firmware $(RPI_FIRMWARE))

# The board kernel of TARGET (qemu-amd64, nanopi-neo): built from Debian's
# linux-source (tinyconfig, or the SoC's defconfig, plus a fragment;
# everything built in, no modules; armhf cross-compiled), kept in
# $(KERNEL_CACHE) keyed by the source version and the configuration's hash.
# `make image` boots it when it is cached, Debian's stock kernel otherwise;
# minutes on two cores, so `make test` never builds it.
KERNEL_CACHE ?= $(HOME)/.cache/loopstart/kernel
.PHONY: kernel
kernel:
	LOOPSTART_KERNEL_CACHE=$(KERNEL_CACHE) $(GO) run ./buildroot/cmd/image kernel -target $(TARGET)

# Boot the image in QEMU (TCG, user networking): web UI on https://$(QEMU_HTTPS)
# (self-signed certificate), the guest's port 80 (a redirect to HTTPS) on
# http://$(QEMU_HTTP), SIP on $(QEMU_SIP); the data disk is
# bin/image/TARGET/data.img. Ctrl-A X quits.
qemu: image
	$(GO) run ./buildroot/cmd/image qemu -target $(TARGET) -https $(QEMU_HTTPS) -http $(QEMU_HTTP) -sip $(QEMU_SIP)

# The arm64 image boots to its web UI (the amd64 boot test runs in make test).
test-arm64: peers
	LOOPSTART_REQUIRE_PEERS=1 LOOPSTART_TEST_ARM64=1 $(GO) test -count=1 -timeout 15m -v -run TestBootArm64 ./buildroot/qemutest/

clean:
	rm -rf bin $(DATA)
