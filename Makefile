# Sluice: build, run and test the gateway.
#   make run    build ./bin/sluice-gateway and run it on the embedded defaults
#               (127.0.0.1:5433, data in ./sluice-data)
#   make test   install what the tests need (psql, PostgreSQL 15) and run them all

GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
TAGS     := duckdb_arrow
BIN      := bin/sluice-gateway
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -X main.version=$(VERSION)
# Each benchmark iteration is a whole workload; -count gives the runs to take the median of.
BENCHFLAGS ?= -benchtime 1x -count 5

.PHONY: all build run test bench bench-pgbench vet clean

all: build

build:
	$(GO) build -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gateway

run: build
	./$(BIN) serve

test:
	bash scripts/test.sh

vet:
	$(GO) vet -tags $(TAGS) ./...

# Benchmarks (see docs/benchmarks.md for the workloads and the recorded numbers).
# bench runs W1-W6; bench-pgbench the pgbench comparison, one round of 12
# configurations x 2 servers x SLUICE_BENCH_PGBENCH_SECONDS (60): about 25 minutes.
bench:
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -skip Pgbench $(BENCHFLAGS) -timeout 60m ./bench/...

bench-pgbench:
	$(GO) test -tags $(TAGS) -run '^$$' -bench Pgbench -benchtime 1x -count 1 -timeout 60m ./bench/...

clean:
	rm -rf bin
