#!/usr/bin/env bash
# Installs what is missing, builds the page, and runs the collection service with it at
# http://127.0.0.1:8080/: the page with the crowd features, demonstrations pooled in an
# SQLite file (amf-studio.db). Pass --release for optimised builds, --static to serve
# the page alone (local-only mode, rebuilding on every change, as `trunk serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh serve
source scripts/env.sh
release=()
static=0
for arg in "$@"; do
  case "$arg" in
    --release) release=(--release) ;;
    --static) static=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
if [ "$static" = 1 ]; then
  exec trunk serve "${release[@]}"
fi
trunk build "${release[@]}"
# Gzipped copies beside the page's files, which the service sends to browsers that take
# gzip (the modules shrink to a third).
find dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.amfp' -o -name '*.amfa' -o -name '*.openings.json' \) -exec gzip -9 -k -f {} +
cargo build --locked "${release[@]}" --bin amf
profile=debug; [ ${#release[@]} -gt 0 ] && profile=release
exec "target/$profile/amf" serve --db "${AMF_DATABASE_URL:-sqlite://amf-studio.db}" --addr 127.0.0.1:8080 --dist dist
