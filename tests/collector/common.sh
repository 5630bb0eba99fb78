# Sourced by the collector's end-to-end tests (after setting their arguments): a temporary
# directory removed on exit with any job still running, and the helpers every test uses.
# A test that needs more cleanup sets its own trap and calls cleanup from it.
set -uo pipefail
tmp=$(mktemp -d)
chmod 755 "$tmp"  # tests switch to unprivileged users that must reach their files
# WQSCOPE_TEST_KEEP=1 keeps the directory to look at after a failure.
cleanup() {
  kill $(jobs -p) 2>/dev/null
  if [[ -n ${WQSCOPE_TEST_KEEP:-} ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
# A bad input: exit status CODE and MESSAGE in the output.
expect() {  # expect CODE MESSAGE -- COMMAND...
  local code=$1 msg=$2
  shift 3
  out=$("$@" 2>&1)
  rc=$?
  [[ $rc -eq $code ]] && grep -qF -- "$msg" <<<"$out" || fail "'$*' -> rc=$rc, output: $out"
}
# check_clean json|jsonfile|text FILE: valid UTF-8 with nothing a terminal acts on (check_clean.py).
check_clean() { python3 "$(dirname "${BASH_SOURCE[0]}")/check_clean.py" "$1" "$2" || fail "$2 is not clean $1"; }
# Skip (CTest's SKIP_RETURN_CODE 77) with the reason, unless root: CI is root.
need_root() { [[ $EUID -eq 0 ]] || { echo "SKIP: $1 needs root (CI runs as root)"; exit 77; }; }
# Until wqscope, its stderr in FILE, has attached and let the target run (seconds on a busy machine).
wait_attached() {
  for _ in $(seq 300); do grep -q "Ctrl-C to stop" "$1" && return; sleep 0.1; done
  cat "$1"
  fail "wqscope did not attach within 30 s"
}
# Until bpftrace (pid $2, its stderr in $tmp/bpftrace.err) has printed an item ("ts,name") into $1: it
# has attached. A write with fsync makes the kernel run some (an idle machine may not).
wait_bpftrace_items() {
  for _ in $(seq 300); do
    grep -q , "$1" && return
    kill -0 "$2" 2>/dev/null || break
    dd if=/dev/zero of="$tmp/poke" bs=4k count=1 conv=fsync status=none
    sleep 0.1
  done
  grep -q , "$1" || { cat "$tmp/bpftrace.err"; fail "bpftrace saw no workqueue item in 30 s"; }
}
