#!/usr/bin/env bash
# The cost of the cmwq:batch probe, measured side by side in one run:
# compiled out, compiled in but unattached, and attached and recording (the BPF
# program copies every batch into its ring buffer and a reader drains it).
# Runs the three alternately, ROUNDS times, and reports medians and ratios.
set -euo pipefail
with=$1 without=$2 capture=$3 rounds=${4:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rate() { awk '/^items_per_sec/ {print $2}' "$1"; }
calc() { awk "BEGIN {print $1}"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for r in $(seq "$rounds"); do
  "$without" 5 > "$tmp/out.$r"
  "$with" 5 > "$tmp/in.$r"
  if [[ $EUID -eq 0 ]]; then
    "$capture" /dev/null -- "$with" 5 > "$tmp/att.$r"
  fi
done
out=$(for r in $(seq "$rounds"); do rate "$tmp/out.$r"; done | median)
in=$(for r in $(seq "$rounds"); do rate "$tmp/in.$r"; done | median)
printf '| %-34s | %12s | %8s |\n' "probe" "items/s" "ratio"
printf '|%s|%s|%s|\n' "------------------------------------" "--------------" "----------"
printf '| %-34s | %12.0f | %8.3f |\n' "compiled out" "$out" 1
printf '| %-34s | %12.0f | %8.3f |\n' "compiled in, unattached" "$in" "$(calc "$in / $out")"
if [[ $EUID -eq 0 ]]; then
  att=$(for r in $(seq "$rounds"); do rate "$tmp/att.$r"; done | median)
  events=$(awk '/usdt_capture:/ {print $4 + $7}' "$tmp/att.1")  # delivered + dropped: all the pool produced
  items=$(awk '/^items_per_sec/ {print $8}' "$tmp/att.1")
  printf '| %-34s | %12.0f | %8.3f |\n' "attached and recording" "$att" "$(calc "$att / $out")"
  per_item=$(calc "$events / $items")
  ns=$(calc "(1e9 / $att - 1e9 / $out) / $per_item")
  printf '\nattached: %.1f events per item, %.0f ns per event amortised over compiled out\n' "$per_item" "$ns"
  grep usdt_capture "$tmp/att.1"
else
  echo "attached: skipped (attaching BPF needs root)"
fi
