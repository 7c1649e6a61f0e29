#!/usr/bin/env bash
# Runs every test of HashHub on a fresh machine: installs what the tests need (PostgreSQL, whose server the
# tests start themselves on a free loopback port; Debian's chromium, which the admin console's browser tests
# drive through Playwright), builds, runs all test projects, and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

have_initdb() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if ! have_initdb; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing PostgreSQL (the tests start a throwaway server)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is missing: run 'sudo apt-get install postgresql' and try again." >&2
    exit 1
  fi
fi

# The browser tests use Debian's chromium (never a browser downloaded by Playwright); HASHHUB_CHROMIUM points
# them at another build. Without one they fail, they do not skip.
if [ -z "${HASHHUB_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing chromium (the admin console's browser tests drive it)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: run 'sudo apt-get install chromium' and try again." >&2
    exit 1
  fi
fi

log=$(mktemp)
dotnet test HashHub.sln -c Release --logger "console;verbosity=minimal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Sum the per-project summaries, e.g. "Passed!  - Failed:     0, Passed:    54, Skipped:     0, Total: ..."
read -r passed failed < <(grep -E '^(Passed|Failed)! +- Failed:' "$log" \
  | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+).*/\2 \1/' \
  | awk '{p+=$1; f+=$2} END {print p+0, f+0}')
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the build or the test host failed before any test could report
fi
echo "$passed passed, $failed failed"
exit "$status"
