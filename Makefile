# Quiver: `make demo` syncs the built-in simulators into ./out; `make test`
# runs every test. Only Go is needed.

GO      ?= go
BIN     := $(CURDIR)/bin
PLUGINS := $(notdir $(wildcard connectors/*/cmd/quiver-*))

.PHONY: all build demo test bench clean
all: build

include proto.mk

## build: the host and every plugin into ./bin
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/quiver ./host/cmd/quiver
	@for p in $(PLUGINS); do \
		v=$${p#quiver-}; \
		echo "$(GO) build -o $(BIN)/$$p ./connectors/$$v/cmd/$$p"; \
		$(GO) build -o $(BIN)/$$p ./connectors/$$v/cmd/$$p || exit 1; \
	done

## demo: build, then sync the simulators into ./out and print a summary
demo: build
	$(BIN)/quiver demo --out ./out

## test: the whole suite, with the race detector, including end-to-end tests
## that build the plugins and run quiver against the simulators
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

## bench: end-to-end throughput and peak memory figures
bench: build
	./scripts/bench.sh

clean:
	rm -rf $(BIN) ./out
