#!/usr/bin/env bash
# Installs libcmwq into a scratch prefix, then builds the README's example
# against it twice: with find_package(cmwq) and with pkg-config, compiled with the build's CXXFLAGS
# (its sanitizers, if any).
set -euo pipefail
build=$1 src=$2 cxxflags=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null
cmake -S "$src/tests/pool/consumer" -B "$tmp/b" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DHELLO_SOURCE="$src/pool/examples/hello.cpp" -DCMAKE_CXX_FLAGS="$cxxflags" > /dev/null
cmake --build "$tmp/b" > /dev/null
"$tmp/b/hello" | grep "io done on kworker/0:" > /dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
g++ $cxxflags "$src/pool/examples/hello.cpp" $(pkg-config --cflags --libs --static cmwq) -o "$tmp/hello-pc"
"$tmp/hello-pc" | grep "cpu ran on kworker/0:" > /dev/null
echo "consumer: find_package(cmwq) and pkg-config builds both ran"
