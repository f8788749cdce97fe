# Quiver: `make demo` syncs the built-in simulators into ./out; `make test`
# runs every test. Only Go is needed.

GO      ?= go
BIN     := $(CURDIR)/bin
# Every plugin main: the shipped connectors' and the examples' (the Harvest
# worked example of docs/writing-a-connector.md).
PLUGINS := $(wildcard connectors/*/cmd/quiver-* examples/*/cmd/quiver-*)

.PHONY: all build cross demo test bench clean docs docs-check demo-check
all: build

include proto.mk

## build: the host and every plugin into ./bin
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/quiver ./host/cmd/quiver
	@for p in $(PLUGINS); do \
		echo "$(GO) build -o $(BIN)/$${p##*/} ./$$p"; \
		$(GO) build -o $(BIN)/$${p##*/} ./$$p || exit 1; \
	done

## cross: compile every package, and link the host and every plugin, for
## each platform in CROSS (analysts run quiver on Windows and macOS laptops);
## the binaries go to a temporary folder. Then vet every package but the
## end-to-end tests (which need /proc and Unix signals) for Windows.
CROSS ?= windows/amd64 darwin/arm64 linux/arm64
cross:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for p in $(CROSS); do \
		echo "== $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build ./... && \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -o "$$tmp/$$p/" ./host/cmd/quiver $(addprefix ./,$(PLUGINS)) || exit 1; \
	done && \
	echo "== vet windows/amd64" && \
	GOOS=windows GOARCH=amd64 $(GO) vet $$($(GO) list ./... | grep -v '/host/e2e$$')

## demo: build, then sync the simulators into ./out and print a summary
demo: build
	$(BIN)/quiver demo --out ./out

## test: the whole suite, with the race detector, including end-to-end tests
## that build the plugins and run quiver against the simulators
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

## docs: regenerate docs/ and README.md's generated tables from the code
## (connector specs and schemas, the CLI's help, the config types)
docs:
	$(GO) run ./internal/docgen

## docs-check: fail if `make docs` would change anything
docs-check:
	$(GO) run ./internal/docgen -check

DUCKDB := examples/duckdb

## demo-check: run the demo as `make demo` does, into a temporary folder, and
## check its output with DuckDB (examples/duckdb/verify.mjs: every .sql example
## against its expected result, every stream against docs/catalog.json); then
## again with many injected faults, which must give the same results, since
## retried pages are never written twice; then with `--variant alt`, whose
## simulators serve the other plausible API shapes, checked against the
## queries of examples/duckdb/alt (what _quiver_rescued holds); then
## `quiver demo --resync` (a second sync after a day of changes re-reads the
## lookback windows) and a compacted copy of it: the queries of
## examples/duckdb/latest, and per stream the latest version of each key
## equal to what `quiver compact` wrote. Needs node and npm.
DEMO_FAULTS ?= 0.1
demo-check: build $(DUCKDB)/node_modules/.package-lock.json
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	echo "== quiver demo" && \
	$(BIN)/quiver demo --out "$$tmp/a/out" --log-level error && \
	node $(DUCKDB)/verify.mjs --dir "$$tmp/a" && \
	echo "== quiver demo --faults $(DEMO_FAULTS)" && \
	$(BIN)/quiver demo --out "$$tmp/b/out" --faults $(DEMO_FAULTS) --log-level error && \
	node $(DUCKDB)/verify.mjs --dir "$$tmp/b" && \
	echo "== quiver demo --variant alt" && \
	$(BIN)/quiver demo --out "$$tmp/c/out" --variant alt --log-level error && \
	node $(DUCKDB)/verify.mjs --dir "$$tmp/c" --examples $(DUCKDB)/alt && \
	echo "== quiver demo --resync; quiver compact on a copy" && \
	$(BIN)/quiver demo --out "$$tmp/d/out" --resync --log-level error && \
	mkdir "$$tmp/d/compacted" && cp -R "$$tmp/d/out" "$$tmp/d/compacted/out" && \
	$(BIN)/quiver compact -c "$$tmp/d/compacted/out/_demo/quiver.yaml" --log-level error && \
	node $(DUCKDB)/verify.mjs --dir "$$tmp/d" --examples $(DUCKDB)/latest --resync "$$tmp/d/compacted"

# DuckDB for node, pinned by package.json and the committed package-lock.json
# (not `npm ci`: the lock holds only the platforms it was made on, which
# npm ci rejects).
$(DUCKDB)/node_modules/.package-lock.json: $(DUCKDB)/package.json $(DUCKDB)/package-lock.json
	npm install --no-save --prefix $(DUCKDB) --no-audit --no-fund

## bench: end-to-end throughput and peak memory figures
bench: build
	./scripts/bench.sh

clean:
	rm -rf $(BIN) ./out
