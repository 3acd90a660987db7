# PBTS build, test and generation entry points. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE_BIN := $(CURDIR)/node_modules/.bin
BUF      := $(NODE_BIN)/buf
FORGE    := $(NODE_BIN)/forge
GO_TOOLS := bin/protoc-gen-go bin/protoc-gen-go-grpc bin/protoc-gen-grpc-gateway bin/protoc-gen-openapiv2 bin/abigen
GO_MODULES := . services/tracker services/receipts services/chainwriter services/gateway deploy
GENERATED := gen contracts/bindings
CONTRACTS := ReputationTracker RepFactory

.PHONY: help
help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

## Toolchain -------------------------------------------------------------

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(GO_TOOLS) &: tools/go.mod tools/go.sum
	cd tools && GOWORK=off go build -o ../bin/ \
	  google.golang.org/protobuf/cmd/protoc-gen-go \
	  google.golang.org/grpc/cmd/protoc-gen-go-grpc \
	  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
	  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2 \
	  github.com/ethereum/go-ethereum/cmd/abigen

.PHONY: system-deps
system-deps: ## Postgres at 127.0.0.1:5432, Redis at 127.0.0.1:6379 and the Debian packages tests drive (aria2, chromium for the dashboard; ffmpeg, espeak-ng, jq for the demo; postgresql's initdb for the soak's own cluster)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-redis.sh
	bash scripts/ensure-apt.sh aria2c=aria2 chromium=chromium ffmpeg=ffmpeg espeak-ng=espeak-ng jq=jq pg_ctlcluster=postgresql

.PHONY: tools
tools: node_modules/.package-lock.json $(GO_TOOLS) ## install npm tools (Foundry, solc, buf) and build the pinned Go generators

## Local stack -----------------------------------------------------------

.PHONY: up
up: node_modules/.package-lock.json ## run the local stack (Postgres, anvil with kept state, contracts, services) until Ctrl-C; state in .pbts/
	bash scripts/up.sh

.PHONY: web
web: ## build the dashboard into web/dist (the gateway serves it; make up builds it when missing)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

.PHONY: demo
demo: node_modules/.package-lock.json ## the five-act demo against the running stack (starts one for the demo if none runs)
	bash scripts/demo.sh

## Generation ------------------------------------------------------------

