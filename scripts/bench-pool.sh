#!/usr/bin/env bash
# The collection service at a crowd's scale. For each pool size (default 100 1000 10000
# 50000; SIZES="..." to choose) and each database (SQLite, and a throwaway PostgreSQL
# from scripts/postgres.sh; DATABASES="sqlite" for one), a pool of verified
# demonstrations filled by `amf bench pool` through the service's own database code,
# then `amf serve` on it: the time from its start to its first published version
# (trained on a sample of the pool), then, restarted as an operator would, the time
# from its start to its first assignment and assignments with 50 visitors asking at
# once (p50, p99); the peak memory (VmHWM) of each run. SQLite pools are kept in target/bench-pool/ (a larger
# pool tops a smaller one up). A benchmark: it reports, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
profile="${PROFILE:-release}"
# AMF=path measures another build (one taken before a change) against the same pools.
if [ -n "${AMF:-}" ]; then amf="$AMF"
elif [ "$profile" = release ]; then cargo build --locked --release --bin amf; amf="target/release/amf"
else cargo build --locked --bin amf; amf="target/$profile/amf"; fi
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

# start DB_URL: a fresh `amf serve` on the pool; sets pid, url and started.
start() {
  started=$(date +%s%3N)
  "$amf" serve --db "$1" --addr 127.0.0.1:0 --api-only --requests-per-minute 1000000 --leases-per-address 100000 --retrain-every 10 \
    --train-steps "${TRAIN_STEPS:-500}" >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q 'http://' "$work/serve.log" && break; sleep 0.1; done
  url=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -n1)
}

# stop: SIGTERM, and the peak memory (VmHWM, kB) it reached.
stop() {
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

# measure NAME DB_URL: one JSON line. First a service on the pool without a version
# trains one (the pool is more than K past none, so it starts with the service): the
# time to publish a version at this pool's size. Then it is restarted, as an operator
# would: its first assignment, and assignments with 50 visitors asking at once.
measure() {
  local version_ms=null peak_training peak_serving
  start "$2"
  for _ in $(seq 1800); do
    if curl -sf "$url/api/crowd" | grep -q '"versions":\[{'; then version_ms=$(( $(date +%s%3N) - started )); break; fi
    sleep 0.5
  done
  stop; peak_training=$peak
  start "$2"
  "$amf" bench crowd --url "$url" --visitors 50 --assignments 300 --assignments-only --service-started-ms "$started" >"$work/crowd.json"
  stop; peak_serving=$peak
  python3 - "$1" "$work/crowd.json" "$version_ms" "$peak_training" "$peak_serving" <<'PY'
import json, sys
name, crowd, version_ms = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
print(json.dumps({
    "pool": name,
    "first_version_after_start_s": None if version_ms == "null" else int(version_ms) / 1000,
    "peak_memory_training_mb": round(int(sys.argv[4]) / 1024, 1),
    "first_assignment_after_restart_ms": crowd["first_assignment_after_start_ms"],
    "first_assignment_ms": crowd["first_assignment_ms"],
    "assignment_p50_ms": crowd["assignment_p50_ms"],
    "assignment_p99_ms": crowd["assignment_p99_ms"],
    "assignment_batch_mean_size": crowd["assignment_batch_mean_size"],
    "peak_memory_serving_mb": round(int(sys.argv[5]) / 1024, 1),
}))
PY
}

for size in $sizes; do
  for database in $databases; do
    if [ "$database" = sqlite ]; then
      rm -f "$work"/service.db*
      # Filled once per size, a larger one from the largest smaller one; versions and
      # leases are set aside so every run starts from the same pool.
      pool="$pools/pool-$size.db"
      if [ ! -f "$pool" ]; then
        smaller=$(ls "$pools"/pool-*.db 2>/dev/null | sed 's/.*pool-\([0-9]*\).db/\1/' | awk -v n="$size" '$1 < n' | sort -n | tail -n1)
        if [ -n "$smaller" ]; then
          python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(TRUNCATE)")' "$pools/pool-$smaller.db"
          cp "$pools/pool-$smaller.db" "$pool"
        fi
        "$amf" bench pool --db "sqlite://$pool" --demonstrations "$size" >&2
      fi
      # Everything into the main file (a pool's last writes may sit in its WAL), then copied.
      python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(TRUNCATE)")' "$pool"
      cp "$pool" "$work/service.db"
      measure "sqlite-$size" "sqlite://$work/service.db"
    else
      psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -c 'DELETE FROM policy_versions' -c 'DELETE FROM leases' amf_test >/dev/null 2>&1 || true
      "$amf" bench pool --db "$AMF_TEST_POSTGRES_URL" --demonstrations "$size" >&2
      measure "postgres-$size" "$AMF_TEST_POSTGRES_URL"
    fi
  done
done
