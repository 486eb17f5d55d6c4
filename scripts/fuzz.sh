#!/usr/bin/env bash
# Runs every fuzz target for a while each, one after the other:
#   scripts/fuzz.sh [FUZZTIME] [WORKERS]    (default 3s, 2 workers)
# scripts/test.sh runs it with 3s as CI's smoke run; docs/reliability.md
# records the long runs (scripts/fuzz.sh 120s 1). A failing input is written
# to the package's testdata/fuzz/<FuzzName>/ and fails the run; commit it
# with the fix as the regression seed (plain go test runs it from then on).
#
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded"
# as the -fuzztime window closes on a loaded machine (golang/go#75804, fixed
# in Go 1.27): no input is written and nothing is wrong with the target.
# Such a run counts as a flake, not a failure, only when no failing input
# was written and the target's corpus then replays clean.
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
flaked=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
while read -r pkg name; do
	[ -n "$pkg" ] || continue
	start=$(date +%s)
	if go test -tags duckdb_arrow "./$pkg/" -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -parallel "$workers" >"$log" 2>&1; then
		passed=$((passed + 1))
		result=ok
	elif grep -q 'context deadline exceeded' "$log" && ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log" &&
		go test -tags duckdb_arrow "./$pkg/" -run "^$name\$" >/dev/null 2>&1; then
		flaked=$((flaked + 1))
		result="ok (fuzztime deadline flake, golang/go#75804; corpus replays clean)"
	else
		failed=$((failed + 1))
		result=FAIL
		status=1
		cat "$log"
	fi
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
	echo "fuzz: $result $pkg $name ${execs:-0} execs in $fuzztime ($(($(date +%s) - start))s with the build)"
done <<<"$targets"
echo "fuzz targets: $passed passed, $failed failed, $flaked deadline flakes"
exit "$status"
