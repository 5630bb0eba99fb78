#!/usr/bin/env bash
# Golden recordings: a deterministic simulator run of each story, imported into a recording; each
# reading command's output is diffed with tests/collector/golden/STORY.COMMAND.expected.
# With --update, rewrites the expected files instead (review the diff before committing).
set -uo pipefail
wqscope=$1 sim=$2 root=$3
update=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1  # relative names: the outputs that print them do not depend on where the test ran
fail=0
check() {  # check NAME COMMAND...
  local name=$1
  shift
  "$@" > "$tmp/out" 2> "$tmp/err" || { echo "FAIL: $name exited $?: $(cat "$tmp/err")"; fail=1; return; }
  local expected=$root/tests/collector/golden/$name.expected
  if [[ $update == --update ]]; then cp "$tmp/out" "$expected"; return; fi
  diff -u "$expected" "$tmp/out" > "$tmp/diff" || { echo "FAIL: $name"; cat "$tmp/diff"; fail=1; }
}
record() {  # record STORY SCENARIO: the simulator's events, imported
  "$sim" --events "$1.bin" "$2" > /dev/null
  [[ $? -le 3 ]] || { echo "FAIL: cmwq-sim $2"; exit 1; }  # 3: the pool's watchdog reported a lockup
  "$wqscope" import --thresh 30s "$1.bin" -o "$1.db" 2> /dev/null || { echo "FAIL: import $1"; exit 1; }
}
record seed004 "$root/pool/scenarios/seed004-hotplug-lockup.scn"
record dumps "$root/tests/collector/scenarios/busy-dumps.scn"
record xfslogd "$root/pool/scenarios/seed000-xfslogd.scn"

check seed004.show-45s "$wqscope" show seed004.db --at 45s
check seed004.show-end "$wqscope" show seed004.db
check seed004.replay "$wqscope" replay --thresh 10s seed004.db
check seed004.stats "$wqscope" stats seed004.db
check dumps.show-7.5ms "$wqscope" show dumps.db --at 7.5ms
check dumps.show-35.5ms "$wqscope" show dumps.db --at 35.5ms
check dumps.stats "$wqscope" stats dumps.db
check xfslogd.stats-10s "$wqscope" stats --interval 10 xfslogd.db
check xfslogd.replay-json "$wqscope" replay --json --thresh 1s xfslogd.db
check xfslogd.alerts sqlite3 xfslogd.db "SELECT kind, pool, wq, message, detected_ns, stuck_ns, waiting FROM alerts"
check xfslogd.episodes sqlite3 xfslogd.db "SELECT id, pool, started_ns, ended_ns, maydays, rescued, workqueues FROM mayday_episodes"

# Bad recordings: a clear message naming the file, exit 1, never a crash.
bad() {  # bad FILE MESSAGE
  out=$("$wqscope" show "$1" 2>&1)
  rc=$?
  [[ $rc -eq 1 ]] && grep -qF -- "$2" <<<"$out" || { echo "FAIL: show $1 -> rc=$rc: $out"; fail=1; }
}
bad "$tmp/none.db" "$tmp/none.db: cannot read the recording: No such file or directory"
echo "not a database at all, just text that is long enough to fill a header of one hundred bytes......" > "$tmp/text.db"
bad "$tmp/text.db" "$tmp/text.db: is not a SQLite database (not a wqscope recording)"
sqlite3 "$tmp/foreign.db" "CREATE TABLE t (x); INSERT INTO t VALUES (1)"
bad "$tmp/foreign.db" "is a SQLite database but not a wqscope recording (no run table)"
cp seed004.db "$tmp/newer.db"
sqlite3 "$tmp/newer.db" "PRAGMA user_version = 99"
bad "$tmp/newer.db" "was written by a newer wqscope (recording format 99; this wqscope reads format 5)"
head -c 8192 xfslogd.db > "$tmp/truncated.db"
bad "$tmp/truncated.db" "$tmp/truncated.db: "
out=$("$wqscope" show seed004.db --at soon 2>&1)
[[ $? -eq 2 ]] && grep -qF "is not an instant" <<<"$out" || { echo "FAIL: --at soon: $out"; fail=1; }
[[ $fail -eq 0 ]] && echo "golden: 11 outputs of show, stats, replay and import as expected; 6 bad inputs refused clearly"
exit $fail
