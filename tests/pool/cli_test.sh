#!/usr/bin/env bash
# cmwq-sim on good and bad input: exit codes and messages a user can act on.
set -uo pipefail
sim=$1 scenarios=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {  # expect CODE PATTERN -- ARGS...
  local code=$1 pattern=$2
  shift 3
  out=$("$sim" "$@" 2>&1)
  rc=$?
  if [[ $rc -ne $code ]] || ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAIL: cmwq-sim $* -> rc=$rc (want $code), output:"
    echo "$out" | head -5
    fail=1
  fi
}
expect 0 "TIME IN MSECS" -- "$scenarios/doc-cmwq-max-active-3.scn"
expect 3 "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 59s!" -- "$scenarios/seed004-hotplug-lockup.scn"
expect 0 "Examples:" -- --help
expect 2 "cmwq-sim: /nonexistent.scn: cannot open the scenario file: No such file or directory" -- /nonexistent.scn
printf 'cpus 2\nworkqueue q\nwork w q: burn 5\n' > "$tmp/bad.scn"
expect 2 "bad.scn:3: '5' is not a duration (write it like 5ms, 1.5s, 200us or 0)" -- "$tmp/bad.scn"
expect 2 "'soon' is not a duration" -- --until soon "$scenarios/doc-highpri.scn"
printf '\x00\xff\xfe binary junk\n' > "$tmp/junk.scn"
expect 2 "junk.scn:1: unknown keyword" -- "$tmp/junk.scn"
expect 106 "scenario is required" --
[[ $fail -eq 0 ]] && echo "cli: all cases behave"
exit $fail
