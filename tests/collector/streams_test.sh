#!/usr/bin/env bash
# Streams and untrusted batches, end to end. Two cmwq::Systems in one process, with bpftrace attached
# to cmwq:batch in the middle (each System starts a new session for it): every item of each stream
# has its start and end, `stats` equals each System's own wq_monitor() at exit, names are right,
# nothing is lost. A target that forges batches: the session goes on, the good records are all
# there, the forged ones are counted in the recording, the target is never signalled.
wqscope=$1 target=$2
source "$(dirname "$0")/common.sh"
need_root "tracing a process with BPF"
command -v bpftrace > /dev/null || fail "bpftrace is missing (scripts/install-deps.sh installs it)"
# bpftrace's uprobes go through tracefs.
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing \
  || { echo "SKIP: cannot mount tracefs for bpftrace"; exit 77; }

"$wqscope" record -o "$tmp/two.db" -- "$target" two 4 > "$tmp/two.out" 2> "$tmp/two.err" &
rec=$!
wait_attached "$tmp/two.err"
pid=$(pgrep -n -f "^$target two")
[[ -n $pid ]] || fail "no target pid in: $(cat "$tmp/two.err")"
sleep 1
timeout -s INT 1.5 bpftrace -p "$pid" -e "usdt:$target:cmwq:batch { @batches = count(); }" > "$tmp/bt.out" 2>&1
# And another wqscope beside it: whatever sessions they start, the recording goes on undisturbed.
timeout -s INT 1 "$wqscope" watch -p "$pid" > /dev/null 2> "$tmp/second.err"
wait $rec || fail "record: $(cat "$tmp/two.err")"
grep -q "@batches: [1-9]" "$tmp/bt.out" || fail "bpftrace saw no batch: $(cat "$tmp/bt.out")"
grep -q "target exited with status 0" "$tmp/two.err" || fail "the target did not exit on its own: $(cat "$tmp/two.err")"
[[ $(q "$tmp/two.db" "SELECT count(*) FROM streams") == 2 ]] || fail "streams: $(q "$tmp/two.db" 'SELECT * FROM streams')"
[[ $(q "$tmp/two.db" "SELECT lost_events, dropped_events FROM run") == "0|0" ]] \
  || fail "lost: $(q "$tmp/two.db" 'SELECT lost_events, dropped_events FROM run')"
[[ $(q "$tmp/two.db" "SELECT count(*) FROM work_items WHERE started_ns IS NULL OR ended_ns IS NULL") == 0 ]] \
  || fail "items without start or end: $(q "$tmp/two.db" 'SELECT * FROM work_items WHERE ended_ns IS NULL LIMIT 5')"
# (Streams are numbered in the order their first batches came: either System may be stream 1.)
[[ $(q "$tmp/two.db" "SELECT group_concat(sys || ':' || func || ':' || wq) FROM (SELECT DISTINCT s.system sys, func, wq
       FROM work_items JOIN streams s ON s.id = stream WHERE wq LIKE 'streams_%' ORDER BY sys)") \
   == "1:streams_a_fn:streams_a,2:streams_b_fn:streams_b" ]] \
  || fail "names: $(q "$tmp/two.db" 'SELECT DISTINCT stream, func, wq FROM work_items') $(q "$tmp/two.db" 'SELECT * FROM streams')"
"$wqscope" stats "$tmp/two.db" > "$tmp/stats.out" || fail "stats"
for n in 1 2; do
  wq=streams_$([[ $n == 1 ]] && echo a || echo b)
  # The total and in-flight columns of the System's own table, and of wqscope's for its stream.
  own=$(grep "^system $n: $wq " "$tmp/two.out" | awk '{print $4, $5}')
  ours=$(awk -v s="(System $n of " '/^# stream/ {on = index($0, s) > 0; next} on' "$tmp/stats.out" \
         | grep "^$wq " | awk '{print $2, $3}')
  [[ -n $own && $own == "$ours" ]] || fail "stream $n: the System says '$own', stats says '$ours': $(cat "$tmp/two.out" "$tmp/stats.out")"
done

# Forged batches between good ones.
"$wqscope" watch --json --thresh 5s -o "$tmp/forge.db" -- "$target" forge 2 > "$tmp/forge.out" 2> "$tmp/forge.err" \
  || fail "watch ended on forged batches: $(cat "$tmp/forge.err")"
grep -q "target exited with status 0" "$tmp/forge.err" || fail "the target did not exit on its own: $(cat "$tmp/forge.err")"
grep -q "batch(es) that did not decode" "$tmp/forge.err" || fail "the forged batches were not said: $(cat "$tmp/forge.err")"
[[ $(q "$tmp/forge.db" "SELECT (SELECT value FROM anomalies WHERE name = 'malformed_batches') > 0
                        AND (SELECT value FROM anomalies WHERE name = 'oversized_batches') > 0") == 1 ]] \
  || fail "anomalies: $(q "$tmp/forge.db" 'SELECT * FROM anomalies')"
done_items=$(grep "^system 1: streams_a " "$tmp/forge.out" | awk '{print $4}')
[[ -n $done_items && $(q "$tmp/forge.db" "SELECT count(*) FROM work_items WHERE func = 'streams_a_fn' AND ended_ns IS NOT NULL") == "$done_items" ]] \
  || fail "items: the System completed $done_items, recorded $(q "$tmp/forge.db" "SELECT count(*) FROM work_items WHERE func = 'streams_a_fn'")"
[[ $(q "$tmp/forge.db" "SELECT lost_events FROM run") == 0 ]] || fail "forged batches made records look lost"
echo "PASS"
