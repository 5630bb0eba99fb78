#!/usr/bin/env bash
# stats --kernel from the kernel's own counters (each pool_workqueue's stats[], summed per workqueue as
# tools/workqueue/wq_monitor.py sums them): during fsync'd writes, the change of each workqueue's
# `started` between two readings equals the number of workqueue_execute_start hits that bpftrace counts
# for it between them; every workqueue of the kernel's list is listed; the table is wq_monitor.py's.
wqscope=$1
source "$(dirname "$0")/common.sh"
trap 'cleanup; [[ -n ${mounted:-} ]] && umount /sys/kernel/tracing' EXIT
need_root "kernel mode (CAP_BPF, CAP_PERFMON, /proc/kallsyms)"

if ! mountpoint -q /sys/kernel/tracing; then  # bpftrace reads the tracepoints' formats there
  mount -t tracefs nodev /sys/kernel/tracing || { echo "SKIP: no tracefs for bpftrace's tracepoints"; exit 77; }
  mounted=1
fi

# The pwq whose STARTED process_one_work() has just counted is the running kworker's current_pwq (the
# rescuer's too). An item of a BH workqueue runs in softirq, perhaps over a kworker running an item of
# its own: "?" unless the kworker's current work is the one starting.
bpftrace -B line -e 'tracepoint:workqueue:workqueue_execute_start {
  $w = (struct worker *)((struct kthread *)curtask->worker_private)->data;
  if ((curtask->flags & 0x20) && (uint64)$w->current_work == (uint64)args->work) {
    printf("%llu,%s\n", nsecs, $w->current_pwq->wq->name);
  } else {
    printf("%llu,?\n", nsecs);
  } }' > "$tmp/hits" 2> "$tmp/bpftrace.err" &
bt=$!
wait_bpftrace_items "$tmp/hits" $bt

# Two readings 2 s apart (the first at once), fsync'd writes between them.
"$wqscope" stats --kernel --json --interval 2 --count 2 > "$tmp/counts" 2> "$tmp/stats.err" &
st=$!
for _ in $(seq 300); do [[ -s $tmp/counts ]] && break; sleep 0.02; done
for i in $(seq 30); do dd if=/dev/zero of="$tmp/f$i" bs=64k count=4 conv=fsync status=none; done
wait $st || { cat "$tmp/stats.err"; fail "stats --kernel --json"; }
grep -q "from its own counters" "$tmp/stats.err" || fail "not the kernel's counters: $(cat "$tmp/stats.err")"
sleep 0.3  # bpftrace's per-CPU buffers: what it saw reaches its output
kill -INT $bt; wait $bt
grep -q "Lost" "$tmp/bpftrace.err" && fail "bpftrace lost events: $(cat "$tmp/bpftrace.err")"

# Per name (6.18 has two "events" and two "events_unbound": bpftrace cannot tell them apart either).
# A hit from the start of a reading to 5 ms after its end may fall on either side of it (the counter
# is bumped under the pool's lock, the tracepoint fires after: an interrupt may come between): those,
# and only those, may make the two counts differ, and by no more than their number.
python3 - "$tmp/counts" "$tmp/hits" <<'PY' || fail "the counts differ"
import collections, json, sys
readings = collections.defaultdict(list)
for line in open(sys.argv[1]):
    o = json.loads(line)
    readings[tuple(o["read_ns"])].append(o)
assert len(readings) == 2, f"{len(readings)} readings"
(r1, w1), (r2, w2) = sorted(readings.items())
started = lambda wqs: collections.Counter({n: sum(o["started"] for o in wqs if o["name"] == n) for n in {o["name"] for o in wqs}})
delta = started(w2); delta.subtract(started(w1))
bh = {o["name"] for o in w2 if o["flags"] & 1}  # WQ_BH
slack = 5_000_000
inside, edge = collections.Counter(), collections.Counter()
for line in open(sys.argv[2]):
    if "," not in line: continue
    ts, name = line.rstrip("\n").split(",", 1)
    ts = int(ts)
    if r1[0] <= ts <= r1[1] + slack or r2[0] <= ts <= r2[1] + slack: edge[name] += 1
    elif r1[1] < ts < r2[0]: inside[name] += 1
# BH items cannot be named: their workqueues together against the "?" hits.
for n in [n for n in delta if n in bh]: delta["?"] += delta.pop(n)
bad, total = [], 0
print(f"items started over {(r2[0] - r1[1]) / 1e6:.0f} ms (counters | bpftrace | hits at a reading):")
for n in sorted(set(delta) | set(inside)):
    d, c, e = delta[n], inside[n], edge[n]
    total += d
    if d or c: print(f"  {n:<32} {d:>6} | {c:>6} | {e}")
    if d != c and not abs(d - c) <= e: bad.append(n)
assert total >= 20, f"only {total} items: the writes made no kernel work?"
assert not bad, f"differ: {bad}"
PY

# Every workqueue of the kernel's list: those sysfs shows (WQ_SYSFS), the system ones, those bpftrace
# saw run, and the workqueue of every rescuer kworker (kworker/R-NAME, cut to 15 characters), which
# is WQ_MEM_RECLAIM.
python3 - "$tmp/counts" "$tmp/hits" <<'PY' || fail "a workqueue is missing"
import glob, json, os, sys
wqs = [json.loads(l) for l in open(sys.argv[1])]
names = {o["name"] for o in wqs}
want = {os.path.basename(d) for d in glob.glob("/sys/devices/virtual/workqueue/*") if os.path.isfile(d + "/max_active")}
want |= {"events", "events_highpri", "events_long", "events_unbound", "events_freezable", "events_power_efficient",
         "events_freezable_pwr_efficient", "kblockd", "mm_percpu_wq", "writeback"}
want |= {l.rstrip("\n").split(",", 1)[1] for l in open(sys.argv[2]) if "," in l} - {"?"}
missing = sorted(want - names)
assert not missing, f"not listed: {missing}"
reclaim = {o["name"] for o in wqs if o["mem_reclaim"]}
for pid in os.listdir("/proc"):
    try: comm = open(f"/proc/{pid}/comm").read().rstrip("\n")
    except OSError: continue
    if comm.startswith("kworker/R-"):
        assert any(n.startswith(comm[10:]) for n in reclaim), f"the workqueue of rescuer {comm} is not listed"
print(f"{len(names)} names ({len(wqs) // 2} workqueues), {len(want)} of them expected")
PY

# The table: wq_monitor.py's columns; "-" where a column does not apply.
"$wqscope" stats --kernel --count 1 > "$tmp/table" 2> "$tmp/table.err" || { cat "$tmp/table.err"; fail "stats --kernel"; }
grep -q '^ \{28\}total  infl  CPUtime CPUitsv CMW/RPR  mayday rescued$' "$tmp/table" || fail "header: $(cat "$tmp/table")"
grep -qE '^events_unbound +[0-9]+ +[0-9]+ +[0-9.]+ +- +[0-9]+ +- +-$' "$tmp/table" || fail "unbound row: $(cat "$tmp/table")"
grep -qE '^mm_percpu_wq +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$' "$tmp/table" \
  || fail "per-cpu WQ_MEM_RECLAIM row: $(cat "$tmp/table")"
grep -q '?' "$tmp/table" && fail "a '?' in the kernel's own counters: $(cat "$tmp/table")"
echo "PASS"
