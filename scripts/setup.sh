#!/usr/bin/env bash
# Installs whatever this machine lacks to build the page (`setup.sh serve`) or also to run
# every test (`setup.sh test`). Idempotent: installed tools at the right versions are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-serve}"

TRUNK_VERSION=0.21.14
GECKODRIVER_VERSION=0.37.1
CARGO_FUZZ_VERSION=0.13.2
# The CLI must match the wasm-bindgen crate that Cargo.lock pins.
WASM_BINDGEN_VERSION=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')

# Each stage's line carries the minutes since the start, so a run's log says where its time went.
say() { printf '\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
# Tools are built without link-time optimisation and in parallel codegen units: trunk's
# own release profile (fat LTO, one unit) took most of a fresh machine's install, and
# these tools' speed is not what the build waits on.
install_tool() { CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install "$@"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# trunk builds offline (Trunk.toml), so every crate of Cargo.lock must be here first.
cargo fetch --locked --quiet

if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes)"
  # Not --locked: one of its locked dependency versions is not on the registry.
  install_tool wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  say "installing trunk $TRUNK_VERSION (a few minutes)"
  # --locked: without it trunk 0.21.14 does not compile; 0.22 needs a newer rustc.
  install_tool trunk --version "$TRUNK_VERSION" --locked
fi

if ! command -v npm >/dev/null; then
  say "installing Node.js and npm"
  apt_install nodejs npm
fi
if [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (wasm-opt, playwright-core, the rapier JS build)"
  npm ci --no-audit --no-fund
fi

if [ "$purpose" = test ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v firefox-esr >/dev/null || command -v firefox >/dev/null || missing+=(firefox-esr)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt_install "${missing[@]}"
  fi
  # The collection service's tests run against a real PostgreSQL (a throwaway cluster).
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    say "installing PostgreSQL"
    apt_install postgresql
  fi
  # robomimic's HDF5 export links the HDF5 C library (the runner's `hdf5` feature).
  if ! pkg-config --exists hdf5 2>/dev/null; then
    say "installing the HDF5 library"
    apt_install libhdf5-dev pkg-config
  fi
  # The reference readers that the export test reads LeRobot and robomimic files with.
  if [ ! -x .venv-readers/bin/python ] || [ tests/readers/requirements.txt -nt .venv-readers/installed ]; then
    say "installing pyarrow, pandas and h5py (a virtual environment, .venv-readers)"
    python3 -m venv .venv-readers
    .venv-readers/bin/pip install --quiet --disable-pip-version-check -r tests/readers/requirements.txt
    touch .venv-readers/installed
  fi
  if [ "$(cargo fuzz --version 2>/dev/null | cut -d' ' -f2)" != "$CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    install_tool cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
  if [ "$(geckodriver --version 2>/dev/null | head -n1 | cut -d' ' -f2)" != "$GECKODRIVER_VERSION" ]; then
    say "installing geckodriver $GECKODRIVER_VERSION"
    install_tool geckodriver --version "$GECKODRIVER_VERSION"
  fi
fi
