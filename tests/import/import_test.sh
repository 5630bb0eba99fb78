#!/usr/bin/env bash
# Kernel logs imported: for each sample (shared/inputs/kernel-logs and tests/import/logs), the counts
# per report as the log says (expected/NAME.counts), and `show --at` of each report equal line for
# line to the log's report (expected/NAME.report-N: the log's lockup and dump lines, prefixes
# stripped, wraps joined, duplicates dropped; made from the logs independently of wqscope's reader).
# Then explain on sample a, seed 004's recording and a cycle, and the bad inputs.
set -uo pipefail
wqscope=$1 sim=$2 root=$3 shared=${4:-}
here=$root/tests/import
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
failed() { echo "FAIL: $*"; fail=1; }

# a-f are copies of shared/inputs/kernel-logs (the test runs without that folder); a sample there
# that is not copied yet is tested too.
logs=("$here"/logs/[a-j]*)
if [[ -n $shared && -d $shared ]]; then
  for log in "$shared"/*; do [[ -e $here/logs/$(basename "$log") ]] || logs+=("$log"); done
fi
checked=0
for log in "${logs[@]}"; do
  name=$(basename "$log")
  name=${name%.*}
  db=$tmp/$name.db
  if ! "$wqscope" import "$log" -o "$db" 2> "$tmp/$name.err"; then
    failed "import $name: $(cat "$tmp/$name.err")"
    continue
  fi
  # "report N (lines A-B) at @NS: counts, ..." -> "report N: counts"
  sed -n 's/^wqscope import: report \([0-9]*\) (lines [0-9-]*) at @[0-9]*: /report \1: /p' "$tmp/$name.err" > "$tmp/$name.counts"
  diff -u "$here/expected/$name.counts" "$tmp/$name.counts" > "$tmp/diff" || { failed "$name counts"; cat "$tmp/diff"; }
  while read -r n at; do
    "$wqscope" show "$db" --at "@$at" > "$tmp/show" 2>&1 || failed "$name show --at @$at: $(cat "$tmp/show")"
    grep -E '^(BUG: workqueue lockup|Showing busy|workqueue .*: flags=|  pwq |    (in-flight|pending|inactive|delayed):|pool [0-9]+: cpus)' \
      "$tmp/show" > "$tmp/$name.report-$n"
    diff -u "$here/expected/$name.report-$n" "$tmp/$name.report-$n" > "$tmp/diff" ||
      { failed "$name report $n: show --at @$at"; cat "$tmp/diff"; }
    checked=$((checked + 1))
  done < <(sed -n 's/^wqscope import: report \([0-9]*\) (lines [0-9-]*) at @\([0-9]*\):.*/\1 \2/p' "$tmp/$name.err")
done

expect_in() {  # expect_in WHAT FILE TEXT...
  local what=$1 file=$2
  shift 2
  for text in "$@"; do grep -qF -- "$text" "$file" || { failed "$what: no '$text' in:"; cat "$file"; }; done
}

# explain: sample a names 4410's wait for drain_local_pages_wq and the running worker 57 of pool 6.
if [[ -f $tmp/a-console-6.10-callerid.db ]]; then
  at=$(sed -n 's/^wqscope import: report 1 .* at @\([0-9]*\):.*/\1/p' "$tmp/a-console-6.10-callerid.err")
  "$wqscope" explain "$tmp/a-console-6.10-callerid.db" --at "@$at" > "$tmp/explain-a" 2>&1 || failed "explain a"
  expect_in "explain a" "$tmp/explain-a" "worker 4410 (wb_workfn, pool 8, state R) -> drain_local_pages_wq [BAR(4410)] running on worker 57 -> worker 57 (drain_local_pages_wq, pool 6, state R)" \
    "worker 57 runs drain_local_pages_wq and does not sleep (task state R: the pool counts it as running)" \
    "pool 7 has 1 idle worker(s), but CPU 1 runs worker 57 (drain_local_pages_wq, pool 6), which does not sleep"
  "$wqscope" explain "$tmp/a-console-6.10-callerid.db" --at "@$at" --json > "$tmp/explain-a.json" 2>&1 || failed "explain a --json"
  python3 - "$tmp/explain-a.json" <<'EOF' || failed "explain a --json: $(cat "$tmp/explain-a.json")"
import json, sys
e = json.load(open(sys.argv[1]))
pool6 = [p for p in e["pools"] if p["pool"] == 6][0]
assert any(c["kind"] == "running" and c["worker"] == 57 for c in pool6["causes"]), pool6["causes"]
def direct(links):
  return (links[0]["worker"] == 4410 and links[1]["item"] == "drain_local_pages_wq" and links[1]["barrier"] == 4410
          and links[-1]["worker"] == 57 and links[-1]["pool"] == 6)
