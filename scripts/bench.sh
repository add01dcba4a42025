#!/usr/bin/env bash
# Benchmarks: simulation, fine-tuning (the round now and as it was, 1000 steps) and
# selection natively and in headless Chromium, the page's frame rate while it trains,
# its download by file and by crate, its cold load (first screen, first proposal),
# with the official rapier JS build as the simulation's peer (docs/bench/sim.json), and
# TensorFlow.js training the same network on the same rows as the training peer
# (docs/bench/tfjs.json). The WebGPU peer runs on software WebGPU here: a few steps.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
source scripts/env.sh
cargo build --release --locked --features ndarray --bin amf
# First load: the page as it ships (no benchmark features), by file.
trunk build --release --dist target/dist-shipped
mkdir -p docs/bench
scripts/first-load.sh target/dist-shipped | tee docs/bench/first-load.txt
# What each crate costs in the page's module and in the training worker's.
wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown"
for module in "$wasm/page/amf-web.wasm" "$wasm/release/amf-worker.wasm"; do
  scripts/module-sizes.py "$module" 20
done | tee docs/bench/module-crates.txt
# The benchmark page runs the training and selection benchmarks in its own module, so it
# is built at the workers' optimisation level (the shipped page's module is built for
# size); load times and frame rates are taken on the page as shipped.
# (Its own target folder: the changed profile would otherwise rebuild the shipped page's
# dependencies both ways on every run.)
CARGO_TARGET_DIR=target/bench CARGO_PROFILE_PAGE_OPT_LEVEL=3 trunk build --release --features webgpu,ndarray,bench-page
port=$((20000 + RANDOM % 20000))
node tests/e2e/serve-dist.mjs "$port" &
server=$!
node tests/e2e/serve-dist.mjs "$((port + 1))" target/dist-shipped --gzip &
shipped=$!
# The same page without its shipped first proposals: the start waits for the training
# worker, as every start did before them (the load's baseline, measured in the same run).
rm -rf target/dist-no-openings
cp -r target/dist-shipped target/dist-no-openings
rm target/dist-no-openings/policy.openings.json*
node tests/e2e/serve-dist.mjs "$((port + 2))" target/dist-no-openings --gzip &
baseline=$!
trap 'kill $server $shipped $baseline 2>/dev/null || true' EXIT
sleep 1
mkdir -p docs/bench
node tests/e2e/bench.mjs "http://127.0.0.1:$port/" target/release/amf docs/bench/sim.json "http://127.0.0.1:$((port + 1))/"
# The page's cold load as shipped, unthrottled and on a 10 Mbit/s link, then without the
# shipped first proposals.
node tests/e2e/load.mjs "http://127.0.0.1:$((port + 1))/" docs/bench/load.json 0 10
node tests/e2e/load.mjs "http://127.0.0.1:$((port + 2))/" docs/bench/load-without-openings.json 0 10
# The training peer: TensorFlow.js on the same rows, each of its backends.
target/release/amf bench train --dump-data target/bc_data.json > /dev/null
TFJS_WEBGPU_STEPS=${TFJS_WEBGPU_STEPS:-50} node tests/e2e/tfjs_peer.mjs "http://127.0.0.1:$port/" target/bc_data.json 1000 docs/bench/tfjs.json
