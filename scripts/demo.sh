#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs the seed-004 story on the
# simulator — queue_work_on() a CPU that was never online, flush it from CPU 11 —
# which ends in the kernel's lockup report and busy-workqueue dump.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh default > /dev/null
sim=build/default/pool/cmwq-sim
echo "--- the documented timeline, cmwq with max_active >= 3 ---"
"$sim" pool/scenarios/doc-cmwq-max-active-3.scn
echo
echo "--- seed 004: a pool that stalls ---"
rc=0
"$sim" pool/scenarios/seed004-hotplug-lockup.scn || rc=$?
[[ $rc -eq 3 ]] || { echo "demo: expected a lockup report (exit 3), got exit $rc" >&2; exit 1; }
echo
echo "demo: lockup reported as expected; see pool/scenarios/ for more stories (cmwq-sim FILE)"
