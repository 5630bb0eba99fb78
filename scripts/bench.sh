#!/usr/bin/env bash
# The whole benchmark suite in one command: builds the bench preset (only what the benchmarks
# run), runs each benchmark of tests/bench REPS times and writes one markdown report — the machine,
# then every figure as a ratio to its baseline from the same run, median (min-max) over the
# repetitions. The pieces are the ones `ctest --preset bench` runs; this only passes REPS and
# gathers their output. Attaching BPF (probe cost attached, e2e ingest, alert latency) needs root.
#
#   scripts/bench.sh                 # 3 repetitions, report in build/bench/bench.md
#   scripts/bench.sh --reps 3 --out /tmp/bench.md --only pool,probe
set -euo pipefail
cd "$(dirname "$0")/.."
reps=3 out=build/bench/bench.md only=pool,probe,keep,ingest,alert,seek
while (($#)); do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
want() { [[ ,$only, == *,$1,* ]]; }

# The machine is shared: build politely. The GUI is not benchmarked here.
nice -n 10 cmake --preset bench -DWQSCOPE_GUI=OFF > /dev/null
targets=(cmwq_pool_bench probe_bench probe_bench_noprobes ingest_bench wqscope cmwq-sim cmwq-demo)
cmake --build build/bench --target help | grep usdt_capture > /dev/null && targets+=(usdt_capture)  # only with BPF
nice -n 10 cmake --build build/bench --target "${targets[@]}"
b=build/bench
bin=$b/tests/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

usdt=$(find $b -name usdt_capture -type f -executable | head -1)
section() { printf '\n#### %s\n\n' "$1"; }
fence() { echo '```'; cat; echo '```'; }
timed() {  # timed NAME CMD...: runs CMD, notes how long it took
  local t0=$SECONDS
  "$@"
  echo "$1 $((SECONDS - t0))" >> "$tmp/durations"
}

{
  echo "### Benchmark run $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores," \
    "$(free -g | awk '/^Mem/ {print $2}') GB, kernel $(uname -r)," \
    "$(. /etc/os-release && echo "$PRETTY_NAME"); load average at start $(cut -d' ' -f1-3 /proc/loadavg)." \
    "$reps repetitions; every ratio is taken within one repetition (round), then median (min-max) over them."

  if want pool; then
    section "Pool throughput (cmwq_pool_bench)"
    timed "$bin/cmwq_pool_bench" --rounds="$reps" --benchmark_min_time=0.1 --table="$tmp/pool.md" > "$tmp/pool.log" 2>&1
    cat "$tmp/pool.md"
  fi
  if want probe; then
    section "Probe cost (probe_cost.sh): ratios to the probe compiled out"
    timed tests/bench/probe_cost.sh "$bin/probe_bench" "$bin/probe_bench_noprobes" "${usdt:-/bin/false}" "$reps" \
      > "$tmp/probe.log" 2>&1
    fence < "$tmp/probe.log"
  fi
  if want keep; then
    section "Events kept under watch and record, default and --lossless (keep_bench.sh): ratios to unattached"
    timed tests/bench/keep_bench.sh $b/bin/wqscope "$bin/probe_bench" "$reps" 3 200000 > "$tmp/keep.log" 2>&1 || true
    cat "$tmp/keep.log"
  fi
  if want ingest; then
    section "Collector ingest (ingest_bench, ingest_e2e.sh): ratios to a bare SQLite insert"
    timed "$bin/ingest_bench" --events 3000000 --reps "$reps" --dir "$tmp" > "$tmp/ingest.log" 2>&1
    timed tests/bench/ingest_e2e.sh $b/bin/wqscope "$bin/probe_bench" 3 100000 >> "$tmp/ingest.log" 2>&1 || true
    fence < "$tmp/ingest.log"
  fi
  if want alert; then
    section "Lockup alert latency (alert_latency.sh): beyond the threshold"
    timed tests/bench/alert_latency.sh $b/bin/wqscope $b/bin/cmwq-demo "$reps" 1 30 > "$tmp/alert.log" 2>&1 || true
    cat "$tmp/alert.log"
  fi
  if want seek; then
    section "Seeking in a 10 M-event recording (seek_bench.sh): ratio to a full replay"
    timed tests/bench/seek_bench.sh $b/bin/wqscope $b/bin/cmwq-sim 10 > "$tmp/seek.log" 2>&1
    cat "$tmp/seek.log"
  fi
  echo
  echo "Time taken, seconds: $(awk '{sub(".*/", "", $1); printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}' "$tmp/durations")."
} | tee "$out.part"
mv "$out.part" "$out"
echo "bench.sh: report in $out" >&2
