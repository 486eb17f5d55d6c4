#!/usr/bin/env bash
# Installs what the test suite needs when it is missing (psql, pgbench,
# initdb and pg_ctl from PostgreSQL 15, on Debian 12), then runs go vet, gofmt,
# every Go test and a few seconds of each fuzz target (scripts/fuzz.sh).
# Idempotent; meant to run as root on a fresh machine (CI) or on a
# developer's machine where everything is already there.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
export DEBIAN_FRONTEND=noninteractive

PG_BIN=/usr/lib/postgresql/15/bin

have_pg() {
	command -v psql >/dev/null 2>&1 &&
		command -v pgbench >/dev/null 2>&1 &&
		[ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ]
}

missing=""
if ! have_pg; then
	missing=" postgresql-15 postgresql-client-15"
fi
# Real PostgreSQL clients for internal/testing/clients: Debian's Python drivers (they
# install for /usr/bin/python3), pgjdbc with a JDK, and node-postgres from npm.
CLIENT_PKGS="python3-psycopg2 python3-psycopg python3-sqlalchemy python3-pandas python3-asyncpg libpostgresql-jdbc-java"
for p in $CLIENT_PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if ! command -v javac >/dev/null 2>&1; then
	missing="$missing default-jdk-headless"
fi
# kcat (librdkafka) produces to the in-process Kafka broker of the Kafka
# connector's tests, so they do not depend on franz-go talking to itself.
if ! command -v kcat >/dev/null 2>&1; then
	missing="$missing kcat"
fi
# prometheus and promtool (Debian's prometheus package) for internal/testing/ops:
# the tests start their own Prometheus with a configuration of their own, never
# the system service the package sets up.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
	missing="$missing prometheus"
fi
# Headless Chromium for the status page's browser tests (internal/testing/e2e,
# driven with chromedp).
for p in chromium chromium-driver; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		SUDO="sudo"
	fi
	echo "test.sh: installing$missing"
	$SUDO apt-get update  # once, and only when something must be installed
	$SUDO apt-get install -y --no-install-recommends $missing
fi
if command -v npm >/dev/null 2>&1 && [ ! -d internal/testing/clients/node/node_modules/pg ]; then
	echo "test.sh: npm ci in internal/testing/clients/node"
	(cd internal/testing/clients/node && npm ci --no-audit --no-fund --loglevel=error)
fi

# versitygw is the real S3 server the object-storage tests start (cached in
# GOPATH/bin after the first install, ~100 s).
GOBIN_DIR=$(go env GOPATH)/bin
if [ ! -x "$GOBIN_DIR/versitygw" ]; then
	echo "test.sh: go install versitygw"
	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
export PATH=$PATH:$GOBIN_DIR

# Debian's packages put initdb and pg_ctl outside PATH; tests find them here.
export PATH=$PATH:$PG_BIN

go version
echo "test.sh: go vet"
vet_status=0
go vet -tags duckdb_arrow ./... || vet_status=$?
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "test.sh: not gofmt-formatted:"; echo "$unformatted"
	vet_status=1
fi

echo "test.sh: go test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
go test -tags duckdb_arrow -count=1 -timeout 25m ./... 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Each fuzz target for a few seconds (the seed corpora already ran above as
# plain tests); a crash fails the run. Skip with SLUICE_FUZZ_SMOKE=0.
fuzz_status=0
if [ "${SLUICE_FUZZ_SMOKE:-1}" != 0 ]; then
	echo "test.sh: fuzz smoke run"
	bash scripts/fuzz.sh "${SLUICE_FUZZTIME:-3s}" 2 || fuzz_status=$?
fi

echo
echo "test.sh: summary"
grep -E '^(ok|FAIL|---|panic:|\?)\s' "$log" | grep -vE '^\?\s.*\[no test files\]' || true
passed=$(grep -cE '^ok\s' "$log" || true)
failed=$(grep -cE '^FAIL\s' "$log" || true)
if [ "$vet_status" -ne 0 ]; then
	echo "test.sh: go vet failed (status $vet_status)"
	[ "$status" -ne 0 ] || status=$vet_status
fi
if [ "$fuzz_status" -ne 0 ]; then
	echo "test.sh: fuzz smoke run failed"
	[ "$status" -ne 0 ] || status=$fuzz_status
fi
echo "packages: $passed passed, $failed failed"
exit "$status"
