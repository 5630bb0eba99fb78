#!/usr/bin/env bash
# Paths the target chooses. mapped_target maps libcmwq as a shared library from a directory it owns,
# then its name is swapped while wqscope (root) attaches: unlinked, with a FIFO or a symlink to
# /dev/zero at the name /proc/PID/maps now shows ("... (deleted)"), or renamed back and forth with
# such a symlink in its place. wqscope must not hang, read /dev/zero or open the FIFO: it attaches
# to the mapped file itself (or refuses), and records the pool.
wqscope=$1 target=$2 lib=$3
source "$(dirname "$0")/common.sh"
need_root "recording (CAP_BPF, CAP_PERFMON)"
# As record_test.sh: libbpf cannot attach to an ASan-built process that is already running.
if ldd "$lib" | grep -q libasan; then echo "SKIP: attaching to a running ASan-built process"; exit 77; fi
mkdir "$tmp/lib"
so="$tmp/lib/libcmwq.so"

# attack NAME SETUP: a target mapping $so, SETUP run once it has, then a recording of it.
attack() {
  local name=$1 setup=$2
  cp "$lib" "$so"
  "$target" "$so" 3 > "$tmp/$name.target" &
  local pid=$!
  for _ in $(seq 100); do grep -q mapped "$tmp/$name.target" && break; sleep 0.05; done
  grep -q mapped "$tmp/$name.target" || fail "$name: the target did not map its library"
  eval "$setup"
  timeout 30 "$wqscope" record -p "$pid" -o "$tmp/$name.db" > /dev/null 2> "$tmp/$name.err"
  local rc=$?
  [[ $rc -ne 124 ]] || fail "$name: wqscope hung (killed after 30 s): $(cat "$tmp/$name.err")"
  [[ $rc -eq 0 ]] || fail "$name: wqscope exited $rc: $(cat "$tmp/$name.err")"
  [[ $(q "$tmp/$name.db" "SELECT count(*) FROM workqueues WHERE name = 'mapped_wq'") -ge 1 ]] \
    || fail "$name: the pool was not recorded: $(cat "$tmp/$name.err")"
  wait "$pid" || fail "$name: the target failed"
  [[ ! -e "$tmp/$name.swap" ]] || { kill "$(cat "$tmp/$name.swap")"; wait; }
  rm -f "$so" "$so (deleted)" "$tmp/lib/hidden"
}

attack fifo 'rm "$so"; mkfifo "$so (deleted)"'
attack zero 'rm "$so"; ln -s /dev/zero "$so (deleted)"'
# During the attach: the name maps shows alternates between the library and a symlink to /dev/zero.
attack race '( while :; do mv "$so" "$tmp/lib/hidden"; ln -s /dev/zero "$so"; rm "$so"; mv "$tmp/lib/hidden" "$so"; done ) &
  echo $! > "$tmp/race.swap"'
echo "PASS: FIFO, /dev/zero and a racing swap in place of the mapped library: attached to the mapping"
