#!/usr/bin/env bash
# A real queue storm: a loop writing a byte to a pty and reading it back makes the kernel queue
# flush_to_ldisc (tty_flip_buffer_push) thousands of times a second. `watch --kernel` reports it by
# name; a trace of workqueue_queue_work alone (the cmwq guide's set_event) imported reports it too,
# and `stats --top` puts it first by queue rate.
set -uo pipefail
wqscope=$1
source "$(dirname "$0")/../collector/common.sh"
need_root "tracing the kernel's workqueues"
command -v python3 > /dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
tmp=$(mktemp -d)
tracefs=/sys/kernel/tracing
instance=wqscope-storm-$$
trap 'rmdir "$tracefs/instances/$instance" 2> /dev/null; rm -rf "$tmp"' EXIT
fail=0
failed() { echo "FAIL: $*"; fail=1; }
cat > "$tmp/storm.py" <<'PY'
import os, pty, sys, time
m, s = pty.openpty()
end = time.time() + float(sys.argv[1])
while time.time() < end:
    for _ in range(100):
        os.write(s, b"x")
        os.read(m, 16)
PY

"$wqscope" watch --kernel --json --storm 2000 -- python3 "$tmp/storm.py" 1.5 > "$tmp/watch.json" 2> "$tmp/watch.err" ||
  { cat "$tmp/watch.err"; failed "watch --kernel"; }
grep '"type":"queue_storm"' "$tmp/watch.json" | grep 'flush_to_ldisc on workqueue events_unbound queued 2001 times' > /dev/null ||
  failed "watch --kernel reported no queue storm of flush_to_ldisc: $(cat "$tmp/watch.json" "$tmp/watch.err")"

# The same storm as the guide captures it: workqueue_queue_work alone, in a tracefs instance of ours.
if [[ ! -e $tracefs/instances ]]; then
  mount -t tracefs nodev $tracefs 2> /dev/null || { echo "SKIP (import part): no tracefs and it cannot be mounted"; exit $fail; }
fi
dir=$tracefs/instances/$instance
mkdir "$dir" || { failed "cannot create a tracefs instance"; exit 1; }
echo 1 > "$dir/events/workqueue/workqueue_queue_work/enable"
echo 1 > "$dir/tracing_on"
python3 "$tmp/storm.py" 1
echo 0 > "$dir/tracing_on"
cp "$dir/trace" "$tmp/trace.txt"
"$wqscope" import --storm 2000 "$tmp/trace.txt" -o "$tmp/storm.db" 2> "$tmp/import.err" || { cat "$tmp/import.err"; failed "import"; }
[[ $(sqlite3 "$tmp/storm.db" "SELECT count(*) FROM alerts WHERE kind = 'queue_storm' AND message LIKE '%flush_to_ldisc%'") -ge 1 ]] ||
  failed "the import has no queue storm alert: $(sqlite3 "$tmp/storm.db" 'SELECT kind, message FROM alerts')"
"$wqscope" stats --top=1 "$tmp/storm.db" > "$tmp/top.txt" || failed "stats --top"
sed -n 4p "$tmp/top.txt" | grep ' flush_to_ldisc  *events_unbound ' > /dev/null || failed "stats --top: $(cat "$tmp/top.txt")"
"$wqscope" replay --json --storm 2000 "$tmp/storm.db" 2> /dev/null | grep '"type":"queue_storm"' > /dev/null || failed "replay: no storm"
head -4 "$tmp/top.txt"
exit $fail