.PHONY: generate
generate: tools ## regenerate protobuf/gRPC/gateway/OpenAPI code and the contract bindings
	rm -rf gen/pbts gen/openapiv2/*.json
	$(BUF) generate
	cd contracts && $(FORGE) build --quiet
	mkdir -p contracts/bindings
	for c in $(CONTRACTS); do \
	  node scripts/artifact.js contracts/out/$$c.sol/$$c.json abi > bin/$$c.abi; \
	  node scripts/artifact.js contracts/out/$$c.sol/$$c.json bin > bin/$$c.bin; \
	  bin/abigen --v2 --abi bin/$$c.abi --bin bin/$$c.bin --pkg bindings --type $$c \
	    --out contracts/bindings/$$(echo $$c | sed -E 's/([a-z])([A-Z])/\1_\2/g' | tr A-Z a-z).go; \
	done

.PHONY: generate-check
generate-check: generate ## fail when committed generated code is stale
	@if [ -n "$$(git status --porcelain -- $(GENERATED))" ]; then \
	  echo "generated code is stale; run 'make generate' and commit:"; git status --porcelain -- $(GENERATED); \
	  git --no-pager diff --stat -- $(GENERATED); exit 1; fi

## Checks ----------------------------------------------------------------

.PHONY: lint
lint: tools ## buf lint, gofmt, go vet
	$(BUF) lint
	@bad=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/' | grep -v '^contracts/bindings/')); \
	  if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	go vet $(addsuffix /...,$(addprefix ./,$(GO_MODULES)))

.PHONY: build-modules
build-modules: ## build every Go module on its own (GOWORK=off); the deploy module (tests only) is vetted
	set -e; for m in $(GO_MODULES); do (cd $$m && GOWORK=off go build ./...); done
	cd deploy && GOWORK=off go vet ./...

.PHONY: test-contracts
test-contracts: tools ## Foundry unit, fuzz, invariant and vector tests (and the gas snapshot is current)
	cd contracts && $(FORGE) snapshot --check

# Every package's line shows the -shuffle seed it ran with; a failure prints
# its output and the command that replays it (cmd/testsum).
GO_TEST_FLAGS ?= -race -shuffle=on -count=1 -timeout 30m
GO_PACKAGES := $(addsuffix /...,$(addprefix ./,$(GO_MODULES)))

.PHONY: test-go test-web screenshot
test-go: ## Go tests with the race detector, shuffled (seeds printed per package)
	go build -o bin/testsum ./cmd/testsum
	go test -json $(GO_TEST_FLAGS) $(GO_PACKAGES) 2>&1 | bin/testsum
	go test -json $(GO_TEST_FLAGS) -tags pbts_failpoints ./services/chainwriter/internal/failpoint/ 2>&1 | bin/testsum # the crash hook's own tests (its e2e builds the binary with the tag itself)

test-web: ## the dashboard: npm ci, Vitest, type check and build (test-go's TestDashboard drives that build in chromium)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run build

screenshot: web ## retake the README's dashboard screenshot (docs/dashboard.png) with TestDashboard
	PBTS_README_SHOT=$(CURDIR)/docs/dashboard.png go test -count=1 -run '^TestDashboard$$' ./e2e

# go test -fuzz takes one package and one target per run: each pair below
# runs for FUZZ_TIME. Their seed corpora (f.Add and testdata/fuzz/) run in
# test-go as ordinary tests.
FUZZ_TIME ?= 30s
FUZZ_TARGETS := \
  services/tracker/internal/bt:FuzzAnnounceQuery \
  services/tracker/internal/bt:FuzzScrapeQuery \
  services/tracker/internal/bt:FuzzTrackerHandler \
  agent/wire:FuzzDecodeReceipts \
  agent/wire:FuzzEncodeReceipts \
  agent/wire:FuzzDecodeAuth \
  services/tracker/internal/registry:FuzzRegisterAgentFields \
  services/tracker/internal/registry:FuzzPublishMetadata \
  services/tracker/internal/registry:FuzzPublishTorrent \
  services/gateway/internal/gw:FuzzReceiptAliases

.PHONY: fuzz
fuzz: ## run every go test -fuzz target for FUZZ_TIME each (default 30s; a crash is written to the package's testdata/fuzz/)
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "==== fuzz $$name ($$pkg, $(FUZZ_TIME))"; \
	  go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZ_TIME) ./$$pkg || exit 1; \
	done

SOAK_S ?= 600
.PHONY: soak
soak: system-deps tools ## the stack under load for SOAK_S seconds (default 600) with services SIGKILLed, Postgres restarted and the RPC away; prints figure soak_*
	SOAK_S=$(SOAK_S) go test -count=1 -run '^TestSoak$$' -v -timeout 60m ./e2e

TEST_STAGES := system-deps tools lint test-contracts test-web test-go build-modules generate-check

.PHONY: test
test: ## everything CI runs, stage by stage with the seconds of each
	@bash scripts/stages.sh $(TEST_STAGES)

## Benchmarks ------------------------------------------------------------

.PHONY: bench
bench: system-deps tools ## print every benchmark figure as `figure NAME VALUE UNIT`
	bash scripts/ensure-apt.sh opentracker=opentracker ss=iproute2
	bash contracts/bench-gas.sh
	bash receipt/bench.sh
	bash services/tracker/bench/announce.sh
	bash services/receipts/bench/receipts.sh
	bash services/chainwriter/bench/chainwriter.sh
	bash cmd/pbts/bench/transfer.sh
	bash services/gateway/bench/gateway.sh

.PHONY: snapshot
snapshot: tools ## refresh contracts/.gas-snapshot
	cd contracts && $(FORGE) snapshot
