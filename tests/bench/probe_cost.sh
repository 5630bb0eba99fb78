#!/usr/bin/env bash
# The cost of the cmwq:batch probe, measured side by side: each round runs the
# program compiled out, compiled in but unattached, and attached and recording
# (bpf/cmwq.bpf.c copies every batch into its ring buffer, a reader drains it)
# back to back, and the ratios are taken within the round. Reports the median
# ratio over ROUNDS rounds and its spread (this VM is noisy).
set -euo pipefail
with=$1 without=$2 capture=$3 rounds=${4:-9}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rate() { awk '/^items_per_sec/ {print $2}' "$1"; }
calc() { awk "BEGIN {print $1}"; }
stats() { sort -g | awk '{a[NR]=$1} END {printf "%.3f (%.3f-%.3f)", a[int((NR+1)/2)], a[1], a[NR]}'; }
attach=0
[[ $EUID -eq 0 ]] && attach=1
for r in $(seq "$rounds"); do
  "$without" 3 > "$tmp/out.$r"
  "$with" 3 > "$tmp/in.$r"
  ((attach)) && "$capture" /dev/null -- "$with" 3 > "$tmp/att.$r"
  calc "$(rate "$tmp/in.$r") / $(rate "$tmp/out.$r")" >> "$tmp/ratio.in"
  ((attach)) && calc "$(rate "$tmp/att.$r") / $(rate "$tmp/out.$r")" >> "$tmp/ratio.att"
done
out=$(for r in $(seq "$rounds"); do rate "$tmp/out.$r"; done | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'compiled out: %.0f items/s (median of %d rounds)\n' "$out" "$rounds"
printf 'compiled in, unattached / compiled out: %s (median, min-max of per-round ratios)\n' "$(stats < "$tmp/ratio.in")"
# Wall-clock ratios on a noisy VM cannot resolve a cost of a few percent; instruction counts can
# (callgrind counts the same for the same binary and input, whatever else the machine does).
if command -v valgrind > /dev/null; then
  ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 1 20000 2>&1 | awk '/Collected/ {print $4}'; }
  ir_out=$(ir "$without") ir_in=$(ir "$with")
  printf 'instructions, 20000 items: compiled out %s, compiled in and unattached %s: ratio %.4f\n' \
    "$ir_out" "$ir_in" "$(calc "$ir_in / $ir_out")"
fi
if ((attach)); then
  printf 'attached and recording / compiled out: %s\n' "$(stats < "$tmp/ratio.att")"
  ratio=$(sort -g "$tmp/ratio.att" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  events=$(awk '/usdt_capture:/ {print $4 + $7}' "$tmp/att.1")  # delivered + dropped: all the pool produced
  items=$(awk '/^items_per_sec/ {print $8}' "$tmp/att.1")
  per_item=$(calc "$events / $items")
  printf 'attached: %.1f events per item, %.0f ns per event amortised (median ratio)\n' "$per_item" \
    "$(calc "(1e9 / ($out * $ratio) - 1e9 / $out) / $per_item")"
  grep usdt_capture "$tmp/att.1"
else
  echo "attached: skipped (attaching BPF needs root)"
fi
