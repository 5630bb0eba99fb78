#!/usr/bin/env bash
# Names are bytes from an untrusted process. A target whose workqueue and function names are invalid
# UTF-8, carry terminal escapes and are 64 KiB long stalls: watch --json alerts in valid JSON, record
# records, show/stats/replay/export print them escaped; the target is never signalled (it exits on
# its own, status 3).
wqscope=$1 target=$2
source "$(dirname "$0")/common.sh"
need_root "watching (CAP_BPF, CAP_PERFMON)"

# As the readers print them: workqueue names cut at the kernel's WQ_NAME_LEN (32), functions at
# CMWQ_NAME_MAX (64), and escaped.
wq='bad\xff\xfe wq \x1b[31mred\x1b[0m \x1b]0;title'
held='bad\xff\xfe wq_held \x1b[31mred\x1b[0m \x1b]0;'
fn='bad\xff\xfe fn_read \x1b[31mred\x1b[0m \x1b]0;title\x07 \xe2\x80\xaeesrever AAAA'

"$wqscope" watch --thresh 1s --json -o "$tmp/w.db" -- "$target" 3 > "$tmp/out" 2> "$tmp/err"
rc=$?
[[ $rc -eq 0 ]] || { cat "$tmp/err"; fail "watch exited $rc"; }
grep -qF "target exited with status 3" "$tmp/err" || { cat "$tmp/err"; fail "the target did not exit on its own"; }
! grep -q "stopped the command\|killed by signal" "$tmp/err" || { cat "$tmp/err"; fail "the target was signalled"; }
check_clean json "$tmp/out"
python3 -m json.tool --json-lines "$tmp/out" > /dev/null || fail "json.tool refuses the alerts"
for kind in lockup hidden_block stall; do
  grep -qF "\"type\":\"$kind\"" "$tmp/out" || { cat "$tmp/out"; fail "no $kind alert"; }
done
# The names, escaped: in the stall's workqueue field, the hidden block's message and the lockup's dump.
grep -qF "\"workqueue\":\"${held//\\/\\\\}\"" "$tmp/out" || { cat "$tmp/out"; fail "the workqueue's name, escaped"; }
grep -qF "\"workqueue ${wq//\\/\\\\}: flags=0x0\"" "$tmp/out" || { cat "$tmp/out"; fail "the dump's workqueue name, escaped"; }
grep -qF "blocked for" "$tmp/out" && grep -qF "in ${fn//\\/\\\\}" "$tmp/out" || fail "the function's name, escaped"
grep -qF "\"dump\":[" "$tmp/out" || fail "no dump"
# Cut at CMWQ_NAME_MAX (63 bytes), escaped: the 64 KiB never reach anything.
! grep -q "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$tmp/out" || fail "a name was not cut"
! grep -q "hostile_names_target" "$tmp/out" || fail "the target wrote to stdout"

# Metrics labels: the workqueue's name, escaped (and, in the exposition format, its backslashes doubled).
port=$((20000 + RANDOM % 40000))
"$wqscope" watch --thresh 1s --metrics "127.0.0.1:$port" -- "$target" 3 > /dev/null 2> "$tmp/merr" &
for i in $(seq 100); do grep -q "blocked for\|Prometheus metrics" "$tmp/merr" && break; sleep 0.05; done
sleep 1.5  # attached and past the first alerts: the workqueues are known
timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' _ "$port" \
  > "$tmp/http" || { cat "$tmp/merr"; fail "cannot fetch the metrics"; }
tr -d '\r' < "$tmp/http" > "$tmp/metrics"  # HTTP's header lines end in CR LF
wait
check_clean text "$tmp/metrics"
grep -qF "wqscope_workqueue_in_flight{workqueue=\"${wq//\\/\\\\}\"}" "$tmp/metrics" \
  || { grep workqueue_in_flight "$tmp/metrics"; fail "metrics: the workqueue's label, escaped"; }

# Plain text alerts: the same names made visible, no escape reaches the terminal.
"$wqscope" watch --thresh 1s -- "$target" 2 > "$tmp/text" 2> "$tmp/err" || { cat "$tmp/err"; fail "watch (text)"; }
check_clean text "$tmp/text"
grep -qF "wqscope: workqueue $held stalled for" "$tmp/text" || { cat "$tmp/text"; fail "text: the stall's workqueue, escaped"; }
grep -qF "workqueue $wq: flags=0x0" "$tmp/text" || { cat "$tmp/text"; fail "text: the dump's workqueue, escaped"; }

# record records; the readers print escaped, from the events and from snapshots alike.
"$wqscope" record --thresh 1s -o "$tmp/r.db" -- "$target" 2 > "$tmp/rec" 2>&1 || { cat "$tmp/rec"; fail "record"; }
grep -qF "target exited with status 3" "$tmp/rec" || { cat "$tmp/rec"; fail "record: the target did not exit on its own"; }
[[ $(q "$tmp/r.db" "SELECT count(*) FROM work_items WHERE func LIKE 'bad\\xff\\xfe fn_%'") -ge 3 ]] \
  || fail "record: the items: $(q "$tmp/r.db" 'SELECT DISTINCT func FROM work_items')"
[[ $(q "$tmp/r.db" "SELECT count(*) FROM alerts") -ge 2 ]] || fail "record: the alerts table"
# --thresh 1 and --at 1.5: bare numbers are seconds.
"$wqscope" show --thresh 1 --at 1.5 "$tmp/r.db" > "$tmp/show" 2>&1 || { cat "$tmp/show"; fail "show"; }
check_clean text "$tmp/show"
grep -qF "workqueue $wq: flags=0x0" "$tmp/show" || { cat "$tmp/show"; fail "show: the workqueue, escaped"; }
grep -qF "in-flight: " "$tmp/show" && grep -qF ":$fn" "$tmp/show" || { cat "$tmp/show"; fail "show: the function, escaped"; }
"$wqscope" stats "$tmp/r.db" > "$tmp/stats" 2>&1 || fail "stats"
check_clean text "$tmp/stats"
# wq_monitor's column shows a name's last 24 characters, as wq_monitor.py does.
grep -qF "${wq: -24}" "$tmp/stats" || { cat "$tmp/stats"; fail "stats: the workqueue, escaped"; }
"$wqscope" replay --json --thresh 1s "$tmp/r.db" > "$tmp/replay" 2>/dev/null || fail "replay"
check_clean json "$tmp/replay"
grep -qF '"type":"stall"' "$tmp/replay" || fail "replay: no stall alert"
"$wqscope" export "$tmp/r.db" --perfetto "$tmp/r.json" 2>/dev/null || fail "export"
check_clean jsonfile "$tmp/r.json"
python3 -m json.tool "$tmp/r.json" > /dev/null || fail "export: json.tool refuses it"
echo "names: invalid UTF-8, escapes and 64 KiB names: valid JSON alerts, clean text from watch, show, stats, replay, export and metrics; the target exited on its own"
