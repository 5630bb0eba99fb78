#!/usr/bin/env bash
# Crash safety: wqscope record SIGKILLed at random points of a busy recording, 20 times. Every
# recording opens, passes integrity_check, holds a gapless run of events from the first (nothing
# committed is lost), and reads back with `show`; the command it started does not outlive it.
wqscope=$1 demo=$2
kills=${3:-20}
source "$(dirname "$0")/common.sh"
need_root "recording (CAP_BPF, CAP_PERFMON)"
total=0 targets=""
for i in $(seq "$kills"); do
  db=$tmp/k$i.db
  "$wqscope" record -o "$db" -- "$demo" server --seconds 30 > "$tmp/out" 2>&1 &
  rec=$!
  wait_attached "$tmp/out"
  target=$(sed -nE 's/.*\(pid ([0-9]+)\)$/\1/p' "$tmp/out" | head -1)
  sleep "0.$((RANDOM % 9 + 1))"
  kill -KILL $rec
  wait $rec 2>/dev/null
  targets+=" $target"
  [[ $(q "$db" "PRAGMA integrity_check") == ok ]] || fail "kill $i: integrity_check"
  [[ $(q "$db" "SELECT end_reason IS NULL FROM run") == 1 ]] \
    || fail "kill $i: a killed recording has an end reason: $(q "$db" "SELECT quote(end_reason) FROM run" 2>&1)"
  # The next reader completes the tables from the log, and says in the run row that it was cut off.
  "$wqscope" show "$db" > /dev/null 2>&1 || fail "kill $i: show cannot read it"
  [[ $(q "$db" "SELECT end_reason LIKE 'cut off:%' AND derived = (SELECT ifnull(max(last), 0) FROM log)
                AND events = derived FROM run") == 1 ]] \
    || fail "kill $i: not completed: $(q "$db" 'SELECT end_reason, derived, events, (SELECT max(last) FROM log) FROM run')"
  # No hole in what was committed: the log's positions run 1..n, and from the HELLO (seq 1) every
  # sequence number of the pool is an event row or one of the NAME records (kept in the names table).
  [[ $(q "$db" "SELECT count(*) = 0 OR (max(id) = count(*) AND (SELECT count(*) = 0 OR (min(seq) = 1 AND
                  max(seq) - count(*) <= (SELECT count(*) FROM names)) FROM events WHERE seq > 0)) FROM events") == 1 ]] \
    || fail "kill $i: events have holes: $(q "$db" 'SELECT count(*), max(id), min(seq), max(seq), (SELECT count(*) FROM names) FROM events')"
  total=$((total + $(q "$db" "SELECT count(*) FROM events")))
done
# Each command got SIGTERM when its collector died, and drains its queues before it exits.
for _ in $(seq 150); do
  alive=0
  for t in $targets; do kill -0 "$t" 2>/dev/null && alive=1; done
  [[ $alive -eq 0 ]] && break
  sleep 0.1
done
for t in $targets; do kill -0 "$t" 2>/dev/null && fail "the command $t outlived its collector"; done
echo "crash: $kills SIGKILLs survived; $total events committed before them, none lost, every recording readable"
