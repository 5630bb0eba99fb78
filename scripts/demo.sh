#!/usr/bin/env bash
# The demo: installs what is missing, builds, and catches a pool that stalls. seed 004 on real
# threads (queue_work_on() a CPU that was never online, flush it from CPU 11): `wqscope watch`
# traces it through the BPF probe, alerts in the kernel's words with the busy dump, and records
# it; `wqscope show` reads the recording back; the GUI opens it (or, without a display, writes
# its screenshot). Without root (BPF) the same story comes from the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh default > /dev/null
bin=build/default
out=${WQSCOPE_DEMO_DIR:-demo-output}
mkdir -p "$out"
db=$out/seed004-$(date +%Y%m%d-%H%M%S).db
if [[ $EUID -eq 0 ]]; then
  echo "--- wqscope watch: seed 004 on real threads, 3 s threshold ---"
  "$bin/bin/wqscope" watch --thresh 3s -o "$db" -- "$bin/bin/cmwq-demo" hotplug --seconds 5
else
  echo "--- not root, so no BPF: seed 004 in the simulator, imported as a recording ---"
  "$bin/bin/cmwq-sim" --events "$out/seed004.bin" pool/scenarios/seed004-hotplug-lockup.scn || true
  "$bin/bin/wqscope" import --thresh 30s "$out/seed004.bin" -o "$db"
fi
echo
echo "--- the recording: its alerts, and the state 4 s in ---"
sqlite3 "$db" "SELECT message FROM alerts"
"$bin/bin/wqscope" show --thresh 3s "$db" --at 4s
gui=$bin/bin/wqscope-gui
if [[ -x $gui ]]; then
  if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]]; then
    echo "--- the GUI on the recording ---"
    "$gui" --thresh 3 --at 4s "$db"
  else
    QT_QPA_PLATFORM=offscreen "$gui" --thresh 3 --at 4s --screenshot "$out/seed004.png" "$db"
    echo "demo: no display: the GUI's screenshot is $out/seed004.png"
  fi
fi
echo "demo: the recording is $db (wqscope show/stats/replay it, or open it in wqscope-gui)"
