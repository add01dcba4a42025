#!/usr/bin/env bash
# Simulation benchmark: native runner, our wasm build in headless Chromium, and the
# official rapier JS build in the same browser run. Writes docs/bench/sim.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
source scripts/env.sh
cargo build --release --locked --bin amf
trunk build --release
port=$((20000 + RANDOM % 20000))
node tests/e2e/serve-dist.mjs "$port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 1
mkdir -p docs/bench
node tests/e2e/bench.mjs "http://127.0.0.1:$port/" target/release/amf docs/bench/sim.json
