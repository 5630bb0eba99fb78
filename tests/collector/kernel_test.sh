#!/usr/bin/env bash
# Kernel mode on this machine's kernel: work it does for a workload of ours (writes and sync),
# recorded by `wqscope record --kernel`, counted per function against bpftrace's independent count
# of the same tracepoint over the same interval; then `stats --kernel` and `watch --kernel`.
wqscope=$1
source "$(dirname "$0")/common.sh"
need_root "kernel mode (CAP_BPF, CAP_PERFMON, /proc/kallsyms)"
# The group the recording is given to (--group): a throwaway one.
group=wqkt$$
groupadd "$group" || fail "groupadd $group"
trap 'cleanup; groupdel "$group"; [[ -n ${mounted:-} ]] && umount /sys/kernel/tracing' EXIT

# Work the kernel does for us: page cache writeback, block I/O completion, journal (enough that the
# interval below, which leaves out the first and last 50 items, still holds 30 or more).
workload="for i in \$(seq 80); do dd if=/dev/zero of=$tmp/f\$i bs=64k count=8 conv=fsync status=none; done; sync"

# The second count: bpftrace on the tracefs tracepoint, items run by kworkers (PF_WQ_WORKER), as kernel
# mode traces them. tracefs is not mounted on every machine: mount it for bpftrace's formats.
if ! mountpoint -q /sys/kernel/tracing; then
  mount -t tracefs nodev /sys/kernel/tracing || fail "cannot mount tracefs for bpftrace"
  mounted=1
fi
bpftrace -B line -e 'tracepoint:workqueue:workqueue_execute_start /curtask->flags & 0x20/ {
  printf("%llu,%s\n", nsecs, ksym(args->function)); }' > "$tmp/bpftrace.csv" 2> "$tmp/bpftrace.err" &
bt=$!
wait_bpftrace_items "$tmp/bpftrace.csv" $bt

"$wqscope" record --kernel --group "$group" -o "$tmp/k.db" -- sh -c "$workload" > "$tmp/out" 2>&1 || { cat "$tmp/out"; fail "record --kernel"; }
sleep 0.5  # bpftrace's per-CPU buffers: what it saw during the recording reaches its output
kill -INT $bt; wait $bt
db=$tmp/k.db
[[ $(q "$db" "PRAGMA integrity_check") == ok ]] || fail "integrity"
[[ $(q "$db" "SELECT pid, dropped_events, lost_events FROM run") == "0|0|0" ]] || fail "run: $(q "$db" 'SELECT * FROM run')"
grep -q "Lost" "$tmp/bpftrace.err" && fail "bpftrace lost events: $(cat "$tmp/bpftrace.err")"
# Kworkers that wait inside items (I/O; not in every run) give off-CPU records of kernel mode's own:
# kept in off_cpu, none skipped.
! grep -q "out of sequence" "$tmp/out" || fail "records skipped: $(cat "$tmp/out")"

# The recording is given to a group (or the sudo user): read by a member (nobody, with only that group),
# no value in it is a kernel address of /proc/kallsyms (read here as root) or looks like one (the
# kernel's half, 0xffff8000_00000000 up, but for x86-64's unused hole 0xffffffff_00000000..7fffffff,
# where a 32-bit -1 next to a small field lands, and -4095..-1, error values): integers, hex in texts,
# and BLOBs: every 8 bytes at every byte offset, either byte order, against kallsyms (but for those
# whose high half is 0xffffffff: a 32-bit -1 beside any 32-bit field reads as one of the ~10^5 text
# addresses once in a few recordings); the snapshots' CBOR integers against the range. The log is packed
# (deltas, not fields): its records are the rows of `events` and `names`, checked as integers and texts
# (text addresses included), the recording being derived to its end. Items and unnamed functions are hashed.
# What the member reads (the file's bytes: the -wal is gone with the recording) is scanned as root.
[[ $(stat -c '%a %G' "$db") == "640 $group" ]] || fail "the recording is not the group's: $(stat -c '%a %G' "$db")"
[[ ! -e $db-wal ]] || fail "the -wal outlived the recording"
setpriv --reuid=nobody --regid="$group" --clear-groups --inh-caps=-all cat "$db" > "$tmp/as-member.db" \
  || fail "a member of $group cannot read the recording"
