#!/usr/bin/env bash
# Runs the Python and TypeScript SDK test suites against a real hub process.
#
# Uses the server build that the .NET build made before (src/HashHub.Server/bin/Release/net10.0; another
# configuration with CONFIGURATION=Debug) and builds nothing of the server. It generates the Python modules and
# compiles the TypeScript SDK (needs clients/typescript/node_modules: `npm ci` there), starts a hub on free
# loopback ports with SQLite in a temporary data folder, registers two members with `admin add-member`, runs
# both suites with the hub's address and the credentials in the environment, and always stops the hub.
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
hub_pid=""
stop_hub() {
  if [ -n "$hub_pid" ]; then
    kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
    hub_pid=""
  fi
  rm -rf "$data"
}
trap stop_hub EXIT
trap 'exit 130' INT TERM

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
grpc_port=$(free_port)
http_port=$(free_port)
while [ "$http_port" = "$grpc_port" ]; do http_port=$(free_port); done
settings=(
  "--Storage:Provider=Sqlite" "--Storage:DataDirectory=$data/db" "--Auth:KeyDirectory=$data/keys"
  "--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:$grpc_port" "--Kestrel:Endpoints:Grpc:Protocols=Http2"
  "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:$http_port" "--Kestrel:Endpoints:Http:Protocols=Http1"
)
# The server reads appsettings.json from its working directory, as when an operator runs it from its folder.
# exec: the subshell becomes the server process, so that $! below is the hub itself and stopping it stops it.
hub() { (cd "$(dirname "$server")" && exec env Logging__LogLevel__Default=Warning dotnet "$server" "$@" "${settings[@]}"); }

# `admin add-member` prints "client_id:     hh_..." and "client_secret: ..." lines.
credential() { sed -nE "s/^$1: *(.+)$/\1/p"; }
member_a=$(hub admin add-member "SDK Member A" --no-probation) || fail "admin add-member failed"
member_b=$(hub admin add-member "SDK Member B" --no-probation) || fail "admin add-member failed"

(cd "$(dirname "$server")" && exec env Logging__LogLevel__Default=Warning dotnet "$server" "${settings[@]}") \
  >"$data/hub.log" 2>&1 &
hub_pid=$!
# Ready when both ports accept connections (a busy machine may take a while: up to two minutes).
ready=""
for _ in $(seq 1 240); do
  if "$python" - "$http_port" "$grpc_port" <<'PY' 2>/dev/null; then ready=1; break; fi
import socket, sys
for port in sys.argv[1:]:
    socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
PY
  if ! kill -0 "$hub_pid" 2>/dev/null; then
    break
  fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  cat "$data/hub.log" >&2
  fail "the hub did not start (its log is above)"
fi

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
rm -f "$log"

if [ "$py_status" -ne 0 ] || [ "$ts_status" -ne 0 ]; then
  status=1
  if [ -s "$data/hub.log" ]; then echo "--- hub log ---" >&2; tail -50 "$data/hub.log" >&2; fi
fi
echo "python: $py_passed passed, $py_bad failed"
echo "typescript: $ts_passed passed, $ts_failed failed"
exit "$status"
