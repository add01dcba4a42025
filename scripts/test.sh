#!/usr/bin/env bash
# Installs what is missing, then runs every test: native unit and scenario tests, the
# replay tests in headless Chromium and Firefox, and the page's end-to-end test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
source scripts/env.sh
# Each stage's line carries the minutes since the start, so a run's log says where its time went.
say() { printf '\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

say "native tests (the collection service's against SQLite and a throwaway PostgreSQL)"
source scripts/postgres.sh
trap postgres_stop EXIT
export AMF_REQUIRE_POSTGRES=1
cargo test --locked --features hdf5
postgres_stop
trap - EXIT

say "dataset exports read back by the reference readers (pyarrow, pandas, h5py)"
exports=$(mktemp -d)
# The binary the native tests built: `cargo run` here would rebuild every crate whose
# features the test-only dependencies unify differently (minutes of a cold run).
amf() { target/debug/amf "$@"; }
amf collect --episodes 2 --noise 0.05 --out "$exports/demos.json"
amf convert "$exports/demos.json" --to lerobot --out "$exports/lerobot"
amf convert "$exports/demos.json" --to robomimic --out "$exports/demos.hdf5"
.venv-readers/bin/python tests/readers/check_exports.py "$exports/demos.json" --lerobot "$exports/lerobot" --robomimic "$exports/demos.hdf5"
# A dataset that grows: more episodes appended after the first export, its first
# data file left as it was, the whole read back as one.
amf collect --episodes 1 --noise 0.08 --tasks push,window_open,reach --out "$exports/more.json"
before=$(sha256sum "$exports/lerobot/data/chunk-000/file-000.parquet")
amf convert "$exports/more.json" --to lerobot --out "$exports/lerobot" --append
[ "$(sha256sum "$exports/lerobot/data/chunk-000/file-000.parquet")" = "$before" ] || { echo "appending rewrote the first data file" >&2; exit 1; }
.venv-readers/bin/python tests/readers/check_exports.py "$exports/demos.json" "$exports/more.json" --lerobot "$exports/lerobot"
rm -rf "$exports"

say "browser tests (wasm-bindgen-test): headless Chromium"
# With the benchmark page's feature, so that it compiles here and the page's build
# below reuses this one (the page as shipped leaves it out).
CHROMEDRIVER=$(command -v chromedriver) cargo test --locked --target wasm32-unknown-unknown --features bench-page --test browser_replay_matches_native --test browser_policy --test browser_storage --test browser_worker_messages
say "browser tests of the WebGPU backend (SwiftShader): headless Chromium"
CHROMEDRIVER=$(command -v chromedriver) WASM_BINDGEN_TEST_TIMEOUT=600 cargo test --locked --target wasm32-unknown-unknown --features webgpu --test browser_webgpu
say "browser tests (wasm-bindgen-test): headless Firefox"
GECKODRIVER=$(command -v geckodriver) cargo test --locked --target wasm32-unknown-unknown --features bench-page --test browser_replay_matches_native --test browser_policy --test browser_storage --test browser_worker_messages

say "the page's module links no network (burn is in the workers' modules only)"
cargo build --locked --target wasm32-unknown-unknown --bin amf-web
if scripts/module-sizes.py target/wasm32-unknown-unknown/debug/amf-web.wasm 1000 | grep -E ' burn|cubecl|gemm'; then
  echo "the page's module links the network's crates (above); a policy acts only in a worker" >&2
  exit 1
fi

say "building the page (as scripts/serve.sh serves it, plus the benchmark page's feature; reuses the wasm test build)"
trunk build --features bench-page

say "end-to-end test of the page (Playwright, headless Chromium)"
port=$((20000 + RANDOM % 20000))
node tests/e2e/serve-dist.mjs "$port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 1
node tests/e2e/page.mjs "http://127.0.0.1:$port/"
say "end-to-end test of the teaching loop (Playwright, headless Chromium)"
node tests/e2e/teach.mjs "http://127.0.0.1:$port/"
say "end-to-end test of crowdsourced collection (two visitors, a service outage, a reload)"
node tests/e2e/crowd.mjs target/debug/amf dist
say "end-to-end test on an emulated phone (touch, layouts, consent, a demonstration by touch uploaded)"
node tests/e2e/phone.mjs target/debug/amf dist
say "fuzzing the demonstration file's import for 60 s (cargo fuzz, libFuzzer)"
# The machine's one toolchain is stable; RUSTC_BOOTSTRAP lets it take cargo-fuzz's
# instrumentation flags. Rust code needs no address sanitizer to find panics. A dev
# build (--dev): an instrumented release build of the whole core took many minutes of
# the test run's hour, and unoptimised it still runs some 600 inputs a second.
mkdir -p fuzz/corpus/import
(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --dev --sanitizer none import corpus/import seeds/import -- -max_total_time=60 -max_len=262144)
say "all tests passed"
