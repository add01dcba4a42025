#!/usr/bin/env bash
# Installs what is missing, then builds the page and serves it at http://127.0.0.1:8080/
# (rebuilding on every change). Pass --release for an optimised build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh serve
source scripts/env.sh
exec trunk serve "$@"
