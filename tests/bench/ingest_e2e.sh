#!/usr/bin/env bash
# ingest_e2e.sh WQSCOPE TARGET [ARGS...]: `wqscope record` of a target that queues items as fast
# as it can (probe_bench), end to end: the records the collector received per second of the
# target's activity, what went missing (run.dropped_events: the ring buffer was full;
# run.lost_events: every gap in seq, those included), and the collector's own CPU time and peak
# RSS, sampled from /proc every 100 ms (its rusage would include the target, its child).
# Target and collector share the machine's cores. Attaching BPF needs root: exit 77 otherwise.
set -euo pipefail
wqscope=$1
shift
[[ $EUID -eq 0 ]] || { echo "ingest_e2e: skipped (attaching BPF needs root)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$wqscope" record -o "$tmp/e2e.db" -- "$@" > "$tmp/target.out" 2> "$tmp/wqscope.err" &
pid=$!
stat="" hwm=0
while kill -0 "$pid" 2> /dev/null; do
  s=$(cat "/proc/$pid/stat" 2> /dev/null) && stat=$s
  h=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2> /dev/null) && [[ -n $h ]] && hwm=$h
  sleep 0.1
done
wait "$pid"
tick=$(getconf CLK_TCK)
# Fields after "(comm) ": state is 1, utime 12, stime 13.
cpu=$(awk -v t="$tick" '{print ($12 + $13) / t}' <<< "${stat##*) }")
read -r events dropped lost secs active < <(sqlite3 -separator ' ' "$tmp/e2e.db" \
  "SELECT events, dropped_events, lost_events, (ended_ns - started_ns) / 1e9,
          (SELECT (max(ts) - min(ts)) / 1e9 FROM events) FROM run")
rows=$(sqlite3 "$tmp/e2e.db" "SELECT count(*) FROM events")
cat "$tmp/target.out"
awk -v e="$events" -v d="$dropped" -v l="$lost" -v s="$secs" -v a="$active" -v c="$cpu" -v m="$hwm" -v r="$rows" 'BEGIN {
  printf "produced %d records in %.2f s of target activity (%.0f/s); received %d (%.0f/s, %.1f %%)\n",
    e + l, a, (e + l) / a, e, e / a, 100 * e / (e + l)
  printf "missing in seq %d: %d dropped by the full ring buffer, %d before it (the pool'"'"'s hand-over queue)\n", l, d, l - d
  printf "rows in events %d; collector CPU %.2f s over %.2f s of recording (%.0f %% of a core), %.2f s per M records\n",
    r, c, s, 100 * c / s, c / e * 1e6
  printf "collector peak RSS %.1f MB (the BPF ring buffer, mapped twice, is most of it)\n", m / 1024
}'
