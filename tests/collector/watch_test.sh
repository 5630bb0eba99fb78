#!/usr/bin/env bash
# wqscope watch: the collector's own lockup detection, on time, in the kernel's words.
set -uo pipefail
wqscope=$1 demo=$2
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
if [[ $EUID -ne 0 ]]; then echo "SKIP: watching needs root (CAP_BPF, CAP_PERFMON)"; exit 77; fi

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
"$wqscope" watch --thresh 1s -- "$demo" server --seconds 2 > "$tmp/out3" 2>/dev/null || fail "watch server"
! grep -q "lockup" "$tmp/out3" || fail "false alarm on a healthy server"

# A workqueue stall no pool shows: an item held back by max_active 1 behind one that never ends.
"$wqscope" watch --thresh 500ms --json -- "$demo" stall --seconds 2 > "$tmp/out4" 2>/dev/null || fail "watch stall"
grep -qF '"type":"stall","workqueue":"stall_wq"' "$tmp/out4" || { cat "$tmp/out4"; fail "no stall alert"; }
grep -qF 'stalled for 0.5s: 1 item(s) held back by max_active 1 behind 1 in flight' "$tmp/out4" || fail "stall message"

for bad in 0 abc -5s 10h; do
  out=$("$wqscope" watch --thresh "$bad" -- "$demo" hog 2>&1)
  [[ $? -eq 2 ]] && grep -qF "is not a duration like 30s or 500ms" <<<"$out" || fail "--thresh $bad: $out"
done
out=$("$wqscope" watch --exec /nonexistent/hook -- "$demo" hog 2>&1)
[[ $? -eq 2 ]] && grep -qF "not an executable file" <<<"$out" || fail "--exec /nonexistent/hook: $out"
echo "watch: one alert at ${stuck} ms for a 1 s threshold; hook, recording, text mode and bad input behave"
