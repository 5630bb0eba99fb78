#!/usr/bin/env bash
# Installs every Debian package the project uses, and only those missing. Idempotent.
set -euo pipefail

packages=(
  # toolchain and build
  build-essential cmake ninja-build pkg-config ccache git
  # pool: USDT probes; libraries used across the project
  systemtap-sdt-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  # tests and benchmarks (libthread-pool-dev is rvaser/thread_pool 4.0: Debian does not package BS::thread_pool)
  libgtest-dev libgmock-dev libbenchmark-dev libthread-pool-dev libtbb-dev libboost-dev valgrind
  # BPF side and collector
  clang llvm libbpf-dev bpftool bpftrace libsqlite3-dev sqlite3 prometheus-cpp-dev libjemalloc-dev
  # kernel traces as input: trace.dat through trace-cmd's libraries (libtracecmd needs libtracefs's headers)
  libtracecmd-dev libtraceevent-dev libtracefs-dev trace-cmd
  # sanitizer and fuzzer runtimes for clang
  libclang-rt-14-dev
  # GUI
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev libgl-dev xvfb xauth  # Charts needs Qt6OpenGL's CMake files
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' > /dev/null || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $EUID -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or with sudo) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
