#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# First cut of `make bench`: guest instructions per iteration of a loop with a
# marker site, disabled, enabled, and enabled with one empty probe, measured
# by tools/testing/modules/markers_bench.ko in the test VM under
# `-icount shift=0,sleep=off` with one vCPU and interrupts off, where the TSC
# advances one tick per guest instruction. Prints the module's report.
#
# Usage: scripts/bench.sh KDIR

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
kdir=${1:?usage: bench.sh KDIR}

CPUS=1 TCG_THREAD=single QEMU_ARGS="-icount shift=0,sleep=off" \
	CMD='insmod modules/markers.ko && { insmod modules/markers_bench.ko 2>/dev/null; dmesg | sed -n "s/.*markers_bench: //p"; }' \
	MARKERS_LOGDIR="$(dirname "$here")/.vm/bench" "$here/vm.sh" run "$kdir"
