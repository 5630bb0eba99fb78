#!/usr/bin/env bash
# Renders docs/gui-*.png offscreen from simulated stories (no root, no BPF, no display).
# Usage: scripts/gui-screenshots.sh [BUILD_DIR]   (default build/default, built with the gui tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shot="${1:-$root/build/default}/tests/gui/gui_screenshot"
export QT_QPA_PLATFORM=offscreen
# seed 004: pool 0 is DISASSOCIATED with no workers; the kernel's watchdog line at 60 s.
"$shot" "$root/pool/scenarios/seed004-hotplug-lockup.scn" 60 "$root/docs/gui-seed004-lockup.png" worklist
# The stall story: the waiter holds stall_wq's only active slot; its signaler waits inactive behind it.
"$shot" "$root/tests/gui/scenarios/stall.scn" 10 "$root/docs/gui-stall.png" worklist 5000
# busy-dumps: worker creation fails, the pool calls for rescue and reclaim's rescuer runs its items; the
# worker timeline and the workers at 35.5 ms, the third of its dumps.
"$shot" "$root/tests/collector/scenarios/busy-dumps.scn" 0.0355 "$root/docs/gui-timeline.png" work 100
