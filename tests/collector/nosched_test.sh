#!/usr/bin/env bash
# A kernel that refuses the scheduler program (off-CPU times): the probe program still loads and
# attaches, the pool's own records tell their story (lockup, stall), and wqscope says what is missing,
# when it starts and in its last words. WQSCOPE_TEST_BREAK_SCHED makes the program one the kernel refuses.
wqscope=$1 target=$2
source "$(dirname "$0")/common.sh"
need_root "watching (CAP_BPF, CAP_PERFMON)"

WQSCOPE_TEST_BREAK_SCHED=1 "$wqscope" watch --thresh 1s --json -o "$tmp/n.db" -- "$target" 2 > "$tmp/out" 2> "$tmp/err" \
  || { cat "$tmp/err"; fail "watch"; }
grep -qF "wqscope: warning: the kernel refused the scheduler program" "$tmp/err" || { cat "$tmp/err"; fail "not said"; }
grep -qF "wqscope: note: the kernel refused the scheduler program" "$tmp/err" || { cat "$tmp/err"; fail "not in the last words"; }
grep -qF "no off-CPU times of workers and no hidden-block alerts" "$tmp/err" || fail "what is missing"
grep -qF "target exited with status 3" "$tmp/err" || { cat "$tmp/err"; fail "target"; }
for kind in lockup stall; do grep -qF "\"type\":\"$kind\"" "$tmp/out" || { cat "$tmp/out"; fail "no $kind alert"; }; done
! grep -qF '"type":"hidden_block"' "$tmp/out" || fail "a hidden block without the scheduler program?"
[[ $(q "$tmp/n.db" "SELECT count(*) FROM off_cpu") -eq 0 ]] || fail "off-CPU records without the scheduler program?"
[[ $(q "$tmp/n.db" "SELECT count(*) FROM work_items") -gt 0 ]] || fail "nothing recorded"
# With it, the same target shows its hidden block.
"$wqscope" watch --thresh 1s --json -- "$target" 2 > "$tmp/out2" 2> "$tmp/err2" || { cat "$tmp/err2"; fail "watch"; }
grep -qF '"type":"hidden_block"' "$tmp/out2" || { cat "$tmp/err2"; fail "no hidden block with the scheduler program"; }
! grep -q "scheduler program" "$tmp/err2" || fail "a warning with the scheduler program loaded"
echo "nosched: the probe alone when the kernel refuses the scheduler program, and wqscope says what is missing"
