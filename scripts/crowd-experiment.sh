#!/usr/bin/env bash
# The crowd experiment: V simulated visitors (`amf crowd run`) against a fresh service
# per run, on loopback, for each arm and seed: crowd AMF (conditioned on the leases in
# flight), AMF that ignores them (each visitor assigned as if alone), uniform
# assignment, and sequential AMF (one visitor at a time, the same number of
# demonstrations). Writes one JSON per run under OUT (default docs/results/crowd) and prints
# the report (`amf crowd report`). Bounded: SEEDS x ARMS runs, each until BUDGET
# demonstrations. SERVE_FLAGS go to every service (the ablation in
# docs/results/crowd-arrivals-in-flight: SERVE_FLAGS=--arrivals-in-flight
# OUT=docs/results/crowd-arrivals-in-flight ARMS="amf amf-ignoring-pending amf-one-visitor").
# CROWD_FLAGS go to every `amf crowd run` (visitors who are people: CROWD_FLAGS="--demonstrator crowd").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
seeds="${SEEDS:-10}"
budget="${BUDGET:-40}"
visitors="${VISITORS:-8}"
out="${OUT:-docs/results/crowd}"
arms="${ARMS:-amf amf-ignoring-pending uniform amf-one-visitor}"
profile="${PROFILE:-release}"
if [ "$profile" = release ]; then cargo build --locked --release --bin amf; else cargo build --locked --bin amf; fi
amf="target/$profile/amf"
export AMF_OPERATOR_TOKEN="crowd-experiment-operator-$RANDOM$RANDOM"
mkdir -p "$out"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for seed in $(seq "$seeds"); do
  for arm in $arms; do
    # A run already written is kept (the experiment resumes where it stopped).
    [ -s "$out/$arm-$seed.json" ] && continue
    crowd="$visitors"
    case "$arm" in
      amf) flags=() ;;
      amf-ignoring-pending) flags=(--ignore-pending) ;;
      uniform) flags=(--selector uniform) ;;
      amf-one-visitor) flags=(); crowd=1 ;;
      *) echo "unknown arm $arm" >&2; exit 2 ;;
    esac
    rm -f "$work"/crowd.db*
    "$amf" serve --db "sqlite://$work/crowd.db" --addr 127.0.0.1:0 --api-only --requests-per-minute 1000000 --leases-per-address 100000 \
      --retrain-every 10 "${flags[@]}" ${SERVE_FLAGS:-} >"$work/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do grep -q 'http://' "$work/serve.log" && break; sleep 0.1; done
    url=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -n1)
    if ! "$amf" crowd run --url "$url" --arm "$arm" --seed "$seed" --visitors "$crowd" --budget "$budget" ${CROWD_FLAGS:-} --out "$out/$arm-$seed.json"; then
      echo "the run $arm seed $seed failed; the service said:" >&2
      cat "$work/serve.log" >&2
      exit 1
    fi
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""
  done
done
"$amf" crowd report "$out"/*.json | tee "$out/report.md"
