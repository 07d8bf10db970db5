# Agora — build, test and run. Every target installs missing system packages first.
SWIFT_BIN_DIR := $(firstword $(wildcard /opt/swift/usr/bin))
ifneq ($(SWIFT_BIN_DIR),)
export PATH := $(SWIFT_BIN_DIR):$(PATH)
endif

SWIFT ?= swift
AGORA := .build/debug/agora

.PHONY: all deps build test run bench protos clean

all: build

deps:
	@Scripts/install-deps.sh
	@command -v $(SWIFT) >/dev/null || { echo "swift not found: install the Swift 6 toolchain (swift.org) and put it on PATH" >&2; exit 1; }

build: deps
	$(SWIFT) build

test: deps
	$(SWIFT) build --build-tests
	# CPU-bound suites (the simulation, the mutation test) run on their own after the
	# others, so that they do not starve the timing-sensitive socket and process tests
	# of the two cores; SimulationClusterTests (a real master and simulated agents that
	# must answer pings in time) runs alone after them for the same reason.
	$(SWIFT) test --skip-build --skip "Simulation|HostileInput"
	$(SWIFT) test --skip-build --filter "Simulation|HostileInput" --skip SimulationClusterTests
	$(SWIFT) test --skip-build --filter SimulationClusterTests

run: build
	@Scripts/run-local.sh $(AGORA)

bench: deps
	$(MAKE) -C Benchmarks run

protos: deps
	Scripts/generate-protos.sh

clean:
	rm -rf .build .build-protoc-gen-swift Benchmarks/.build
