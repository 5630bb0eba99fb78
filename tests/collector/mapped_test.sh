#!/usr/bin/env bash
# Paths the target chooses. mapped_target maps libcmwq as a shared library from a directory it owns,
# then its name is swapped while wqscope (root) attaches: unlinked, with a FIFO or a symlink to
# /dev/zero at the name /proc/PID/maps now shows ("... (deleted)"), or renamed back and forth with
# such a symlink in its place. wqscope must not hang, read /dev/zero or open the FIFO: it attaches
# to the mapped file itself (or refuses), and records the pool. A second process that maps the same
# library meanwhile is not traced (no uprobe on every process, pid -1).
wqscope=$1 target=$2 lib=$3
source "$(dirname "$0")/common.sh"
need_root "recording (CAP_BPF, CAP_PERFMON)"
# As record_test.sh: libbpf cannot attach to an ASan-built process that is already running.
if ldd "$lib" | grep libasan > /dev/null; then echo "SKIP: attaching to a running ASan-built process"; exit 77; fi
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
  # A swapper stops at the end of a round, the library back in place: killed, a round's `ln -s` could
  # land after the clean-up, and the next `cp` wrote through the symlink into /dev/zero.
  [[ ! -e "$tmp/$name.swap" ]] || { touch "$tmp/$name.stop"; wait "$(cat "$tmp/$name.swap")"; }
  rm -f "$so" "$so (deleted)" "$tmp/lib/hidden"
}

attack fifo 'rm "$so"; mkfifo "$so (deleted)"'
attack zero 'rm "$so"; ln -s /dev/zero "$so (deleted)"'
# During the attach: the name maps shows alternates between the library and a symlink to /dev/zero.
attack race '( while [[ ! -e $tmp/race.stop ]]; do
    mv "$so" "$tmp/lib/hidden"; ln -s /dev/zero "$so"; rm "$so"; mv "$tmp/lib/hidden" "$so"; done ) &
  echo $! > "$tmp/race.swap"'

# No pid -1: a second process that maps the same library while the first is traced gets nothing. The
# kernel raises the cmwq:batch semaphore (the pool's "a tracer is attached") in the traced process
# only; with pid -1 it would in every process that maps the file, and their pools would send batches.
sym=$(nm "$lib" | awk '$3 == "cmwq_batch_semaphore" { print $1 }')
[[ -n $sym ]] || fail "no cmwq_batch_semaphore symbol in $lib"
semaphore() {  # PID: cmwq_batch_semaphore's value in PID's copy of $so (its load address from maps)
  local base
  base=$(awk -v so="$so" '$6 == so && $3 == "00000000" { split($1, r, "-"); print r[1]; exit }' "/proc/$1/maps")
  [[ -n $base ]] || return 1
  python3 -c 'import sys; f = open(f"/proc/{sys.argv[1]}/mem", "rb"); f.seek(int(sys.argv[2], 16) + int(sys.argv[3], 16))
print(int.from_bytes(f.read(2), "little"))' "$1" "$base" "$sym"
}
cp "$lib" "$so"
"$target" "$so" 8 > "$tmp/first.target" &
first=$!
for _ in $(seq 100); do grep -q mapped "$tmp/first.target" && break; sleep 0.05; done
"$wqscope" record -p "$first" -o "$tmp/two.db" > /dev/null 2> "$tmp/two.err" &
rec=$!
wait_attached "$tmp/two.err"
"$target" "$so" 4 > "$tmp/second.target" &
second=$!
for _ in $(seq 100); do grep -q mapped "$tmp/second.target" && break; sleep 0.05; done
sleep 0.2
traced=$(semaphore "$first") && other=$(semaphore "$second") || fail "cannot read the semaphores"
[[ $traced -ge 1 ]] || fail "the traced process's semaphore is not raised: $traced"
[[ $other -eq 0 ]] || fail "the second process's semaphore is raised: $other"
wait "$second" || fail "the second target failed"
wait "$first" || fail "the first target failed"
wait "$rec" || { cat "$tmp/two.err"; fail "record -p $first"; }
[[ $(q "$tmp/two.db" "SELECT count(*) FROM streams WHERE pid = $first") -ge 1 ]] || fail "the traced process was not recorded"
[[ $(q "$tmp/two.db" "SELECT count(*) FROM streams WHERE pid <> $first") -eq 0 ]] \
  || fail "another process was recorded: $(q "$tmp/two.db" 'SELECT * FROM streams')"
echo "PASS: FIFO, /dev/zero and a racing swap in place of the mapped library: attached to the mapping; a second process mapping it is not traced"
