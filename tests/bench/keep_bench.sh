#!/usr/bin/env bash
# keep_bench.sh WQSCOPE PROBE_BENCH [ROUNDS [REPS ITEMS]]: how much of a full-speed target's stream
# wqscope keeps, and how much it slows the target, for `watch` and `record` with default settings
# and with --lossless. Each round runs probe_bench REPS ITEMS unattached, then under each mode, back
# to back; the target's throughput (probe_bench's median rep) is taken as a ratio to the unattached
# run of the same round, and so is its CPU time per item (probe_bench's own rusage, every thread):
# where idle CPUs wake slowly (a VM whose vCPUs halt), a collector that keeps a CPU busy speeds the
# target up, and throughput alone moves with that. Kept: events received / (received + missing in
# seq), from wqscope's last words. Prints median (min-max) over the rounds. Attaching BPF needs root: exit 77 otherwise.
set -euo pipefail
wqscope=$1 bench=$2 rounds=${3:-3} reps=${4:-3} items=${5:-200000}
[[ $EUID -eq 0 ]] || { echo "keep_bench: skipped (attaching BPF needs root)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
modes=("watch" "watch --lossless" "record" "record --lossless")
rate() { awk '/^items_per_sec/ {print $2}' "$1"; }
cpu() { awk '/^items_per_sec/ {print $10}' "$1"; }
stats() { sort -g | awk '{a[NR]=$1} END {printf "%.3f (%.3f-%.3f)", a[int((NR+1)/2)], a[1], a[NR]}'; }
for r in $(seq "$rounds"); do
  "$bench" "$reps" "$items" > "$tmp/bare.$r"
  base=$(rate "$tmp/bare.$r") base_cpu=$(cpu "$tmp/bare.$r")
  for m in "${!modes[@]}"; do
    read -r sub flag <<< "${modes[$m]}"
    out=()
    [[ $sub == record ]] && out=(-o "$tmp/r.db")
    rm -f "$tmp/r.db"
    "$wqscope" $sub $flag "${out[@]}" -- "$bench" "$reps" "$items" > "$tmp/out.$m.$r" 2> "$tmp/err.$m.$r"
    awk -v b="$base" -v t="$(rate "$tmp/out.$m.$r")" 'BEGIN {print t / b}' >> "$tmp/ratio.$m"
    awk -v b="$base_cpu" -v t="$(cpu "$tmp/out.$m.$r")" 'BEGIN {print t / b}' >> "$tmp/cpu.$m"
    sed -n 's/.* \([0-9]*\) events, \([0-9]*\) dropped by the ring buffer, \([0-9]*\) missing in sequence.*/\1 \2 \3/p' \
      "$tmp/err.$m.$r" | awk '{print 100 * $1 / ($1 + $3)}' >> "$tmp/kept.$m"
  done
done
bare=$(for r in $(seq "$rounds"); do rate "$tmp/bare.$r"; done | sort -g |
  awk '{a[NR]=$1} END {printf "%.0f (%.0f-%.0f)", a[int((NR+1)/2)], a[1], a[NR]}')
echo "probe_bench $reps $items unattached: $bare items/s, median (min-max) of $rounds rounds; ratios per round:"
echo
echo "| mode | events kept, % | target throughput / unattached | target CPU per item / unattached |"
echo "|---|---|---|---|"
for m in "${!modes[@]}"; do
  echo "| \`${modes[$m]}\` | $(stats < "$tmp/kept.$m") | $(stats < "$tmp/ratio.$m") | $(stats < "$tmp/cpu.$m") |"
done
