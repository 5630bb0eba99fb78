#!/usr/bin/env bash
# A long recording for the benchmarks: a server-like load simulated by cmwq-sim and imported by
# `wqscope import` — groups of 50 items queued every millisecond on two CPUs (about 5 events per item).
# Usage: long_recording.sh WQSCOPE CMWQ_SIM MILLION_EVENTS OUT.db
# Prints "simulated S" and "imported S" (seconds) on stdout.
set -euo pipefail
wqscope=$1 sim=$2 millions=$3 out=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
groups=$((millions * 1000000 / 250 / 2))
{
  echo "title seek benchmark: $((groups * 100)) items in groups of 50 every millisecond"
  echo "cpus 2"
  echo "workqueue bound max_active=8"
  echo "workqueue unbound flags=WQ_UNBOUND max_active=16"
  for ((i = 0; i < groups; i++)); do
    echo "work b${i}x bound fn=bound_fn count=50: burn 5us"
    echo "work u${i}x unbound fn=unbound_fn count=50: sleep 20us"
    echo "at ${i}ms queue b${i}x on $((i % 2))"
    echo "at ${i}ms queue u${i}x"
  done
} > "$tmp/seek.scn"
t0=$(date +%s.%N)
"$sim" --events "$tmp/seek.bin" "$tmp/seek.scn" > /dev/null
t1=$(date +%s.%N)
"$wqscope" import "$tmp/seek.bin" -o "$out" 2> /dev/null
t2=$(date +%s.%N)
awk "BEGIN { print \"simulated\", $t1 - $t0; print \"imported\", $t2 - $t1 }"
