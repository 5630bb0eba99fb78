#!/usr/bin/env bash
# wqscope-gui's command line: usage errors, a collector it cannot find; and, as root, a command it records
# itself (--screenshot, then the window closes and the collector finishes the recording) and a bad pid.
# Usage: cli_test.sh WQSCOPE_GUI WQSCOPE CMWQ_DEMO
set -uo pipefail
gui=$1 wqscope=$2 demo=$3
export QT_QPA_PLATFORM=offscreen
source "$(dirname "$0")/../collector/common.sh"
expect 2 "give either --pid PID or -- CMD, not both" -- "$gui" --pid 1 -- "$demo" server
expect 2 "--pid 'abc' is not a process id" -- "$gui" --pid abc
expect 2 "give a command after --" -- "$gui" --
expect 2 "-o FILE names the recording of --pid or -- CMD" -- "$gui" -o "$tmp/x.db" "$tmp/t.db"
expect 2 "--at and --live are for recordings" -- "$gui" --at 5 --pid 1
# Durations and instants: wqscope's grammar (duration.h), and its words.
expect 2 "--thresh 'soon' is not a duration like 30s or 500ms" -- "$gui" --thresh soon "$tmp/t.db"
expect 2 "--thresh '0' is not a duration like 30s or 500ms" -- "$gui" --thresh 0 "$tmp/t.db"
expect 2 "--at 'soon' is not an instant" -- "$gui" --at soon "$tmp/t.db"
touch "$tmp/old.db"
expect 2 "already exists; wqscope never overwrites a recording" -- "$gui" -o "$tmp/old.db" --pid 1
# The build puts the programs in one bin/, as installed: the GUI finds the collector next to it (used
# below with no PATH to it); a copy alone elsewhere does not.
[[ $(dirname "$gui") == $(dirname "$wqscope") ]] || fail "wqscope-gui ($gui) and wqscope ($wqscope) in different directories"
cp "$gui" "$tmp/alone-gui"
expect 1 "Cannot find the collector: no wqscope next to" -- env PATH=/nonexistent "$tmp/alone-gui" --screenshot "$tmp/n.png" --pid 1
if [[ $EUID -ne 0 ]]; then
  echo "SKIP part: recording needs root (CAP_BPF, CAP_PERFMON); checked usage errors only"
  exit 0
fi
export PATH=/usr/bin:/bin  # not the build's: the GUI finds wqscope next to itself
expect 1 "collector exited with status 1 (as root): wqscope record: no process 99999999" -- \
  "$gui" --screenshot "$tmp/n.png" --pid 99999999
[[ ! -e $tmp/n.png ]] || fail "a screenshot of nothing"
"$gui" --screenshot "$tmp/live.png" -o "$tmp/live.db" -- "$demo" server --seconds 60 > /dev/null 2> "$tmp/err" \
  || { cat "$tmp/err"; fail "screenshot of a recorded command"; }
[[ -s $tmp/live.png ]] || fail "no screenshot"
grep -qF "the recording is $tmp/live.db" "$tmp/err" || fail "where the recording is: $(cat "$tmp/err")"
# The window closed: the collector got SIGINT and ends its recording (it may finish after the GUI exits).
for i in $(seq 300); do
  [[ $(sqlite3 "$tmp/live.db" "SELECT end_reason FROM run" 2>/dev/null) == interrupted ]] && break
  sleep 0.1
done
[[ $(sqlite3 "$tmp/live.db" "SELECT end_reason FROM run") == interrupted ]] \
  || fail "the collector did not end its recording when the GUI closed: $(sqlite3 "$tmp/live.db" 'SELECT end_reason FROM run')"
# Accepted as wqscope accepts them: a duration with a unit or in bare seconds, an instant from the start or @NS.
start=$(sqlite3 "$tmp/live.db" "SELECT started_ns FROM run")
for args in "--thresh 3s --at 1.5" "--thresh 3 --at 500ms" "--thresh 1.5 --at @$((start + 1000000000))"; do
  rm -f "$tmp/r.png"
  "$gui" $args --screenshot "$tmp/r.png" "$tmp/live.db" > /dev/null 2> "$tmp/err" || { cat "$tmp/err"; fail "$args"; }
  [[ -s $tmp/r.png ]] || fail "$args: no screenshot"
done
echo "wqscope-gui: 9 usage errors, a missing collector, a bad pid, and a recorded command shown and stopped with the window"
