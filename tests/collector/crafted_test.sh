#!/usr/bin/env bash
# crafted_test.sh WQSCOPE CMWQ-SIM ROOT: a crafted recording. A simulator story imported (a log long
# enough for a snapshot), then rewritten as an attacker would: the run's command and host, and the
# names in the log and in the snapshots (each its own, same length, so both stay well-formed) made of
# terminal escapes, a bidi override and invalid UTF-8. show (through the snapshot, and from the log
# before it), stats, replay and export print them escaped: no byte a terminal acts on reaches
# stdout or stderr. No root needed.
wqscope=$1 sim=$2 root=$3
source "$(dirname "$0")/common.sh"

"$sim" --events "$tmp/s.bin" "$root/tests/collector/scenarios/crafted.scn" > /dev/null || fail "cmwq-sim"
"$wqscope" import --thresh 30s "$tmp/s.bin" -o "$tmp/c.db" > /dev/null 2>&1 || fail "import"

# Prints two instants at which a victim_fn item runs (the busy dump names it and its workqueue): before
# the snapshot (the log alone), and after it (state_at restores it). Then crafts: names of the lengths
# of "victim_fn" and "victim_wq", one pair for the log, another for the snapshot, and the run row.
python3 - "$tmp/c.db" > "$tmp/instants" <<'PY' || fail "crafting the recording"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(snap,) = db.execute('SELECT min(ts) FROM snapshots').fetchone()
assert snap is not None, 'no snapshot to craft'
def running(lo, hi):
    (t,) = db.execute("SELECT min(started_ns) + 1 FROM work_items WHERE func = 'victim_fn' AND started_ns > ? "
                      "AND ended_ns > started_ns + 1 AND started_ns + 1 < ?", (lo, hi)).fetchone()
    assert t is not None, f'no victim_fn item runs between {lo} and {hi}'
    return t
print(running(0, snap), running(snap, 2**62))

log_fn, log_wq = b'\x1b[31m\xe2\x80\xae\xff', b'\x1b]0;Lwq\xff\xfe'
snap_fn, snap_wq = b'\x1b[32m\xe2\x80\xae\xfe', b'\x1b]0;Swq\xfe\xff'
assert len(log_fn) == len(snap_fn) == len(b'victim_fn') and len(log_wq) == len(snap_wq) == len(b'victim_wq')
def craft(table, column, pairs):
    n = 0
    for rowid, blob in db.execute(f'SELECT rowid, {column} FROM {table}').fetchall():
        new = blob
        for old, crafted in pairs:
            new = new.replace(old, crafted)
        if new != blob:
            db.execute(f'UPDATE {table} SET {column} = ? WHERE rowid = ?', (new, rowid))
            n += 1
    assert n, f'no name to craft in {table}'
# The log: NAME records' text, NUL-terminated. The snapshots: CBOR text strings, their length first.
craft('log', 'records', [(b'victim_fn\0', log_fn + b'\0'), (b'victim_wq\0', log_wq + b'\0')])
craft('snapshots', 'state', [(b'\x69victim_fn', b'\x69' + snap_fn), (b'\x69victim_wq', b'\x69' + snap_wq)])
# The run row and the tables export reads: TEXT holding those bytes.
db.execute('UPDATE run SET command = CAST(? AS TEXT), host = CAST(? AS TEXT)',
           (b'cmd \x1b[2J\x1b]0;t\x07 \xe2\x80\xae\xc3(', b'host\x1b[5m\xe2\x81\xa6\x80'))
db.execute("UPDATE work_items SET func = CAST(? AS TEXT) WHERE func = 'victim_fn'", (log_fn,))
db.execute("UPDATE workqueues SET name = CAST(? AS TEXT) WHERE name = 'victim_wq'", (log_wq,))
db.commit()
PY
read -r before after < "$tmp/instants"
# As the readers print them (untrusted.h's printable()).
log_fn='\x1b[31m\xe2\x80\xae\xff' log_wq='\x1b]0;Lwq\xff\xfe'
snap_fn='\x1b[32m\xe2\x80\xae\xfe' snap_wq='\x1b]0;Swq\xfe\xff'
command='cmd \x1b[2J\x1b]0;t\x07 \xe2\x80\xae\xc3('

# run NAME MODE WQSCOPE-ARGS...: wqscope's stdout in $tmp/NAME, its stderr in $tmp/NAME.err, both clean.
run() {
  local name=$1 mode=$2
  shift 2
  "$wqscope" "$@" > "$tmp/$name" 2> "$tmp/$name.err" || { cat "$tmp/$name.err"; fail "wqscope $*"; }
  check_clean "$mode" "$tmp/$name"
  check_clean text "$tmp/$name.err"
}
has() {  # NAME TEXT WHAT
  grep -qF -- "$2" "$tmp/$1" || { cat "$tmp/$1"; fail "$1: $3 not shown escaped as $2"; }
}
run show-log text show --at "@$before" "$tmp/c.db"
has show-log "$command" "the command"
has show-log "workqueue $log_wq: flags=" "the log's workqueue"
has show-log ":$log_fn" "the log's function"
run show-snapshot text show --at "@$after" "$tmp/c.db"
has show-snapshot "$command" "the command"
has show-snapshot "workqueue $snap_wq: flags=" "the snapshot's workqueue"
has show-snapshot ":$snap_fn" "the snapshot's function"
run stats text stats "$tmp/c.db"
has stats "$log_wq" "the workqueue"
run replay json replay --json --thresh 1ms "$tmp/c.db"
# export: of a small recording (the large one takes long under ASan), its run row and items crafted alike.
"$wqscope" import "$root/tests/import/logs/j-deadlock-6.1.log" -o "$tmp/small.db" > /dev/null 2>&1 || fail "import a log"
q "$tmp/small.db" "UPDATE run SET command = CAST(X'636d64201b5b324a1b5d303b740720e280aec328' AS TEXT),
                     host = CAST(X'686f73741b5b356de281a680' AS TEXT);
                   UPDATE work_items SET func = CAST(X'1b5b33316de280aeff' AS TEXT)" || fail "crafting the small recording"
run export text export "$tmp/small.db" --perfetto "$tmp/small.json"
check_clean jsonfile "$tmp/small.json"
has small.json "\"command\":\"${command//\\/\\\\}\"" "the command"  # JSON doubles the backslashes
has small.json "\"name\":\"${log_fn//\\/\\\\}\"" "the function"
echo "crafted: escapes, a bidi override and invalid UTF-8 in the run row and the log's and snapshots' names: show (log, snapshot), stats, replay, export print them escaped"
