#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs the whole suite plain and under
# ASan+UBSan; under TSan, what runs threads (the pool's unit tests, the collector's end-to-end BPF
# tests: the presets name the targets and tests); then, built with clang without the capture side
# (as on a machine without kernel BTF), the fuzzers for a bounded time each and the readers' golden tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
for preset in default asan tsan; do
  echo "=== $preset ==="
  scripts/build.sh "$preset"
  # TSan needs the full address space layout it expects; ASLR entropy on new kernels breaks it.
  if [[ $preset == tsan ]]; then
    setarch "$(uname -m)" -R ctest --preset "$preset"
  else
    ctest --preset "$preset"
  fi
done
echo "=== fuzz, without BPF ==="
# Only the fuzzers and the readers (the preset's build targets); each fuzzer runs 30 s by default.
scripts/build.sh fuzz
ctest --preset fuzz
