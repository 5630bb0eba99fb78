#!/usr/bin/env bash
# Replay equals live, also when records were lost: a watch whose ring buffer is far too small for
# the demo server loses most of its records; `replay` of its recording raises the same alerts,
# field by field (the GAP records make every reader forget what live forgot, and the CHECK
# records make its watchdog look where live looked).
wqscope=$1 demo=$2
source "$(dirname "$0")/common.sh"
need_root "tracing a process with BPF"

# The comparison needs alerts live. Each gap empties the model's lists, and on a loaded machine (CI
# runs two tests at once) the gaps can come too often for 20 ms of no progress between them: then
# the run is tried again, at most 3 times.
for try in 1 2 3; do
  rm -f "$tmp/t.db"*
  "$wqscope" watch --json --thresh 20ms --ring-buffer 256K -o "$tmp/t.db" -- "$demo" server --seconds 4 \
    > "$tmp/live.out" 2> "$tmp/live.err" || fail "watch: $(cat "$tmp/live.err")"
  grep '^{' "$tmp/live.out" > "$tmp/live.json"  # the demo's own lines apart
  [[ -s $tmp/live.json ]] && break
  echo "try $try: no alert live: $(grep events "$tmp/live.err")"
done
[[ -s $tmp/live.json ]] || fail "no alert live in 3 tries: $(cat "$tmp/live.err")"
"$wqscope" replay --json --thresh 20ms "$tmp/t.db" > "$tmp/replay.out" 2> "$tmp/replay.err" || fail "replay: $(cat "$tmp/replay.err")"
lost=$(q "$tmp/t.db" "SELECT lost_events FROM run")
gaps=$(q "$tmp/t.db" "SELECT count(*) FROM events WHERE kind = (SELECT kind FROM kinds WHERE name = 'GAP')")
echo "live: $(wc -l < "$tmp/live.json") alerts, $lost records lost in $gaps gaps"
diff "$tmp/live.json" "$tmp/replay.out" > "$tmp/diff" || fail "replay differs from live: $(head -c 3000 "$tmp/diff")"
echo "PASS"
