#!/usr/bin/env bash
# Seeking in a long recording: `wqscope show --at T` (nearest snapshot + the events after it) against
# a full replay of the same recording (`wqscope stats`, which applies every event), side by side.
# Usage: seek_bench.sh WQSCOPE CMWQ_SIM [MILLION_EVENTS]
set -euo pipefail
wqscope=$1 sim=$2 millions=${3:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
times=$("$(dirname "$0")/long_recording.sh" "$wqscope" "$sim" "$millions" "$tmp/seek.db")
events=$(sqlite3 "$tmp/seek.db" "SELECT count(*) FROM events")
snapshots=$(sqlite3 "$tmp/seek.db" "SELECT count(*) FROM snapshots")
end_s=$(sqlite3 "$tmp/seek.db" "SELECT (max(ts) - min(ts)) / 1e9 FROM events")
size=$(stat -c %s "$tmp/seek.db")
calc() { awk "BEGIN { print $* }"; }
wall() { local a b; a=$(date +%s.%N); "$@" > /dev/null; b=$(date +%s.%N); calc "$b - $a"; }
full=$(wall "$wqscope" stats "$tmp/seek.db")
seeks=()
for f in 0.05 0.17 0.31 0.44 0.5 0.58 0.69 0.83 0.95 1.0; do
  seeks+=("$(wall "$wqscope" show "$tmp/seek.db" --at "$(calc "$end_s * $f")s")")
done
sorted=$(printf '%s\n' "${seeks[@]}" | sort -g)
median=$(sed -n 5p <<<"$sorted") worst=$(tail -1 <<<"$sorted") best=$(head -1 <<<"$sorted")
printf 'recording: %d events, %d snapshots, %.0f s of target time, %.0f MB (%.0f bytes/event); simulated in %.1f s, imported in %.1f s\n' \
  "$events" "$snapshots" "$end_s" "$(calc "$size / 1e6")" "$(calc "$size / $events")" \
  "$(awk '$1 == "simulated" {print $2}' <<<"$times")" "$(awk '$1 == "imported" {print $2}' <<<"$times")"
printf '\n| what | seconds | ratio to a full replay |\n|---|---|---|\n'
printf '| full replay (stats) | %.2f | 1.00 |\n' "$full"
printf '| show --at, 10 instants: median | %.3f | %.3f |\n' "$median" "$(calc "$median / $full")"
printf '| show --at: best - worst | %.3f - %.3f | %.3f - %.3f |\n' "$best" "$worst" "$(calc "$best / $full")" \
  "$(calc "$worst / $full")"
