#!/usr/bin/env bash
# A real trace.dat of this machine's kernel: the workqueue events (and sched_switch) of fsync'd
# writes, captured in a tracefs instance of our own (other tracers' buffers untouched) and written by
# `trace-cmd extract` (`trace-cmd record` is refused in some sandboxes). `wqscope import` of the
# trace.dat and of `trace-cmd report`'s text of it give the same items per function, and those equal
# trace-cmd report's own count of workqueue_execute_start outside softirq (BH workqueues' items,
# which kernel mode leaves out too).
set -uo pipefail
wqscope=$1
source "$(dirname "$0")/../collector/common.sh"
need_root "capturing a kernel trace"
command -v trace-cmd > /dev/null || { echo "SKIP: trace-cmd is not installed (scripts/install-deps.sh)"; exit 77; }
command -v sqlite3 > /dev/null || { echo "SKIP: sqlite3 is not installed (scripts/install-deps.sh)"; exit 77; }
tracefs=/sys/kernel/tracing
if [[ ! -e $tracefs/instances ]]; then
  mount -t tracefs nodev $tracefs 2> /dev/null || { echo "SKIP: no tracefs and it cannot be mounted"; exit 77; }
fi
[[ -d $tracefs/events/workqueue ]] || { echo "SKIP: this kernel has no workqueue tracepoints"; exit 77; }
tmp=$(mktemp -d)
instance=wqscope-test-$$
trap 'rmdir "$tracefs/instances/$instance" 2> /dev/null; rm -rf "$tmp"' EXIT
fail=0
failed() { echo "FAIL: $*"; fail=1; }

mkdir "$tracefs/instances/$instance" || { echo "SKIP: cannot create a tracefs instance"; exit 77; }
dir=$tracefs/instances/$instance
echo mono > "$dir/trace_clock"
echo 1 > "$dir/events/workqueue/enable"
echo 1 > "$dir/events/sched/sched_switch/enable"
echo 1 > "$dir/tracing_on"
writes="for i in \$(seq 20); do dd if=/dev/zero of=$tmp/file bs=64k count=4 conv=fsync status=none; done"
if "$wqscope" record --kernel -o "$tmp/kernel.db" -- sh -c "$writes" > "$tmp/record.err" 2>&1; then
  recorded=1
else
  grep -q "built without the capture side" "$tmp/record.err" || { cat "$tmp/record.err"; failed "record --kernel"; }
  recorded=0
  sh -c "$writes"
fi
echo 0 > "$dir/tracing_on"
# trace-cmd sizes /proc/kallsyms, then reads it: a BPF program loaded or freed in between (other tests
# run in parallel) makes it refuse ("error in size of file"). Such a race is tried again.
for attempt in 1 2 3; do
  trace-cmd extract -B "$instance" -o "$tmp/trace.dat" > "$tmp/extract.log" 2>&1 && break
  grep -q "error in size of file '/proc/kallsyms'" "$tmp/extract.log" && ((attempt < 3)) ||
    { cat "$tmp/extract.log"; failed "trace-cmd extract"; exit 1; }
  echo "note: /proc/kallsyms changed while trace-cmd read it; extracting again"
done
trace-cmd report -i "$tmp/trace.dat" > "$tmp/report.txt" 2> /dev/null || failed "trace-cmd report"
# trace-cmd's own count: execute_start lines whose latency flags (-l) say they ran outside softirq.
trace-cmd report -l -i "$tmp/trace.dat" 2> /dev/null | grep -E ': workqueue_execute_start: ' |
  sed -E 's/.* [0-9]*(.)(.)(.)(.)(.) +[0-9]+\.[0-9]+: workqueue_execute_start: .*function ([^ ]+).*/\3 \6/' |
  awk '$1 != "s" { n[$2]++ } END { for (f in n) print f "|" n[f] }' | sort > "$tmp/expected"
[[ -s $tmp/expected ]] || failed "no workqueue_execute_start in the trace of fsync'd writes"

counts() {  # the recording's started items per function
  sqlite3 "$1" "SELECT func, count(*) FROM work_items WHERE started_ns IS NOT NULL GROUP BY func" | sort
}
"$wqscope" import "$tmp/trace.dat" -o "$tmp/dat.db" 2> "$tmp/dat.err" || { cat "$tmp/dat.err"; failed "import trace.dat"; }
"$wqscope" import "$tmp/report.txt" -o "$tmp/text.db" 2> "$tmp/text.err" || { cat "$tmp/text.err"; failed "import report"; }
counts "$tmp/dat.db" > "$tmp/dat.counts"
counts "$tmp/text.db" > "$tmp/text.counts"
diff "$tmp/expected" "$tmp/dat.counts" > /dev/null || { diff "$tmp/expected" "$tmp/dat.counts"; failed "trace.dat import != trace-cmd report's count"; }
diff "$tmp/dat.counts" "$tmp/text.counts" > /dev/null || { diff "$tmp/dat.counts" "$tmp/text.counts"; failed "trace.dat import != report text import"; }
grep -q "(trace.dat, " "$tmp/dat.err" || failed "trace.dat not read as trace.dat: $(cat "$tmp/dat.err")"
grep -q "(trace-cmd report, " "$tmp/text.err" || failed "report not read as trace-cmd report: $(cat "$tmp/text.err")"
if ((recorded)); then
  lo=$(sqlite3 "$tmp/kernel.db" "SELECT min(started_ns) + 1000000 FROM work_items")
  hi=$(sqlite3 "$tmp/kernel.db" "SELECT max(started_ns) - 1000000 FROM work_items")
  span() { sqlite3 "$1" "SELECT func, count(*) FROM work_items WHERE started_ns BETWEEN $lo AND $hi GROUP BY func" | sort; }
  span "$tmp/kernel.db" > "$tmp/kernel.span"
  span "$tmp/dat.db" > "$tmp/dat.span"
  [[ -s $tmp/kernel.span ]] || failed "record --kernel recorded no items"
  diff "$tmp/kernel.span" "$tmp/dat.span" > /dev/null ||
    { diff "$tmp/kernel.span" "$tmp/dat.span"; failed "record --kernel != the trace.dat's import over the same span"; }
  echo "record --kernel and the trace.dat over the same span: $(wc -l < "$tmp/kernel.span") functions, equal"
fi
# Every reader works on the import.
for cmd in show stats replay explain; do "$wqscope" $cmd "$tmp/dat.db" > /dev/null 2>&1 || failed "$cmd of the import"; done
"$wqscope" export "$tmp/dat.db" --perfetto "$tmp/x.json" 2> /dev/null || failed "export of the import"
echo "trace.dat of fsync'd writes: $(wc -l < "$tmp/expected") functions, $(awk -F'|' '{ s += $2 } END { print s }' "$tmp/expected") items"
cat "$tmp/dat.counts"
exit $fail
