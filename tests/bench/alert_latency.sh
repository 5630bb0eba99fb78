#!/usr/bin/env bash
# Lockup alert latency of `wqscope watch`: how long after the stuck pool's last progress the alert
# comes, beyond the threshold (target: <= 100 ms), on seed 004 with real threads. The pool's own
# watchdog, like the kernel's, reports between 1x and 2x its threshold; shown for comparison.
# Usage: alert_latency.sh WQSCOPE CMWQ_DEMO [RUNS] [THRESHOLDS...]
set -uo pipefail
wqscope=$1 demo=$2 runs=${3:-5}
thresholds=("${@:4}")
[[ ${#thresholds[@]} -gt 0 ]] || thresholds=(1 30)
if [[ $EUID -ne 0 ]]; then echo "SKIP: watching needs root (CAP_BPF, CAP_PERFMON)"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| threshold | runs | alert after last progress, beyond the threshold: median (min - max) | pool's own watchdog |"
echo "|---|---|---|---|"
for t in "${thresholds[@]}"; do
  lat=()
  for r in $(seq "$runs"); do
    "$wqscope" watch --thresh "${t}s" --json -- "$demo" hotplug --seconds $((t + 2)) --watchdog "${t}s" \
      > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err"; exit 1; }
    stuck=$(sed -nE 's/.*"type":"lockup".*"stuck_ms":([0-9]+).*/\1/p;s/.*"stuck_ms":([0-9]+).*"type":"lockup".*/\1/p' "$tmp/out" | head -1)
    [[ -n $stuck ]] || { echo "no lockup alert at ${t}s"; cat "$tmp/out"; exit 1; }
    lat+=($((stuck - t * 1000)))
    own=$(grep -oE 'stuck for [0-9]+s!' "$tmp/err" | head -1)
  done
  sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
  echo "| ${t} s | $runs | $(sed -n "$(((runs + 1) / 2))p" <<<"$sorted") ms ($(head -1 <<<"$sorted") - $(tail -1 <<<"$sorted") ms) | ${own:-none within the run} |"
done
