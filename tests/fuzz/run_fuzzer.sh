#!/usr/bin/env bash
# Runs one fuzzer for a bounded time over a fresh copy of its seed corpus (what it finds stays
# in the build directory; a crash leaves its input there as crash-*, to be added to the seeds).
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=${4:-30}
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
cp -r "$seeds/." "$work/corpus/"
exec "$fuzzer" "$work/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1