assert direct(pool6["chains"][0]["links"])
assert not e["deadlocks"]
EOF
fi
if [[ -f $tmp/j-deadlock-6.1.db ]]; then
  "$wqscope" explain "$tmp/j-deadlock-6.1.db" > "$tmp/explain-j" 2>&1 || failed "explain j"
  expect_in "explain j" "$tmp/explain-j" "DEADLOCK: worker 100" "a cycle, DEADLOCK"
fi
if [[ -f $tmp/h-bare-interrupted-6.6.db ]]; then
  "$wqscope" explain "$tmp/h-bare-interrupted-6.6.db" > "$tmp/explain-h" 2>&1 || failed "explain h"
  expect_in "explain h" "$tmp/explain-h" "pool 4 is DISASSOCIATED (flags 0x4): CPU 2 is offline" \
    "worker 311 runs css_killed_work_fn and waits in a flush for mem_cgroup_css_offline [BAR(311)] pending on pool 4" \
    "1 item(s) of cgroup_destroy are held back by max_active 256"
fi
# explain on seed 004's recording (libcmwq's simulator): the DISASSOCIATED pool 0 and the flusher.
"$sim" --events "$tmp/seed004.bin" "$root/pool/scenarios/seed004-hotplug-lockup.scn" > /dev/null
"$wqscope" import --thresh 30s "$tmp/seed004.bin" -o "$tmp/seed004.db" 2> /dev/null || failed "import seed004 (events)"
"$wqscope" explain "$tmp/seed004.db" --at 45s > "$tmp/explain-seed004" 2>&1 || failed "explain seed004"
expect_in "explain seed004" "$tmp/explain-seed004" "pool 0 is DISASSOCIATED (flags 0x4): CPU 0 is offline" \
  "worker 120 (wait_rcu_exp_gp, pool 22" "sync_rcu_exp_select_node_cpus [BAR(120)] pending on pool 0"
# replay --explain: after the lockup's dump, the same explanation (watch --explain prints it live).
"$wqscope" replay --explain --thresh 30s "$tmp/seed004.db" > "$tmp/replay-seed004" 2>&1 || failed "replay --explain"
expect_in "replay --explain" "$tmp/replay-seed004" "Showing busy workqueues and worker pools:" \
  "pool 0 is DISASSOCIATED (flags 0x4): CPU 0 is offline"

# Names that are not UTF-8 (a mangled log): replaced in JSON, not a crash.
printf '[ 1.0] BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 40s!\n[ 1.1] workqueue ev\xfan: flags=0x0\n[ 1.2]   pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=1/256 refcnt=2\n[ 1.3]     pending: f\xfa\n' > "$tmp/u.log"
"$wqscope" import "$tmp/u.log" -o "$tmp/u.db" 2> /dev/null || failed "import of a log with names that are not UTF-8"
"$wqscope" replay --json "$tmp/u.db" > /dev/null 2>&1 || failed "replay --json of names that are not UTF-8"
"$wqscope" explain --json "$tmp/u.db" > /dev/null 2>&1 || failed "explain --json of names that are not UTF-8"

# Bad inputs: a damaged line is said with its number and skipped; a log without a report is an error.
"$wqscope" import "$here/logs/l-damaged-line.log" -o "$tmp/l.db" 2> "$tmp/l.err" || failed "import l: $(cat "$tmp/l.err")"
expect_in "damaged line" "$tmp/l.err" "l-damaged-line.log:7: skipped, not pwq N: cpus=... active=N:" \
  "l-damaged-line.log:8: skipped, an item list outside a pwq of a busy dump" "report 1 (lines 1-17)"
out=$("$wqscope" import "$here/logs/k-no-report.log" -o "$tmp/k.db" 2>&1)
rc=$?
[[ $rc -eq 1 ]] && grep -qF "no workqueue report in it" <<<"$out" || failed "no report: rc=$rc: $out"
[[ ! -e $tmp/k.db ]] || failed "no report: a recording was made"
out=$("$wqscope" import --format kernel-log "$tmp/seed004.bin" -o "$tmp/bin.db" 2>&1)
[[ $? -eq 1 ]] || failed "an event stream forced as a kernel log: $out"

[[ $fail -eq 0 ]] && echo "import: ${#logs[@]} logs, $checked reports shown back as logged; explain and bad inputs as expected"
exit $fail
