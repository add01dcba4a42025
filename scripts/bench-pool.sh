#!/usr/bin/env bash
# The collection service at a crowd's scale. For each pool size (default 100 1000 10000
# 50000; SIZES="..." to choose) and each database (SQLite, and a throwaway PostgreSQL
# from scripts/postgres.sh; DATABASES="sqlite" for one), a pool of verified
# demonstrations filled by `amf bench pool` through the service's own database code,
# then a fresh `amf serve` on it, as after a restart: the time from its start to its
# first assignment, assignments with 50 visitors asking at once (p50, p99), the time
# from its start to its first published version (trained on a sample of the pool),
# and its peak memory (VmHWM). SQLite pools are kept in target/bench-pool/ (a larger
# pool tops a smaller one up). A benchmark: it reports, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
profile="${PROFILE:-release}"
if [ "$profile" = release ]; then cargo build --locked --release --bin amf; else cargo build --locked --bin amf; fi
amf="target/$profile/amf"
sizes="${SIZES:-100 1000 10000 50000}"
databases="${DATABASES:-sqlite postgres}"
pools="target/bench-pool"
mkdir -p "$pools"
work=$(mktemp -d)
pid=""
pg_started=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; [ -n "$pg_started" ] && postgres_stop; true; }
trap cleanup EXIT
if [[ " $databases " == *" postgres "* ]]; then source scripts/postgres.sh; pg_started=1; fi

# measure NAME DB_URL: a service on the pool, as after a restart; one JSON line.
measure() {
  local started version_ms=null peak
  started=$(date +%s%3N)
  "$amf" serve --db "$2" --addr 127.0.0.1:0 --api-only --requests-per-minute 1000000 --retrain-every 10 \
    --train-steps "${TRAIN_STEPS:-500}" >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q 'http://' "$work/serve.log" && break; sleep 0.1; done
  local url
  url=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -n1)
  "$amf" bench crowd --url "$url" --visitors 50 --assignments 300 --assignments-only --service-started-ms "$started" >"$work/crowd.json"
  # The first version: the pool is more than K demonstrations past none, so training
  # starts with the service.
  for _ in $(seq 1800); do
    if curl -sf "$url/api/crowd" | grep -q '"versions":\[{'; then version_ms=$(( $(date +%s%3N) - started )); break; fi
    sleep 0.5
  done
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  python3 - "$1" "$work/crowd.json" "$version_ms" "$peak" <<'PY'
import json, sys
name, crowd, version_ms, peak_kb = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], int(sys.argv[4])
print(json.dumps({
    "pool": name,
    "first_assignment_after_start_ms": crowd["first_assignment_after_start_ms"],
    "first_assignment_ms": crowd["first_assignment_ms"],
    "assignment_p50_ms": crowd["assignment_p50_ms"],
    "assignment_p99_ms": crowd["assignment_p99_ms"],
    "assignment_batch_mean_size": crowd["assignment_batch_mean_size"],
    "first_version_after_start_s": None if version_ms == "null" else int(version_ms) / 1000,
    "peak_memory_mb": round(peak_kb / 1024, 1),
}))
PY
}

for size in $sizes; do
  for database in $databases; do
    if [ "$database" = sqlite ]; then
      # Filled once per size, a larger one from the largest smaller one; versions and
      # leases are set aside so every run starts from the same pool.
      pool="$pools/pool-$size.db"
      if [ ! -f "$pool" ]; then
        smaller=$(ls "$pools"/pool-*.db 2>/dev/null | sed 's/.*pool-\([0-9]*\).db/\1/' | awk -v n="$size" '$1 < n' | sort -n | tail -n1)
        [ -n "$smaller" ] && cp "$pools/pool-$smaller.db" "$pool"
        "$amf" bench pool --db "sqlite://$pool" --demonstrations "$size" >&2
      fi
      cp "$pool" "$work/service.db"
      measure "sqlite-$size" "sqlite://$work/service.db"
    else
      psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c 'DELETE FROM policy_versions; DELETE FROM leases' amf_test >/dev/null 2>&1 || true
      "$amf" bench pool --db "$AMF_TEST_POSTGRES_URL" --demonstrations "$size" >&2
      measure "postgres-$size" "$AMF_TEST_POSTGRES_URL"
    fi
  done
done
