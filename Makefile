# ftpsgw — see README.md. `make run` runs the main job, `make test` runs all tests.
GO       ?= go
BIN      ?= bin/ftpsgw
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 60s
RUNDIR   ?= $(CURDIR)/.run

IMAGE    ?= ftpsgw:dev

.PHONY: build test run lint fuzz clean vsftpd-acceptance image bench soak

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/ftpsgw

# The simulator as a FROM scratch image (nothing is pulled): the static binary, an empty
# /data owned by the non-root user 65532, and simulator/container/Dockerfile.
image: build
	@ctx=$$(mktemp -d) && mkdir $$ctx/data && cp $(BIN) simulator/container/Dockerfile $$ctx/ && \
		docker build -t $(IMAGE) $$ctx; rc=$$?; rm -rf $$ctx; exit $$rc

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m -parallel 4 ./...
	# The defect and client-adapter matrices (whole certifications) are too slow under -race; run them plainly.
	# (the client certifications and observations mostly wait for their clients, so six run side by side)
	$(GO) test -count=1 -timeout 10m -parallel 6 -run 'TestEveryDefectFailsExactlyItsRequirement|TestReferenceAdaptersPass|TestMisconfiguredAdapters|TestClearDataConnectionsAreOneMistake|TestObservedProductsGetTheirVerdicts|TestObservedAndAdapterDrivenAgree' ./cmd/ftpsgw
	# A QA team's own godog suite (its own go.mod) mixing its step with ftpsgw's over one World.
	cd examples/godog && $(GO) vet ./... && $(GO) test -count=1 ./...
	# A short real fuzzing run of every target, bounded by count (no wall-clock race).
	$(MAKE) --no-print-directory fuzz FUZZTIME=1000x

# The main job: certify the embedded simulator; reports land in ftpsgw-report/.
run: build
	$(BIN) certify --report ftpsgw-report

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -checks U1000 ./...

# Runs every fuzz target (func FuzzXxx) for FUZZTIME each: a duration or a count ("500x").
# See scripts/fuzz.sh for the Go 1.26 coordinator race it reports instead of failing on.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

clean:
	rm -rf bin $(RUNDIR)

# Certify a stock vsftpd with a hand-written profile (root; creates user ftpsgwtest).
vsftpd-acceptance:
	scripts/vsftpd-acceptance.sh

# Side-by-side load benchmark: stock vsftpd (root), SFTPGo (FTPSGW_SFTPGO=path to an SFTPGo
# start script, see docs/BENCHMARKS.md) and the simulator (durability process, and power for
# the uploads, against dd with fsync), long-lived, ROUNDS=3; plus the simulator with
# 0-200,000 uploads kept; once on the disk and once on tmpfs, with the targets side by side.
# About 40 minutes with every scenario (SCENARIOS, FILLS, MIXED=0 shorten it). Not part of
# make test; docs/BENCHMARKS.md.
bench:
	scripts/bench-both.sh

# Mixed load for SOAK_TIME (default 10m) with RSS, goroutines, fds and queue sampled; fails on
# errors or growth without bound. Not part of make test.
soak:
	scripts/soak.sh
