#!/usr/bin/env bash
# The GUI on a long recording and on a live one (gui_bench.cpp, offscreen, through the GUI's Session):
# time to the first state after opening, seek latency at 10 instants against `wqscope show --at` at the
# same instants (same file, same run), the chart's sampling pass; and, as root, how far the live view
# is behind the target while the GUI's collector records `cmwq-demo server`.
# Usage: gui_bench.sh WQSCOPE CMWQ_SIM GUI_BENCH CMWQ_DEMO [MILLION_EVENTS] [LIVE_SECONDS]
set -euo pipefail
wqscope=$1 sim=$2 bench=$3 demo=$4 millions=${5:-10} live_s=${6:-30}
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
export QT_QPA_PLATFORM=offscreen
calc() { awk "BEGIN { print $* }"; }
stats() {  # median, p99 (nearest rank), min, max of the numbers on stdin
  sort -g | awk '{ v[NR] = $1 } END { p = int(NR * 0.99 + 0.999); if (p > NR) p = NR
    printf "%.1f %.1f %.1f %.1f %d\n", v[int((NR + 1) / 2)], v[p], v[1], v[NR], NR }'
}

db=$tmp/long.db
"$(dirname "$0")/long_recording.sh" "$wqscope" "$sim" "$millions" "$db" > /dev/null
events=$(sqlite3 "$db" "SELECT count(*) FROM events")
read -r start end < <(sqlite3 -separator ' ' "$db" "SELECT started_ns, max(ended_ns, (SELECT max(ts) FROM events)) FROM run")
fractions=(0.05 0.17 0.31 0.44 0.5 0.58 0.69 0.83 0.95 1.0)
instants=() show=()
for f in "${fractions[@]}"; do
  at=$(awk "BEGIN { printf \"%d\", $start + ($end - $start) * $f }")
  instants+=("$at")
  a=$(date +%s.%N)
  "$wqscope" show "$db" --at "@$at" > /dev/null
  b=$(date +%s.%N)
  show+=("$(calc "($b - $a) * 1000")")
done
"$bench" open "$db" "${instants[@]}" > "$tmp/open"
first=$(awk '$1 == "first_state_ms" {print $2}' "$tmp/open")
chart=$(awk '$1 == "series_and_bars_ms" {print $2}' "$tmp/open")
series=$(awk '$1 == "series_ms" {print $2}' "$tmp/open")
replay=$(awk '$1 == "series_replay_ms" {print $2}' "$tmp/open")
read -r gmed _ gmin gmax _ < <(awk '$1 == "seek_ms" {print $2}' "$tmp/open" | stats)
read -r smed _ smin smax _ < <(printf '%s\n' "${show[@]}" | stats)
printf 'recording: %d events, %d snapshots\n' "$events" "$(sqlite3 "$db" "SELECT count(*) FROM snapshots")"
printf '| what | ms | ratio to show --at (median) |\n|---|---|---|\n'
printf '| wqscope show --at, 10 instants: median (min-max) | %.0f (%.0f-%.0f) | 1.00 |\n' "$smed" "$smin" "$smax"
printf '| GUI: open to first state (its end) | %.0f | %.2f |\n' "$first" "$(calc "$first / $smed")"
printf '| GUI: seek, 10 instants: median (min-max) | %.0f (%.0f-%.0f) | %.2f |\n' "$gmed" "$gmin" "$gmax" \
  "$(calc "$gmed / $smed")"
printf '| GUI: chart series + timeline bars after the first state | %.0f | %.2f |\n' "$chart" "$(calc "$chart / $smed")"
printf '| GUI: chart series alone, at the snapshots | %.0f | %.2f |\n' "$series" "$(calc "$series / $smed")"
printf '| GUI: chart series alone, by a full replay (before) | %.0f | %.2f |\n' "$replay" "$(calc "$replay / $smed")"

if [[ $EUID -ne 0 ]]; then
  echo "live lag: skipped (the collector needs root: CAP_BPF, CAP_PERFMON)"
  exit 0
fi
"$bench" live "$wqscope" "$live_s" "$tmp/live.db" "$demo" server --seconds $((live_s + 60)) > "$tmp/live"
read -r lmed lp99 lmin lmax n < <(awk '$1 == "lag_ms" {print $2}' "$tmp/live" | stats)
read -r cmed cp99 cmin cmax _ < <(awk '$1 == "behind_commit_ms" {print $2}' "$tmp/live" | stats)
printf '| live, %d states in %d s: shown instant behind the newest committed record: median, p99 (min-max) | %.0f, %.0f (%.0f-%.0f) | |\n' \
  "$n" "$live_s" "$cmed" "$cp99" "$cmin" "$cmax"
printf '| live: shown instant behind the target (CLOCK_MONOTONIC): median, p99 (min-max) | %.0f, %.0f (%.0f-%.0f) | |\n' \
  "$lmed" "$lp99" "$lmin" "$lmax"
read -r kept dropped lost < <(sqlite3 -separator ' ' "$tmp/live.db" "SELECT events, dropped_events, lost_events FROM run")
printf '| live: what the GUI'"'"'s collector recorded meanwhile: events, dropped by the ring buffer, lost in all | %d, %d, %d | |\n' \
  "$kept" "$dropped" "$lost"
