#!/usr/bin/env bash
# wqscope watch --metrics: the stuck pool as Prometheus scrapes it, and addresses it cannot use refused.
wqscope=$1 demo=$2
source "$(dirname "$0")/common.sh"
need_root "watching (CAP_BPF, CAP_PERFMON)"
watcher=

# GET /metrics with bash alone: curl is not installed everywhere.
fetch() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' _ "$1"
}

# Malformed values: exit 2 before anything starts, the problem named.
bad() {
  out=$("$wqscope" watch --metrics "$1" -- "$demo" hog --seconds 1 2>&1)
  rc=$?
  [[ $rc -eq 2 ]] && grep -qF -- "$2" <<<"$out" || fail "--metrics '$1': exit $rc: $out"
}
bad abc "not PORT or ADDRESS:PORT"
bad "" "not PORT or ADDRESS:PORT"
bad 0 "port '0' is not a number from 1 to 65535"
bad 70000 "port '70000' is not a number from 1 to 65535"
bad 127.0.0.1:65536 "port '65536' is not a number from 1 to 65535"
bad 127.0.0.1: "port '' is not a number from 1 to 65535"
bad 127.0.0.1:9x "port '9x' is not a number from 1 to 65535"
bad example.com:9464 "'example.com' is not a numeric IP address"
bad ::1:9464 "write an IPv6 address in brackets"

# seed 004 on real threads: pool 0 (cpus=0 flags=0x4) gets work it never runs. A random high port;
# another one if something else holds it.
for try in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  "$wqscope" watch --thresh 1s --metrics "127.0.0.1:$port" -- "$demo" hotplug --seconds 3 > "$tmp/out" 2> "$tmp/err" &
  watcher=$!
  for i in $(seq 200); do
    grep -qF "Prometheus metrics at http://127.0.0.1:$port/metrics" "$tmp/err" && break
    kill -0 "$watcher" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$watcher" 2>/dev/null && break
  wait "$watcher"
  rc=$? watcher=
  [[ $rc -eq 1 ]] && grep -qF "Address already in use" "$tmp/err" || { cat "$tmp/err"; fail "watch --metrics: exit $rc"; }
done
[[ -n $watcher ]] || fail "no free port in 5 tries"

# The port is taken now: a second watch says so and exits 1; a bare port means 127.0.0.1.
out=$("$wqscope" watch --metrics "$port" -- "$demo" hog --seconds 1 2>&1)
rc=$?
[[ $rc -eq 1 ]] && grep -qF -- "--metrics 127.0.0.1:$port: cannot listen there: Address already in use" <<<"$out" \
  || fail "a port in use: exit $rc: $out"

# Attached, no thread keeps a capability: the web server's, which serve the network, included.
threads=0 tsan=$(ldd "$wqscope" | grep -c libtsan)
for t in /proc/$watcher/task/*; do
  cap=$(awk '/^CapEff/ {print $2}' "$t/status" 2>/dev/null) || continue
  # Not TSan's background thread: it starts before main and runs none of wqscope's code.
  [[ $tsan -gt 0 && ${t##*/} != "$watcher" && $(cat "$t/comm") == wqscope ]] && continue
  [[ $cap == 0000000000000000 ]] || fail "thread $(cat "$t/comm") of watch kept capabilities: CapEff=$cap"
  grep -q civetweb "$t/comm" && threads=$((threads + 1))
done
[[ $threads -gt 0 ]] || fail "no web server thread to check"

# After the alert, the gauges show the state it was about (they are updated before alerts are raised).
for i in $(seq 100); do grep -q "BUG: workqueue lockup" "$tmp/out" && break; sleep 0.05; done
grep -q "BUG: workqueue lockup" "$tmp/out" || { cat "$tmp/out" "$tmp/err"; fail "no lockup alert"; }
fetch "$port" > "$tmp/m" || fail "cannot fetch http://127.0.0.1:$port/metrics during the run"
pool0() {  # the value of metric $1 for the stuck pool
  grep -E "^$1\{" "$tmp/m" | grep -F 'pool="0"' | grep -F 'identity="cpus=0 node=0 flags=0x4 nice=0"' \
    | awk '{print $NF}'
}
at_least_1() { [[ $1 =~ ^[0-9.e+-]+$ ]] && awk -v v="$1" 'BEGIN { exit !(v + 0 >= 1) }'; }
pending=$(pool0 wqscope_pool_pending) hung=$(pool0 wqscope_pool_hung_seconds)
at_least_1 "$pending" || { cat "$tmp/m"; fail "pending '$pending', not >= 1"; }
at_least_1 "$hung" || { cat "$tmp/m"; fail "hung '$hung' s, not >= 1"; }
grep -qx 'wqscope_alerts_total{kind="lockup"} 1' "$tmp/m" || { cat "$tmp/m"; fail "lockup alerts not 1"; }
grep -qx 'wqscope_alerts_total{kind="stall"} 0' "$tmp/m" || fail "stall alerts not 0"
grep -qx 'wqscope_alerts_total{kind="hidden_block"} 0' "$tmp/m" || fail "hidden_block alerts not pre-registered at 0"
grep -qE '^wqscope_workqueue_in_flight\{workqueue="rcu_gp"\} 1$' "$tmp/m" || fail "rcu_gp's item is not in flight"
grep -qE '^wqscope_events_received_total [1-9]' "$tmp/m" || fail "no events counted"
for m in events_dropped_total events_lost_total pool_nr_running pool_nr_workers pool_nr_idle; do
  grep -q "^# HELP wqscope_$m " "$tmp/m" || fail "wqscope_$m has no help"
done

wait "$watcher"
rc=$? watcher=
[[ $rc -eq 0 ]] || { cat "$tmp/err"; fail "watch exited $rc"; }
echo "metrics: pool 0 pending $pending, hung ${hung} s after its alert; port in use and bad values refused"
