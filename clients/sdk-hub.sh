#!/usr/bin/env bash
# Starts, kills and stops the hub process of the SDK test run (clients/sdk-tests.sh), so that a test can kill the
# hub the way a crash would and start it again, on the same ports and the same SQLite data folder.
#
#   sdk-hub.sh start   starts the hub in the background and returns once both ports accept connections
#   sdk-hub.sh kill    SIGKILL (no graceful stop: nothing gets flushed or drained) and waits until it is gone
#   sdk-hub.sh stop    SIGTERM, then SIGKILL when it has not ended within 20 seconds
#   sdk-hub.sh run ARG...   runs the server in the foreground with ARG... first (`run admin add-member NAME`)
#
# Configured by the variables sdk-tests.sh exports: HASHHUB_HUB_DLL (the server build), HASHHUB_HUB_DIR (a folder
# holding the database, the signing keys, the pid file and the log), HASHHUB_HUB_GRPC_PORT, HASHHUB_HUB_HTTP_PORT.
# The signing keys stay in the folder, so tokens issued before a restart stay valid after it.
#
# The hub inherits none of the caller's output, so that a test that runs this script waits for nothing but the
# script; the pid file is written as soon as the process exists, so that
# sdk-tests.sh's exit trap stops a hub started by a test too, whatever the test did afterwards.
set -uo pipefail
dll=${HASHHUB_HUB_DLL:?run through clients/sdk-tests.sh}
dir=${HASHHUB_HUB_DIR:?run through clients/sdk-tests.sh}
grpc_port=${HASHHUB_HUB_GRPC_PORT:?run through clients/sdk-tests.sh}
http_port=${HASHHUB_HUB_HTTP_PORT:?run through clients/sdk-tests.sh}
pid_file="$dir/hub.pid"
log="$dir/hub.log"

# The pid in the pid file when that process is still this hub (not gone, not a zombie, not a reused pid).
running_pid() {
  local pid state
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  [ -n "$pid" ] || return 1
  state=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  case "$state" in Z*) return 1 ;; esac
  # Before its exec the hub's process is still this script's subshell.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -e "$dll" -e sdk-hub.sh || return 1
  echo "$pid"
}

# Waits (up to $1 tenths of a second) until the hub's process is gone; a zombie counts as gone: it holds no port.
wait_gone() {
  for _ in $(seq 1 "$1"); do
    running_pid >/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# The server with the run's settings after the given arguments. It reads appsettings.json from its working
# directory, as when an operator runs it from its folder.
server() {
  cd "$(dirname "$dll")" && exec env Logging__LogLevel__Default=Warning dotnet "$dll" "$@" \
    "--Storage:Provider=Sqlite" "--Storage:DataDirectory=$dir/db" "--Auth:KeyDirectory=$dir/keys" \
    "--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:$grpc_port" "--Kestrel:Endpoints:Grpc:Protocols=Http2" \
    "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:$http_port" "--Kestrel:Endpoints:Http:Protocols=Http1"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if pid=$(running_pid); then
    echo "sdk-hub: the hub is already running (pid $pid)" >&2
    return 1
  fi
  mkdir -p "$dir"
  echo "--- hub start $(date -u +%H:%M:%S.%N) ---" >>"$log"
  (server) </dev/null >>"$log" 2>&1 &
  local pid=$!
  echo "$pid" >"$pid_file"
  # Ready when both ports accept connections (a busy machine may take a while: up to two minutes).
  for _ in $(seq 1 600); do
    if port_open "$http_port" && port_open "$grpc_port"; then
      return 0
    fi
    running_pid >/dev/null || break
    sleep 0.2
  done
  tail -50 "$log" >&2
  echo "sdk-hub: the hub did not start (the end of its log is above)" >&2
  stop
  return 1
}

kill_hub() {
  local pid
  pid=$(running_pid) || { echo "sdk-hub: no hub is running" >&2; return 1; }
  kill -KILL "$pid" 2>/dev/null
  wait_gone 300 || { echo "sdk-hub: the hub (pid $pid) outlived SIGKILL" >&2; return 1; }
  rm -f "$pid_file"
  echo "--- hub killed (SIGKILL) $(date -u +%H:%M:%S.%N) ---" >>"$log"
}

stop() {
  local pid
  pid=$(running_pid) || { rm -f "$pid_file"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  if ! wait_gone 200; then
    kill -KILL "$pid" 2>/dev/null
    wait_gone 100
  fi
  rm -f "$pid_file"
}

case "${1:-}" in
  start) start ;;
  kill) kill_hub ;;
  stop) stop ;;
  run) shift; mkdir -p "$dir"; server "$@" ;;
  *) echo "usage: $0 start|kill|stop|run ARG..." >&2; exit 2 ;;
esac