python3 - "$tmp/as-member.db" <<'PY' || fail "a kernel address in the recording"
import re, sqlite3, struct, sys
addrs = {int(line.split()[0], 16) for line in open('/proc/kallsyms')} - {0}
assert addrs, "kallsyms shows no addresses to root"
KERNEL, HOLE, ERRORS = 0xffff800000000000, range(0xffffffff00000000, 0xffffffff80000000), 2**64 - 4095
def kernel(u):  # an unsigned 64-bit value
    return (KERNEL <= u < ERRORS and u not in HOLE) or u in addrs
def words(blob, at, order):  # every 8 bytes from offset `at` on
    return struct.iter_unpack(order + 'Q', blob[at:at + (len(blob) - at) // 8 * 8])
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
looks = re.compile(r'ffff[0-9a-f]{12}', re.I)
cbor_u64 = re.compile(rb'\x1b(.{8})', re.S)
bad, blobs = [], 0
for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
    for row in db.execute(f'SELECT * FROM "{table}"'):
        for v in row:
            if isinstance(v, int) and kernel(v & (2**64 - 1)):
                bad.append((table, hex(v & (2**64 - 1))))
            elif isinstance(v, str) and (looks.search(v) or any(int(h, 16) in addrs for h in re.findall(r'[0-9a-f]{8,16}', v))):
                bad.append((table, v))
            elif isinstance(v, bytes):
                blobs += len(v)
                anywhere = {w for at in range(8) for order in '<>' for (w,) in words(v, at, order) if w >> 32 != 0xffffffff}
                fields = {int.from_bytes(m.group(1), 'big') for m in cbor_u64.finditer(v)} if table == 'snapshots' else set()
                bad += [(table, f'{w:#x} in a BLOB') for w in sorted((anywhere & addrs) | {w for w in fields if kernel(w)})]
assert blobs, "no BLOB read"
derived, last = db.execute("SELECT derived, (SELECT max(last) FROM log) FROM run").fetchone()
assert derived == last, f"events derived to {derived} of the log's {last} records: not all of them checked"
if bad:
    sys.exit(f"{len(bad)} values, e.g. {bad[:5]}")
PY
# The interval: from the middle of the widest gap among our first 50 starts to that among our last 50
# (two tracers stamp one hit some ns apart: a boundary inside a gap cannot split them).
read -r lo hi < <(q "$db" "
  WITH s AS (SELECT started_ns t, row_number() OVER (ORDER BY started_ns) i, count(*) OVER () n
             FROM work_items WHERE started_ns IS NOT NULL),
       g AS (SELECT a.t t0, b.t t1, a.i i, a.n n FROM s a JOIN s b ON b.i = a.i + 1)
  SELECT (SELECT (t0 + t1) / 2 FROM g WHERE i <= 50 ORDER BY t1 - t0 DESC LIMIT 1) || ' ' ||
         (SELECT (t0 + t1) / 2 FROM g WHERE i >= n - 50 ORDER BY t1 - t0 DESC LIMIT 1)" | tr '|' ' ')
[[ -n $lo && -n $hi ]] || fail "too few items recorded: $(q "$db" 'SELECT count(*) FROM work_items')"
q "$db" "SELECT func, count(*) FROM work_items WHERE started_ns > $lo AND started_ns < $hi GROUP BY func ORDER BY func" \
  > "$tmp/ours"
grep , "$tmp/bpftrace.csv" > "$tmp/items.csv"  # without bpftrace's "Attaching 1 probe..."
sqlite3 "$tmp/bt.db" ".mode csv" "CREATE TABLE s (ts INTEGER, func TEXT)" ".import $tmp/items.csv s"
q "$tmp/bt.db" "SELECT func, count(*) FROM s WHERE ts > $lo AND ts < $hi GROUP BY func ORDER BY func" > "$tmp/theirs"
echo "items per function over $(( (hi - lo) / 1000000 )) ms (wqscope | bpftrace):"
join -t '|' -a1 -a2 -e 0 -o 0,1.2,2.2 "$tmp/ours" "$tmp/theirs" | sed 's/^/  /'
diff "$tmp/ours" "$tmp/theirs" > /dev/null || fail "the counts differ"
total=$(awk -F'|' '{ n += $2 } END { print n }' "$tmp/ours")
(( total >= 30 )) || fail "only $total items in the interval: the workload made no kernel work?"
grep -qE '^(wb_workfn|ext4_end_io_rsv_work|blk_mq_run_work_fn|blk_mq_requeue_work|flush_to_ldisc)\|' "$tmp/ours" \
  || fail "none of the workload's functions (writeback, ext4, block layer) was recorded"

# Unbound pools (ext4-rsv-conversion's, writeback's) are named by their attributes' cpumask, read
# through BTF: within the possible CPUs, as pr_cont_pool_info() prints it (flags=0x4: DISASSOCIATED).
unbound=$(q "$db" "SELECT DISTINCT text FROM names WHERE text LIKE ' cpus=%'")
[[ -n $unbound ]] || fail "no unbound pool named by its cpumask: $(q "$db" 'SELECT * FROM names')"
while read -r line; do
  [[ $line =~ ^cpus=([0-9,-]+)(\ node=[0-9]+)?\ flags=0x[0-9a-f]*4\ nice=-?[0-9]+$ ]] || fail "unbound pool: '$line'"
  python3 -c "import sys; r = lambda s: {c for p in s.split(',') for c in range(int(p.split('-')[0]), int(p.split('-')[-1]) + 1)}
sys.exit(not r(sys.argv[1]) <= r(open('/sys/devices/system/cpu/possible').read().strip()))" "${BASH_REMATCH[1]}" \
    || fail "unbound pool's CPUs ${BASH_REMATCH[1]} are not possible CPUs"
done <<<"$unbound"

# The readers work on kernel recordings unchanged.
"$wqscope" show "$db" > "$tmp/show" || fail "show"
grep -q "^Showing busy workqueues and worker pools:" "$tmp/show" || fail "show: $(cat "$tmp/show")"
"$wqscope" stats "$db" | grep -E '^(writeback|kblockd|events) +[1-9]' > /dev/null || fail "stats of the recording"
"$wqscope" replay "$db" --thresh 1s 2> "$tmp/replay" > /dev/null || fail "replay"
"$wqscope" export "$db" --perfetto "$tmp/k.json" 2> "$tmp/export" || { cat "$tmp/export"; fail "export"; }
grep -q '"name":"ext4_end_io_rsv_work"\|"name":"blk_mq_run_work_fn"\|"name":"wb_workfn"' "$tmp/k.json" \
  || fail "export: no slice of the workload's items"

# Its dumps are printed as this kernel prints them (6.9 on: "active=N refcnt=M", max_active is the
# workqueue's): the dump at the start of the longest item lists that item's pwq.
at=$(q "$db" "SELECT started_ns FROM work_items WHERE ended_ns > started_ns ORDER BY ended_ns - started_ns DESC LIMIT 1")
"$wqscope" show "$db" --at "@$at" > "$tmp/dump" || fail "show --at @$at"
grep -q '^  pwq ' "$tmp/dump" || fail "no pwq line in the dump at the longest item's start: $(cat "$tmp/dump")"
IFS=. read -r major minor _ <<<"$(uname -r)"
if (( major > 6 || (major == 6 && minor >= 9) )); then form=' active=[0-9]+ refcnt='; else form=' active=[0-9]+/[0-9]+ refcnt='; fi
! grep '^  pwq ' "$tmp/dump" | grep -vE "$form" || fail "pwq lines not in the form of kernel $(uname -r): $(cat "$tmp/dump")"

# stats --kernel: wq_monitor.py's table for the running kernel, live.
"$wqscope" stats --kernel --interval 0.5 --count 2 > "$tmp/stats" 2> "$tmp/stats.err" || { cat "$tmp/stats.err"; fail "stats --kernel"; }
[[ $(grep -c '^wq_monitor at' "$tmp/stats") == 2 ]] || fail "two tables: $(cat "$tmp/stats")"
grep -q 'total  infl  CPUtime' "$tmp/stats" || fail "wq_monitor's columns"

# watch --kernel: runs with the user's threshold and ends with the workload.
"$wqscope" watch --kernel --thresh 10s -- sh -c "$workload" > "$tmp/watch" 2>&1 || { cat "$tmp/watch"; fail "watch --kernel"; }
grep -q "watching the kernel's workqueues" "$tmp/watch" || fail "watch: $(cat "$tmp/watch")"
# Bad combinations are refused.
"$wqscope" watch --kernel -p 1 > "$tmp/bad" 2>&1; [[ $? == 2 ]] || fail "--kernel with -p accepted"
grep -q "drop -p" "$tmp/bad" || fail "message: $(cat "$tmp/bad")"
echo "PASS"
