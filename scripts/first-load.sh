#!/usr/bin/env bash
# What a visitor downloads, gzipped (level 9), from a built page folder (default dist):
# every file, marked "first" when the first screen loads it (the page, its script and
# module, the style sheet, the pre-trained policy) or "on demand" (the workers: WebGPU
# training, the LeRobot export); then the first load's total. Used by scripts/bench.sh.
set -euo pipefail
dist="${1:-dist}"
total=0
printf '%-44s %-10s %12s %12s\n' file loaded bytes gzipped
for f in "$dist"/*; do
  name=$(basename "$f")
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  case "$name" in
    amf-gpu-worker*|amf-export-worker*) when="on demand" ;;
    *) when=first; total=$((total + gz)) ;;
  esac
  printf '%-44s %-10s %12d %12d\n' "$name" "$when" "$raw" "$gz"
done
awk -v t="$total" 'BEGIN { printf "first load, gzipped: %d bytes (%.2f MB)\n", t, t / 1e6 }'
