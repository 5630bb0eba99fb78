#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs the whole
# suite three times — plain, under ASan+UBSan, and under TSan the pool's and the collector's
# unit tests and the collector's end-to-end BPF tests — then the readers built without BPF, and the fuzzers (clang, libFuzzer)
# for a bounded time each.
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
echo "=== nobpf ==="
# What a machine without kernel BTF builds: the readers, and their golden tests.
scripts/build.sh nobpf
ctest --preset nobpf
echo "=== fuzz ==="
# Only the fuzzers and what they link (the preset's build targets); each runs 30 s by default.
cmake --preset fuzz > /dev/null
cmake --build --preset fuzz
ctest --preset fuzz
