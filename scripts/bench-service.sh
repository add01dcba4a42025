#!/usr/bin/env bash
# The collection service under load, on loopback: 50 contributors uploading distinct
# recorded demonstrations to one and to two instances, on SQLite and on a throwaway
# PostgreSQL. Bounded (count and time); stops by itself. Prints one JSON report per
# configuration (`amf bench upload`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
uploads="${UPLOADS:-400}"
# PROFILE=debug measures the test build (optimised dependencies) instead of release.
profile="${PROFILE:-release}"
if [ "$profile" = release ]; then cargo build --locked --release --bin amf; else cargo build --locked --bin amf; fi
amf="target/$profile/amf"
export AMF_OPERATOR_TOKEN="bench-operator-token-$RANDOM$RANDOM"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
start() { # DB LOG: starts an instance, appends its address to `urls` (not in a
  # subshell: its pid must reach `pids`, or the instance outlives the benchmark)
  "$amf" serve --db "$1" --addr 127.0.0.1:0 --api-only --requests-per-minute 1000000 >"$2" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q 'http://' "$2" && break; sleep 0.1; done
  urls+=("$(grep -o 'http://[0-9.:]*' "$2" | head -n1)")
}
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
run() { # NAME DB INSTANCES FIRST_SEED
  local urls=()
  for i in $(seq "$3"); do start "$2" "$work/$1-$i.log"; done
  echo "== $1"
  "$amf" bench upload --url "$(IFS=,; echo "${urls[*]}")" --contributors 50 --uploads "$uploads" --first-seed "$4" --max-seconds 180
  stop_all
}
run sqlite-1 "sqlite://$work/crowd.db" 1 1000000
run sqlite-2 "sqlite://$work/crowd.db" 2 2000000
source scripts/postgres.sh
trap 'cleanup; postgres_stop' EXIT
run postgres-1 "$AMF_TEST_POSTGRES_URL" 1 3000000
run postgres-2 "$AMF_TEST_POSTGRES_URL" 2 4000000
