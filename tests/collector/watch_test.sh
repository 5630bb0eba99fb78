#!/usr/bin/env bash
# wqscope watch: the collector's own lockup detection, on time, in the kernel's words.
wqscope=$1 demo=$2
source "$(dirname "$0")/common.sh"
need_root "watching (CAP_BPF, CAP_PERFMON)"

# seed 004 on real threads: the DISASSOCIATED pool of a never-onlined CPU stops making progress.
cat > "$tmp/hook" <<HOOK
#!/bin/sh
cat > "$tmp/hook.json"
env > "$tmp/hook.env"
HOOK
chmod +x "$tmp/hook"
"$wqscope" watch --thresh 1s --json --exec "$tmp/hook" -o "$tmp/w.db" -- "$demo" hotplug --seconds 3 \
  > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err"; fail "watch"; }
alerts=$(grep -c '"type":"lockup"' "$tmp/out")
[[ $alerts -eq 1 ]] || { cat "$tmp/out"; fail "expected exactly one lockup alert, got $alerts"; }
line=$(grep '"type":"lockup"' "$tmp/out")
grep -qF '"message":"BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 1s!"' <<<"$line" \
  || fail "not the kernel's line: $line"
stuck=$(sed -E 's/.*"stuck_ms":([0-9]+).*/\1/' <<<"$line")
# Not before the threshold, and not on the kernel's timing (up to 2x): the precise latency
# (target: threshold + 100 ms) is a benchmark's job, not a timed test's on a loaded machine.
(( stuck >= 1000 && stuck < 2000 )) || fail "alert at ${stuck} ms, not within 1000-2000 ms"
for i in $(seq 50); do [[ -s "$tmp/hook.env" ]] && break; sleep 0.1; done
grep -qF '"pool":0' "$tmp/hook.json" || fail "the hook did not get the alert as JSON"
[[ $(cat "$tmp/hook.env" | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=') == "PATH=/usr/sbin:/usr/bin:/sbin:/bin" ]] \
  || { cat "$tmp/hook.env"; fail "the hook's environment is not sanitised"; }
[[ $(sqlite3 "$tmp/w.db" "SELECT count(*) > 0 FROM events") == 1 ]] || fail "watch -o did not record"

# Plain text: the kernel's line. And a pool that keeps making progress raises nothing.
"$wqscope" watch --thresh 1s -- "$demo" hotplug --seconds 2 > "$tmp/out2" 2>/dev/null || fail "watch text"
grep -qx "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 1s!" "$tmp/out2" || fail "text alert"
# Then the kernel's busy dump, rebuilt by the collector: seed 004's in-flight flusher and the barrier.
grep -A7 "^BUG: workqueue lockup" "$tmp/out2" > "$tmp/dump"
pid=$(sed -nE 's/^    in-flight: ([0-9]+):wait_rcu_exp_gp$/\1/p' "$tmp/dump")
[[ -n $pid ]] || { cat "$tmp/out2"; fail "no in-flight flusher in the dump"; }
diff <(sed -n 2,7p "$tmp/dump") - <<DUMP || fail "the busy dump"
Showing busy workqueues and worker pools:
workqueue rcu_gp: flags=0x8
  pwq 22: cpus=11 node=0 flags=0x0 nice=0 active=1/256 refcnt=2
    in-flight: $pid:wait_rcu_exp_gp
workqueue rcu_par_gp: flags=0x8
  pwq 0: cpus=0 node=0 flags=0x4 nice=0 active=1/256 refcnt=3
DUMP
grep -qx "    pending: sync_rcu_exp_select_node_cpus BAR($pid)" "$tmp/dump" || fail "the barrier in the dump"
"$wqscope" watch --thresh 1s -- "$demo" server --seconds 2 > "$tmp/out3" 2>/dev/null || fail "watch server"
! grep -q "lockup" "$tmp/out3" || { cat "$tmp/out3"; fail "false alarm on a healthy server"; }

# A workqueue stall no pool shows: an item held back by max_active 1 behind one that never ends.
"$wqscope" watch --thresh 500ms --json -- "$demo" stall --seconds 2 > "$tmp/out4" 2>/dev/null || fail "watch stall"
grep -qF '"type":"stall","workqueue":"stall_wq"' "$tmp/out4" || { cat "$tmp/out4"; fail "no stall alert"; }
grep -qF 'stalled for 0.5s: 1 item(s) held back by max_active 1 behind 1 in flight' "$tmp/out4" || fail "stall message"

# CPU hogs in the kernel's words, with its back-off (4th, 5th, 7th mark...).
"$wqscope" watch --json -- "$demo" hog --seconds 2 > "$tmp/out5" 2>/dev/null || fail "watch hog"
grep -qF '"message":"workqueue: crc_all_the_things hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND"' \
  "$tmp/out5" || { cat "$tmp/out5"; fail "no hog alert"; }
! grep -qF '3 times' "$tmp/out5" || fail "hog reported before the 4th time"
# A mayday storm: worker creation fails and the pool keeps calling the rescuer.
"$wqscope" watch --json -o "$tmp/xf.db" -- "$demo" xfslogd-2009 --seconds 2 > "$tmp/out6" 2>/dev/null || fail "watch xfslogd"
grep -qF '"type":"mayday_storm"' "$tmp/out6" || { cat "$tmp/out6"; fail "no mayday storm alert"; }
grep -qF 'called the rescuers of xfslogd 10 times' "$tmp/out6" || fail "storm message"
[[ $(sqlite3 "$tmp/xf.db" "SELECT maydays >= 10 AND rescued > 0 AND workqueues = 'xfslogd' FROM mayday_episodes") == 1 ]] \
  || fail "mayday episode: $(sqlite3 "$tmp/xf.db" 'SELECT * FROM mayday_episodes')"

# A worker that blocks in a plain read() inside an item: sched_switch shows it off the CPU while the
# pool still counts it as running; the recording keeps the interval.
"$wqscope" watch --thresh 1s --json -o "$tmp/hb.db" -- "$demo" hidden-block --seconds 2 > "$tmp/out7" 2>/dev/null \
  || fail "watch hidden-block"
grep -qF '"type":"hidden_block"' "$tmp/out7" || { cat "$tmp/out7"; fail "no hidden-block alert"; }
grep -qF 'in nl_recv_blocking without telling the pool (task state S)' "$tmp/out7" || fail "hidden-block message"
[[ $(sqlite3 "$tmp/hb.db" "SELECT count(*) FROM off_cpu WHERE hidden = 1 AND func = 'nl_recv_blocking'
                            AND end_ns - start_ns >= 1000000000") == 1 ]] \
  || fail "off_cpu: $(sqlite3 "$tmp/hb.db" 'SELECT * FROM off_cpu')"

# Replay equivalence: the alerts of watch live and of replay over what it recorded are the same (apart
# from wall-clock fields: time_ns, stuck_ms).
alerts_of() { grep -o '"message":"[^"]*"' "$1" | sort; }
for run in "out w.db 1s" "out6 xf.db 30s" "out7 hb.db 1s"; do
  read -r live db thresh <<<"$run"
  "$wqscope" replay --json --thresh "$thresh" "$tmp/$db" > "$tmp/replayed" 2>/dev/null || fail "replay $db"
  diff <(alerts_of "$tmp/$live") <(alerts_of "$tmp/replayed") || fail "replay of $db: not the alerts watch raised"
done

for bad in 0 abc -5s 10h; do
  out=$("$wqscope" watch --thresh "$bad" -- "$demo" hog 2>&1)
  [[ $? -eq 2 ]] && grep -qF "is not a duration like 30s or 500ms" <<<"$out" || fail "--thresh $bad: $out"
done
out=$("$wqscope" watch --exec /nonexistent/hook -- "$demo" hog 2>&1)
[[ $? -eq 2 ]] && grep -qF "not an executable file" <<<"$out" || fail "--exec /nonexistent/hook: $out"
echo "watch: one alert at ${stuck} ms for a 1 s threshold; busy dump, hogs, mayday storm, hidden block, replay equivalence, hook, recording, text mode and bad input behave"
