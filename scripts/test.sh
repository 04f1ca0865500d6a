#!/usr/bin/env bash
# `npm test`: the whole suite against real PostgreSQL, Redis and Kafka.
# Starts throwaway servers on loopback (installing them when missing), runs
# every test file, stops the servers, and ends with `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."

services=scripts/services/services.sh
# Logs of this run only: several runs (other checkouts, other ports) may share the machine.
logs="$(mktemp -d "${TMPDIR:-/tmp}/storefront-test.XXXXXX")"
trap 'rm -rf "$logs"' EXIT
bash "$services" start >"$logs/services-start.log" 2>&1 || {
  cat "$logs/services-start.log"
  echo "Could not start the test services (above)."
  echo "0 passed, 1 failed"
  exit 1
}
set -a
# shellcheck disable=SC1090
source <(bash "$services" env)
set +a
export TEST_DATABASE_URL="$DATABASE_URL"
unset DATABASE_URL # each test file creates its own database from TEST_DATABASE_URL

npx tsx scripts/run-tests.ts "$@" > >(tee "$logs/output.log") 2>&1
status=$?
wait

bash "$services" stop >/dev/null 2>&1 || true
# The totals line must be the last line of the output.
tail -n 1 "$logs/output.log" | grep -Eq '^[0-9]+ passed, [0-9]+ failed' || echo "0 passed, 1 failed"
exit $status
