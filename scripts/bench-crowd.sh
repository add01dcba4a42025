#!/usr/bin/env bash
# The crowd's figures, on loopback: a fresh service (SQLite; the shared policy retrained
# after K = 60 demonstrations), then `amf bench crowd`: 50 visitors asking for
# assignments at once, uploads with and without the shared policy training, and the time
# from the K-th demonstration to the published version. Bounded; stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
profile="${PROFILE:-release}"
if [ "$profile" = release ]; then cargo build --locked --release --bin amf; else cargo build --locked --bin amf; fi
amf="target/$profile/amf"
export AMF_OPERATOR_TOKEN="bench-crowd-operator-$RANDOM$RANDOM"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$amf" serve --db "sqlite://$work/crowd.db" --addr 127.0.0.1:0 --api-only --requests-per-minute 1000000 --leases-per-address 100000 --retrain-every 60 \
  --train-steps "${TRAIN_STEPS:-1000}" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'http://' "$work/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -n1)
"$amf" bench crowd --url "$url" --visitors 50 --assignments 300 --retrain-every 60
