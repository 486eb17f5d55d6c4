#!/usr/bin/env bash
# Runs every fuzz target for a while each, one after the other:
#   scripts/fuzz.sh [FUZZTIME] [WORKERS]    (default 3s, 2 workers)
# scripts/test.sh runs it with 3s as CI's smoke run; docs/reliability.md
# records the long runs (scripts/fuzz.sh 150s 1). A failing input is written
# to the package's testdata/fuzz/<FuzzName>/ and fails the run; commit it
# with the fix as the regression seed (plain go test runs it from then on).
set -uo pipefail

cd "$(dirname "$0")/.."
fuzztime=${1:-3s}
workers=${2:-2}
targets="
sql FuzzParse
sql FuzzRewrite
internal/pgcopy FuzzTextToCSV
internal/pgcopy FuzzBinaryToCSV
wire FuzzFrontendMessages
wire FuzzStartupPackets
wire FuzzAuthMessages
internal/gateway FuzzGatewayMessages
internal/gateway FuzzCopyFrom
connectors/kafka FuzzJSONScan
"
status=0
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
while read -r pkg name; do
	[ -n "$pkg" ] || continue
	start=$(date +%s)
	if go test -tags duckdb_arrow "./$pkg/" -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -parallel "$workers" >"$log" 2>&1; then
		passed=$((passed + 1))
		result=ok
	else
		failed=$((failed + 1))
		result=FAIL
		status=1
		cat "$log"
	fi
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
	echo "fuzz: $result $pkg $name ${execs:-0} execs in $fuzztime ($(($(date +%s) - start))s with the build)"
done <<<"$targets"
echo "fuzz targets: $passed passed, $failed failed"
exit "$status"
