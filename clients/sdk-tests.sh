#!/usr/bin/env bash
# Runs the Python and TypeScript SDK test suites against a real hub process.
#
# Uses the server build that the .NET build made before (src/HashHub.Server/bin/Release/net10.0; another
# configuration with CONFIGURATION=Debug) and builds nothing of the server. It generates the Python modules and
# compiles the TypeScript SDK (needs clients/typescript/node_modules: `npm ci` there), starts a hub on free
# loopback ports with SQLite in a temporary data folder (through clients/sdk-hub.sh, which the suites' hub
# restart tests also use to kill the hub and start it again), registers two members with `admin add-member`,
# runs both suites with the hub's address and the credentials in the environment, and always stops the hub.
#
# Prints one line per suite, "python: N passed, N failed" and "typescript: N passed, N failed", for test.sh to
# sum; exits non-zero when a suite failed or could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-/usr/bin/python3}
server="$root/src/HashHub.Server/bin/${CONFIGURATION:-Release}/net10.0/HashHub.Server.dll"
# A failure before the suites ran counts as one failed test of each, so that test.sh's total shows it.
fail() {
  echo "sdk-tests: $1" >&2
  echo "python: 0 passed, 1 failed"
  echo "typescript: 0 passed, 1 failed"
  exit 1
}
[ -f "$server" ] || fail "$server is missing: build the server first (dotnet build HashHub.sln -c Release)"

data=$(mktemp -d "${TMPDIR:-/tmp}/hashhub-sdk-XXXXXX")
# clients/sdk-hub.sh starts, kills and stops the hub with these settings; the suites use it too, to kill the hub
# (SIGKILL) and start it again on the same ports and data folder (the tests of a hub restart).
export HASHHUB_HUB_CONTROL="$root/clients/sdk-hub.sh" HASHHUB_HUB_DLL="$server" HASHHUB_HUB_DIR="$data"
# Always stops the hub, also one a test started (the pid file names the current one), and removes the data.
log=""
finish() {
  "$HASHHUB_HUB_CONTROL" stop
  rm -rf "$data" ${log:+"$log"}
}
trap finish EXIT
trap 'exit 130' INT TERM

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
HASHHUB_HUB_GRPC_PORT=$(free_port)
HASHHUB_HUB_HTTP_PORT=$(free_port)
while [ "$HASHHUB_HUB_HTTP_PORT" = "$HASHHUB_HUB_GRPC_PORT" ]; do HASHHUB_HUB_HTTP_PORT=$(free_port); done
export HASHHUB_HUB_GRPC_PORT HASHHUB_HUB_HTTP_PORT
grpc_port=$HASHHUB_HUB_GRPC_PORT http_port=$HASHHUB_HUB_HTTP_PORT

# `admin add-member` prints "client_id:     hh_..." and "client_secret: ..." lines.
credential() { sed -nE "s/^$1: *(.+)$/\1/p"; }
member_a=$("$HASHHUB_HUB_CONTROL" run admin add-member "SDK Member A" --no-probation) || fail "admin add-member failed"
member_b=$("$HASHHUB_HUB_CONTROL" run admin add-member "SDK Member B" --no-probation) || fail "admin add-member failed"

"$HASHHUB_HUB_CONTROL" start || fail "the hub did not start (the end of its log is above)"

export HASHHUB_ADDRESS="127.0.0.1:$grpc_port"
export HASHHUB_TOKEN_URL="http://127.0.0.1:$http_port/connect/token"
export HASHHUB_A_NAME="SDK Member A" HASHHUB_B_NAME="SDK Member B"
HASHHUB_A_CLIENT_ID=$(credential client_id <<<"$member_a")
HASHHUB_A_CLIENT_SECRET=$(credential client_secret <<<"$member_a")
HASHHUB_B_CLIENT_ID=$(credential client_id <<<"$member_b")
HASHHUB_B_CLIENT_SECRET=$(credential client_secret <<<"$member_b")
export HASHHUB_A_CLIENT_ID HASHHUB_A_CLIENT_SECRET HASHHUB_B_CLIENT_ID HASHHUB_B_CLIENT_SECRET

status=0
log=$(mktemp)

# Python: unittest prints "Ran N tests" and then "OK" or "FAILED (failures=F, errors=E)".
(cd clients/python && "$python" generate.py >/dev/null && "$python" -m unittest discover -s tests -t . -v) 2>&1 | tee "$log"
py_status=${PIPESTATUS[0]}
py_ran=$(sed -nE 's/^Ran ([0-9]+) tests?.*/\1/p' "$log" | tail -1)
py_bad=$(sed -nE 's/^FAILED \((.*)\)$/\1/p' "$log" | tail -1 | grep -oE '(failures|errors)=[0-9]+' | cut -d= -f2 | awk '{s += $1} END {print s + 0}')
py_ran=${py_ran:-0}; py_bad=${py_bad:-0}
if [ "$py_status" -ne 0 ] && [ "$py_bad" -eq 0 ]; then py_bad=1; fi
py_passed=$((py_ran - py_bad)); [ "$py_passed" -lt 0 ] && py_passed=0

# TypeScript: node's test runner ends with "# pass N" and "# fail N".
(cd clients/typescript && npm run --silent build && node --test --test-reporter=tap dist/test/) 2>&1 | tee "$log"
ts_status=${PIPESTATUS[0]}
ts_passed=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$log" | tail -1)
ts_failed=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$log" | tail -1)
ts_passed=${ts_passed:-0}; ts_failed=${ts_failed:-0}
if [ "$ts_status" -ne 0 ] && [ "$ts_failed" -eq 0 ]; then ts_failed=1; fi

if [ "$py_status" -ne 0 ] || [ "$ts_status" -ne 0 ]; then
  status=1
  if [ -s "$data/hub.log" ]; then echo "--- hub log ---" >&2; tail -80 "$data/hub.log" >&2; fi
fi
echo "python: $py_passed passed, $py_bad failed"
echo "typescript: $ts_passed passed, $ts_failed failed"
exit "$status"
