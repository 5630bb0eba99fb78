#!/usr/bin/env bash
# wqscope record, end to end and on bad input. Needs root (CI is root) for BPF.
wqscope=$1 demo=$2
source "$(dirname "$0")/common.sh"
need_root "recording (CAP_BPF, CAP_PERFMON)"

# The stall story, started by wqscope and traced from its first event.
"$wqscope" record --thresh 500ms -o "$tmp/stall.db" -- "$demo" stall --seconds 1 > "$tmp/out" 2>&1 \
  || { cat "$tmp/out"; fail "record stall"; }
db=$tmp/stall.db
[[ $(stat -c %a "$db") == 600 ]] || fail "recording is not mode 0600"
[[ $(q "$db" "PRAGMA integrity_check") == ok ]] || fail "integrity"
[[ $(q "$db" "PRAGMA user_version") == 5 ]] || fail "user_version"
[[ $(q "$db" "SELECT end_reason FROM run") == "target exited with status 0" ]] || fail "end reason: $(q "$db" 'SELECT end_reason FROM run')"
[[ $(q "$db" "SELECT events = (SELECT count(*) FROM events) AND lost_events = 0 AND dropped_events = 0 FROM run") == 1 ]] \
  || fail "events counted, none lost"
[[ $(q "$db" "SELECT count(*) FROM work_items WHERE wq = 'stall_wq' AND ended_ns IS NOT NULL") == 2 ]] || fail "two items ran"
# The waiter ran for the whole stall and the signaller could only start when the demo broke it.
[[ $(q "$db" "SELECT w.started_ns < s.queued_ns AND s.started_ns >= s.queued_ns + 900000000 AND w.ended_ns >= s.started_ns
               FROM work_items w, work_items s WHERE w.func = 'wait_for_done' AND s.func = 'signal_done'") == 1 ]] \
  || fail "the stall is not in the recording"
[[ $(q "$db" "SELECT count(*) FROM workqueues WHERE name = 'stall_wq' AND destroyed_ns IS NOT NULL") == 1 ]] || fail "workqueue"
[[ $(q "$db" "SELECT count(*) FROM names WHERE text = 'wait_for_done'") == 1 ]] || fail "names"
# The stall is in the lockups table: one item held back behind the waiter, for 0.5 s or more.
[[ $(q "$db" "SELECT kind, wq, waiting, stuck_ns >= 500000000 FROM lockups") == "stall|stall_wq|1|1" ]] \
  || fail "lockups: $(q "$db" 'SELECT * FROM lockups')"

# Through sudo or pkexec (as wqscope-gui starts it when not root), the recording is the invoking user's,
# created with their rights (so in a directory they can write), and the command runs as them.
mkdir "$tmp/theirs" && chown 65534:65534 "$tmp/theirs"
SUDO_UID=65534 SUDO_GID=65534 "$wqscope" record -o "$tmp/theirs/1.db" -- "$demo" stall --seconds 0.2 > "$tmp/out" 2>&1 \
  || { cat "$tmp/out"; fail "record for a sudo user"; }
[[ $(stat -c '%u:%g %a' "$tmp/theirs/1.db") == "65534:65534 600" ]] || fail "not the sudo user's: $(stat -c '%u:%g %a' "$tmp/theirs/1.db")"
[[ ! -e $tmp/theirs/1.db-wal && ! -e $tmp/theirs/1.db-shm ]] || fail "the -wal or -shm outlived the recording (unlinked as the user)"
[[ $(q "$tmp/theirs/1.db" "SELECT count(*) FROM workqueues WHERE name = 'stall_wq'") == 1 ]] || fail "the sudo user's recording"
# Finished, it is out of WAL mode: a reader, root or read-only, leaves nothing beside it.
"$wqscope" show "$tmp/theirs/1.db" > /dev/null && sqlite3 -readonly "$tmp/theirs/1.db" 'SELECT 1' > /dev/null \
  || fail "reading the finished recording"
[[ ! -e $tmp/theirs/1.db-wal && ! -e $tmp/theirs/1.db-shm ]] || fail "a reader left a -wal or -shm beside a finished recording"
SUDO_UID=65534 "$wqscope" record -o "$tmp/root-only.db" -- "$demo" stall --seconds 0.2 > "$tmp/out" 2>&1 \
  && fail "created where the sudo user cannot write"
grep -q "created as uid 65534" "$tmp/out" || fail "message: $(cat "$tmp/out")"
# Through pkexec with --stop-at-eof, as wqscope-gui runs it: the command runs as the pkexec user, reads
# none of wqscope's stdin, and the end of stdin stops the recording as Ctrl-C does.
mkfifo "$tmp/stdin"
PKEXEC_UID=65534 "$wqscope" record --stop-at-eof -o "$tmp/theirs/eof.db" -- "$demo" server --seconds 60 \
  < "$tmp/stdin" > "$tmp/eof.out" 2>&1 &
rec=$!
exec 7> "$tmp/stdin"
wait_attached "$tmp/eof.out"
[[ $(stat -c %u "/proc/$(pgrep -P $rec)") == 65534 ]] || fail "the command does not run as the pkexec user"
echo ignored >&7
sleep 0.3
kill -0 $rec || fail "stopped by a line on stdin"
exec 7>&-
for _ in $(seq 100); do kill -0 $rec 2>/dev/null || break; sleep 0.1; done
wait $rec || { cat "$tmp/eof.out"; fail "--stop-at-eof: exit status"; }
[[ $(stat -c '%u' "$tmp/theirs/eof.db") == 65534 ]] || fail "not the pkexec user's: $(stat -c '%u:%g' "$tmp/theirs/eof.db")"
[[ $(q "$tmp/theirs/eof.db" "SELECT end_reason FROM run") == interrupted ]] \
  || fail "end: $(q "$tmp/theirs/eof.db" 'SELECT end_reason FROM run')"

# Attaching to a running process: it describes its state first, then everything after.
# (Not with sanitizer builds: there libbpf cannot attach to a process that is already running —
# an open problem noted for the next session.)
if ldd "$demo" | grep libasan > /dev/null; then
  echo "SKIP part: attaching to a running ASan-built process is not supported yet"
else
"$demo" server --seconds 60 > /dev/null 2>&1 &
target=$!
sleep 1
"$wqscope" record -p "$target" -o "$tmp/attach.db" > "$tmp/out" 2>&1 &
rec=$!
db=$tmp/attach.db
# Attaching takes seconds on a busy machine: the target exits (SIGTERM: it drains and destroys its
# workqueues) once events are being committed.
wait_attached "$tmp/out"
# (a stream: the pool's first batch is in; the collector's own CHECK records come from the start)
for i in $(seq 300); do [[ $(q "$db" "SELECT count(*) > 0 FROM streams") == 1 ]] && break; sleep 0.1; done
kill -TERM $target
wait $rec || { cat "$tmp/out"; fail "record -p"; }
[[ $(q "$db" "SELECT end_reason FROM run") == "target exited" ]] || fail "attach: end reason"
[[ $(q "$db" "SELECT events > 0 AND events = (SELECT count(*) FROM events) AND lost_events = 0 AND dropped_events = 0
               FROM run") == 1 ]] || fail "attach: every event up to the exit committed and counted, none lost"
[[ $(q "$db" "SELECT count(*) FROM workqueues WHERE name LIKE 'server_%' AND destroyed_ns IS NOT NULL") == 3 ]] \
  || fail "attach: the target's last events (its workqueues destroyed) are not in the recording"
[[ $(q "$db" "SELECT count(*) FROM workqueues WHERE name IN ('server_io', 'server_log', 'server_crypto')") == 3 ]] \
  || fail "attach: workqueues created before the attach are known"
[[ $(q "$db" "SELECT count(*) > 100 FROM work_items WHERE ended_ns IS NOT NULL") == 1 ]] || fail "attach: items"
fi

# Ctrl-C ends the recording cleanly, the command too.
"$wqscope" record -o "$tmp/int.db" -- "$demo" server --seconds 60 > "$tmp/out" 2>&1 &
rec=$!
wait_attached "$tmp/out"
sleep 0.5
# Attached, the collector keeps no capability (it parses what the target wrote).
cap=$(awk '/^CapEff/ {print $2}' /proc/$rec/status 2>/dev/null)
[[ $cap == 0000000000000000 ]] || fail "the collector kept capabilities after attaching: CapEff=$cap"
kill -INT $rec
wait $rec || fail "interrupted record exit status"
[[ $(q "$tmp/int.db" "SELECT end_reason FROM run") == interrupted ]] || fail "interrupt: end reason"
[[ $(q "$tmp/int.db" "PRAGMA integrity_check") == ok ]] || fail "interrupt: integrity"

# Bad input: each a clear message and a non-zero exit.
expect 1 "already exists; wqscope never overwrites a recording" -- "$wqscope" record -o "$tmp/stall.db" -- "$demo" hog
expect 1 "cannot create the recording: No such file or directory" -- "$wqscope" record -o /nonexistent/x.db -- "$demo" hog
expect 1 "no process 99999999: check the pid" -- "$wqscope" record -p 99999999 -o "$tmp/n.db"
sleep 30 &
expect 1 "does not use libcmwq: none of the files it maps has a cmwq:batch probe" -- "$wqscope" record -p $! -o "$tmp/n.db"
kill $!
expect 1 "nosuchprogram: no such executable" -- "$wqscope" record -o "$tmp/n.db" -- nosuchprogram
expect 2 "give either -p PID or -- COMMAND (or --kernel), not neither" -- "$wqscope" record -o "$tmp/n.db"
expect 2 "--thresh 'soon' is not a duration" -- "$wqscope" record --thresh soon -o "$tmp/n.db" -- "$demo" hog
expect 1 "needs root, or CAP_BPF and CAP_PERFMON; run it with sudo" -- \
  setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$wqscope" record -o "$tmp/n2.db" -- "$demo" hog
[[ ! -e "$tmp/n2.db" ]] || fail "a refused recording left a file behind"
echo "record: stall (with its lockups row), owner under sudo/pkexec, attach, interrupt and 8 bad inputs behave"
