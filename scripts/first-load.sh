#!/usr/bin/env bash
# What a visitor downloads, gzipped (level 9), from a built page folder (default dist),
# by file and by when the page loads it:
#   screen    the first screen: the page, its script and module, the style sheet;
#   proposal  fetched as the page starts, needed for AMF's first proposal: the
#             pre-trained policy, its assessment and its sessions' first proposals;
#   training  the CPU training worker's module, fetched once the page has loaded the
#             policy, needed by the first round (and by a session's start whose
#             settings the shipped proposals do not hold);
#   on demand the WebGPU training worker, the LeRobot export worker.
# Gzipped copies (*.gz, which scripts/serve.sh writes) are skipped. Used by bench.sh.
set -euo pipefail
dist="${1:-dist}"
screen=0
proposal=0
printf '%-44s %-10s %12s %12s\n' file loaded bytes gzipped
for f in "$dist"/*; do
  name=$(basename "$f")
  case "$name" in *.gz) continue ;; esac
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  case "$name" in
    amf-gpu-worker*|amf-export-worker*) when="on demand" ;;
    amf-worker*) when=training ;;
    policy.amfp|policy.amfa|policy.openings.json) when=proposal; proposal=$((proposal + gz)) ;;
    *) when=screen; screen=$((screen + gz)) ;;
  esac
  printf '%-44s %-10s %12d %12d\n' "$name" "$when" "$raw" "$gz"
done
awk -v s="$screen" -v p="$proposal" 'BEGIN {
  printf "first screen, gzipped: %d bytes (%.2f MB)\n", s, s / 1e6
  printf "first proposal (the first screen, the policy, its assessment and first proposals), gzipped: %d bytes (%.2f MB)\n", s + p, (s + p) / 1e6
}'
