#!/usr/bin/env bash
# `wqscope import` of a generated 200 MB console log with 1000 lockup reports (DESIGN.md §7: seconds,
# not minutes). Each report: two lockup lines, a busy dump of 40 workqueues (a few hundred items, BAR()s,
# N*func), pool lines, a backtrace section, hog warnings, and the rest of the log's traffic around it
# (other subsystems' messages, printed twice by two consoles) to make up the size. Prints the time.
set -euo pipefail
wqscope=$1 dir=${2:-$(mktemp -d)} mb=${3:-200} reports=${4:-1000}
log=$dir/console-${mb}M.log db=$dir/console-${mb}M.db
python3 - "$log" "$mb" "$reports" <<'PY'
import sys, random
path, mb, reports = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(15)
funcs = ["vmstat_update", "psi_avgs_work", "drain_local_pages_wq", "lru_add_drain_per_cpu", "kfree_rcu_monitor",
         "flush_to_ldisc", "blk_mq_timeout_work", "nvme_scan_work", "xlog_cil_push_work", "wb_workfn"]
per_report = mb * 1024 * 1024 // reports
with open(path, "w") as out:
    t = 100.0
    for r in range(reports):
        lines = []
        def p(text):
            lines.append(f"[{t:12.6f}][    C1] {text}\n")
        size = 0
        t += 100.0
        p("BUG: workqueue lockup - pool cpus=1 node=0 flags=0x0 nice=0 stuck for 42s!")
        p("BUG: workqueue lockup - pool cpus=1 node=0 flags=0x0 nice=-20 stuck for 40s!")
        p("Showing busy workqueues and worker pools:")
        for w in range(40):
            p(f"workqueue wq{w}: flags=0x{8 if w % 3 == 0 else 0:x}")
            pool = 2 if w % 2 == 0 else 3
            nice = 0 if pool == 2 else -20
            p(f"  pwq {pool}: cpus=1 node=0 flags=0x0 nice={nice} active=8/256 refcnt=10")
            if w < 4:
                p(f"    in-flight: {1000 + w}:{funcs[w]} BAR({2000 + w})")
            items = [f"{rnd.randint(2, 5)}*{rnd.choice(funcs)}" if rnd.random() < 0.2 else rnd.choice(funcs) for _ in range(12)]
            if w % 5 == 0:
                items[3] += f" BAR({1000 + (w // 5) % 4})"
            p("    pending: " + ", ".join(items))
        p("pool 2: cpus=1 node=0 flags=0x0 nice=0 hung=42s workers=4 idle: 11 12")
        p("pool 3: cpus=1 node=0 flags=0x0 nice=-20 hung=40s workers=4 idle: 13 14")
        p("Showing backtraces of running workers in stalled CPU-bound worker pools:")
        p("pool 2:")
        p("task:kworker/1:1     state:R  running task     stack:0     pid:1000  tgid:1000  ppid:2      flags:0x00004000")
        p("Workqueue: wq0 vmstat_update")
        for f in ("__schedule+0x3ee/0xb90", "process_one_work+0x176/0x330", "worker_thread+0x252/0x390"):
            p(" " + f)
        p("workqueue: vmstat_update hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND")
        size = sum(len(l) for l in lines)
        while size < per_report:  # the rest of the console: other messages, every one printed twice
            t += 0.000013
            l = f"[{t:12.6f}][    C0] rcu: INFO: rcu_sched detected stalls on CPUs/tasks: {{ 1-... }} {rnd.randint(0, 99999)} jiffies\n"
            lines.append(l)
            lines.append(l)
            size += 2 * len(l)
        out.writelines(lines)
PY
ls -l "$log"
rm -f "$db"
# Wall time and CPU time (user + sys): on a shared machine the CPU time is the steadier number.
TIMEFORMAT="%R %U %S"
{ time "$wqscope" import "$log" -o "$db" 2> "$dir/import.err"; } 2> "$dir/time"
tail -1 "$dir/import.err"
read -r real user sys < "$dir/time"
python3 -c "import sys; r,u,s,mb,n=map(float,sys.argv[1:]); print(f'import of {mb:.0f} MB, {n:.0f} reports: {r:.2f} s wall, {u+s:.2f} CPU-s ({mb/(u+s):.0f} MB per CPU-s)')" \
  "$real" "$user" "$sys" "$mb" "$reports"
