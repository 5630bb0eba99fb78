#!/usr/bin/env bash
# soak_test.sh WQSCOPE SOAK_TARGET [SECONDS]: an hour of a busy pool (soak_target: 60 "minutes" of
# workqueue, item and worker churn at full speed) compressed into SECONDS (default 90), recorded.
# 1. The collector's RSS, sampled from /proc every 0.5 s while it records, stays flat.
# 2. Nothing goes missing silently: every record the target handed to the probe is stored or
#    counted in run.dropped_events, every gap in seq is counted in run.lost_events, and the
#    stderr summary says so.
wqscope=$1 target=$2 seconds=${3:-90}
source "$(dirname "$0")/common.sh"
need_root "recording (CAP_BPF, CAP_PERFMON)"

# A small ring buffer makes drops likely at full speed on 2 shared cores (and keeps the RSS the
# ring buffer adds, mapped twice, small beside what a leak would add).
db=$tmp/soak.db
# Under ASan, freed memory waits in a quarantine of up to 256 MB before reuse, a growth of its own:
# without it, the collector's RSS follows its heap as in a plain build (ignored elsewhere).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0 \
  "$wqscope" record --ring-buffer 4M -o "$db" -- "$target" "$seconds" > "$tmp/out" 2> "$tmp/err" &
rec=$!
wait_attached "$tmp/err"
rss=()  # kB, from attach to exit
while s=$(awk '/^VmRSS/ {print $2}' /proc/$rec/status 2>/dev/null) && [[ -n $s ]]; do
  rss+=("$s")
  sleep 0.5
done
wait $rec
rc=$?
[[ $rc -eq 0 ]] || { cat "$tmp/out" "$tmp/err"; fail "record exited with status $rc"; }
cat "$tmp/out" "$tmp/err"
[[ $(q "$db" "SELECT end_reason FROM run") == "target exited with status 0" ]] \
  || fail "end reason: $(q "$db" 'SELECT end_reason FROM run')"

# 1. Flat: after a warm-up (the first 15 % of the samples: the ring buffer's pages, SQLite's page
# cache and the model's tables fill up), the highest RSS of the last half stays within 8 MB + 5 %
# of the highest of the quarter after the warm-up. A leak of 100 bytes per work item (4096 new
# ones a minute) adds more than that in the last half, and so does one of 2 bytes per record at
# the ~150 k records/s a shared 2-core VM receives; the runs measured grew 1-2 MB. The allowance
# is malloc's noise (arenas, fragmentation), which does not grow with time.
n=${#rss[@]}
[[ $n -ge 40 ]] || fail "only $n RSS samples: the run was too short to judge"
read -r base tail first last peak < <(printf '%s\n' "${rss[@]}" | awk -v n="$n" '
  { r[NR] = $1; if ($1 > peak) peak = $1 }
  END {
    w = int(n * 0.15); q = int(n * 0.40); h = int(n / 2)
    for (i = w + 1; i <= q; i++) if (r[i] > base) base = r[i]
    for (i = h + 1; i <= n; i++) if (r[i] > tail) tail = r[i]
    print base, tail, r[1], r[n], peak
  }')
limit=$((base + base / 20 + 8192))
echo "soak: RSS over $n samples: first $((first / 1024)) MB, last $((last / 1024)) MB, peak $((peak / 1024)) MB;" \
  "after warm-up $((base / 1024)) MB, last half at most $((tail / 1024)) MB (limit $((limit / 1024)) MB)"
[[ $tail -le $limit ]] || fail "the collector's RSS grew: $base kB after warm-up, $tail kB in the last half: $(echo "${rss[@]}")"

# 2. Every record accounted for. The target counted what it produced (seq 1..S) and what it handed
# to the probe (D); the recording holds R: the pool's rows of the log (seq > 0, its HELLO included; the
# collector's own GAP and CHECK records and the kernel's off/on-CPU records have seq 0) and the names,
# up to seq M. lost_events counts the gaps below M; records dropped after M are in dropped_events.
read -r S D < <(sed -nE 's/.*produced seq 1\.\.([0-9]+), handed ([0-9]+) records.*/\1 \2/p' "$tmp/out")
[[ -n ${S:-} ]] || fail "the target did not say what it produced"
read -r rows pool_rows M names events dropped lost < <(q "$db" "SELECT (SELECT count(*) FROM events),
  (SELECT count(*) FROM events WHERE seq > 0), (SELECT max(seq) FROM events), (SELECT count(*) FROM names), events,
  dropped_events, lost_events FROM run" | tr '|' ' ')
R=$((pool_rows + names))
echo "soak: $S records produced in $seconds s (60 minutes of pool life), $D handed to the probe;" \
  "recorded $R ($((R * 100 / S)) %), $dropped dropped by the full ring buffer, $((S - D)) in the pool's" \
  "hand-over queue; $lost missing in seq up to the last recorded, $((S - M)) after it"
[[ $events -eq $rows ]] || fail "run.events $events, but $rows rows in events"
[[ $((R + dropped)) -eq $D ]] || fail "recorded $R + dropped $dropped != $D handed to the probe: some went missing silently"
[[ $lost -eq $((M - R)) ]] || fail "run.lost_events $lost, but $((M - R)) of seq 1..$M are not in the recording"
[[ $((S - M)) -le $dropped && $((S - D)) -le $lost ]] \
  || fail "the $((S - M)) after the last recorded are not all in dropped_events, or the pool's $((S - D)) not in lost_events"
grep -qF ", $dropped dropped by the ring buffer, $lost missing in sequence" "$tmp/err" \
  || fail "the summary on stderr does not give these numbers"
if [[ $dropped -gt 0 || $lost -gt 0 ]]; then
  grep -qF "warning: events were lost" "$tmp/err" || fail "events lost without a warning"
fi
echo "soak: flat RSS, every record accounted for"
