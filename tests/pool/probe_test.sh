#!/usr/bin/env bash
# Attaches bpf/cmwq.bpf.c to the cmwq:batch probe of a program on the runtime
# and checks what arrives: the probe is listed with its semaphore; the records
# equal, byte for byte, what the pool handed over in-process; and a tracer that
# is the only listener (the semaphore alone turns tracing on) sees every item.
set -uo pipefail
capture=$1 target=$2 decode=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
if [[ $EUID -ne 0 ]]; then echo "SKIP: attaching BPF programs needs root (CAP_BPF, CAP_PERFMON)"; exit 77; fi

notes=$(readelf -n "$target")
grep -q "Provider: cmwq" <<<"$notes" || fail "no cmwq provider in $target"
grep -A3 "Name: batch" <<<"$notes" | grep -Eq "Semaphore: 0x0*[1-9a-f]" || fail "cmwq:batch has no semaphore"

"$capture" "$tmp/probe.bin" -- "$target" "$tmp/inproc.bin" > "$tmp/capture" || fail "capture failed"
cat "$tmp/capture"
# The transport's packed form (cmwq/packed.h): every batch, none damaged, unpacked byte for byte below.
grep -Eq "; [1-9][0-9]* packed .*, 0 damaged$" "$tmp/capture" || fail "the batches were not packed, or were damaged"
cmp "$tmp/probe.bin" "$tmp/inproc.bin" || fail "probe and in-process records differ"
"$decode" "$tmp/probe.bin" > "$tmp/summary" || fail "records do not decode"
grep -qx "WORK_QUEUE 50" "$tmp/summary" || { cat "$tmp/summary"; fail "expected 50 queued"; }
grep -qx "WORK_START 50" "$tmp/summary" || fail "expected 50 started"
grep -qx "WORK_END 50" "$tmp/summary" || fail "expected 50 ended"
grep -qx "order ok" "$tmp/summary" || fail "items did not start in queueing order"
grep -qx "seq gapless" "$tmp/summary" || fail "records were lost"

"$capture" "$tmp/only.bin" -- "$target" "$tmp/unused.bin" probe-only || fail "capture (probe only) failed"
"$decode" "$tmp/only.bin" > "$tmp/summary2" || fail "records do not decode (probe only)"
grep -qx "WORK_START 50" "$tmp/summary2" || { cat "$tmp/summary2"; fail "probe-only: expected 50 started"; }
echo "probe: $(wc -c < "$tmp/probe.bin") bytes, identical to the in-process stream; 50 items seen through the probe alone"
