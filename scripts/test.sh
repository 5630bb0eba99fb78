#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs the whole suite under ASan+UBSan
# (the soak and the installed library's consumer included); under TSan, what runs threads (the
# pool's unit tests, the collector's end-to-end BPF tests: the presets name the targets and tests);
# then the fuzzers (clang, without the capture side) for a bounded time each. The plain build is
# the demo's (scripts/demo.sh): the suite runs once, where it finds the most, to stay within CI's
# time on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
for preset in asan tsan fuzz; do
  echo "=== $preset ==="
  scripts/build.sh "$preset"
  # TSan needs the full address space layout it expects; ASLR entropy on new kernels breaks it.
  if [[ $preset == tsan ]]; then
    setarch "$(uname -m)" -R ctest --preset "$preset"
  else
    ctest --preset "$preset"
  fi
done
