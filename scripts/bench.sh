#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: what a marker site costs, beside the kernel's own
# mechanisms, measured in the test VM in two boots:
#
#   1. instruction counts, under `-icount shift=0,sleep=off` with one vCPU,
#      where the TSC advances one tick per guest instruction:
#      tools/testing/modules/markers_bench.ko runs every subject (a disabled
#      and an enabled mark!, a flag test, a static key, a tracepoint, an
#      int3 kprobe, the print probe...) with interrupts off;
#   2. wall times, under plain TCG with two vCPUs: the insmod time of a
#      client with 10,000 sites against the same module without markers
#      (markers_bench_sites.ko, markers_bench_nosites.ko) and the kernel
#      memory (slab and per-CPU) each load takes, then
#      `markers_bench.ko toggle=1`: toggling 1 to 10,000 sites against as
#      many static keys, with serialize rounds and int3 traps.
#
# scripts/bench-report.py then prints a table and writes bench/results.json.
#
# Usage: scripts/bench.sh KDIR
#
# Environment:
#   BENCH_ITERS=n        loop iterations (default 1000000; the kprobe and
#                        print probe loops run a tenth of it)
#   BENCH_REPS=n         repetitions of each instruction count (default 3)
#   BENCH_TOGGLE_REPS=n  repetitions of each toggle (default 5)
#   BENCH_LOAD_REPS=n    insmods of each module (default 7)
#   BENCH_WALL=0         skip the second boot (no toggle or load figures)
#   BENCH_OUT=path       results file (default bench/results.json)
#
# Guest output and console logs are kept in .vm/bench/.

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")
kdir=${1:?usage: bench.sh KDIR}

iters=${BENCH_ITERS:-1000000}
reps=${BENCH_REPS:-3}
toggle_reps=${BENCH_TOGGLE_REPS:-5}
load_reps=${BENCH_LOAD_REPS:-7}
out=${BENCH_OUT:-$root/bench/results.json}
logs=$root/.vm/bench
mkdir -p "$logs" "$(dirname "$out")"
for n in "$iters" "$reps" "$toggle_reps" "$load_reps"; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_* values must be positive integers, not '$n'"
done

# 1. Instruction counts.
icount_cmd="insmod modules/markers.ko || exit 1
insmod modules/markers_bench.ko iters=$iters reps=$reps
rc=\$?
rmmod markers_bench 2>/dev/null
dmesg | grep 'markers_bench: '
exit \$rc"
info "instruction counts: -icount shift=0,sleep=off, 1 vCPU, $iters iterations x $reps"
CPUS=1 TCG_THREAD=single QEMU_ARGS="-icount shift=0,sleep=off" CMD=$icount_cmd \
	MARKERS_LOGDIR="$logs/icount" "$here/vm.sh" run "$kdir" >"$logs/icount.out" ||
	die "the instruction-count run failed; see $logs/icount.out and $logs/icount/console.log"

# 2. Wall times: module load, then toggles. The guest stamps each insmod
# through /dev/kmsg (microsecond timestamps); busybox's date has no %N.
wall_args=()
if [ "${BENCH_WALL:-1}" != 0 ]; then
	wall_cmd="insmod modules/markers.ko || exit 1
kib() { awk '/^(Slab|Percpu):/ { s += \$2 } END { print s }' /proc/meminfo; }
for r in 1 2 3; do
	for m in markers_bench_sites markers_bench_nosites; do
		b=\$(kib)
		insmod modules/\$m.ko || exit 1
		echo \"markers_bench: heap module=\$m rep=\$r kib=\$((\$(kib) - b))\" >/dev/kmsg
		rmmod \$m || exit 1
	done
done
for r in \$(seq 1 $load_reps); do
	for m in markers_bench_sites markers_bench_nosites; do
		echo \"markers_bench: load module=\$m rep=\$r start\" >/dev/kmsg
		insmod modules/\$m.ko || exit 1
		echo \"markers_bench: load module=\$m rep=\$r end\" >/dev/kmsg
		rmmod \$m || exit 1
	done
done
insmod modules/markers_bench_toggle.ko && insmod modules/markers_bench_sites.ko &&
	insmod modules/markers_bench.ko toggle=1 reps=$toggle_reps
rc=\$?
rmmod markers_bench markers_bench_sites markers_bench_toggle 2>/dev/null
dmesg | grep -E 'markers_bench: |markers: module markers_bench_sites:'
exit \$rc"
	info "wall times: plain TCG, 2 vCPUs, $load_reps loads, $toggle_reps toggles"
	CPUS=2 TCG_THREAD=single QEMU_ARGS="" CMD=$wall_cmd TIMEOUT=${TIMEOUT:-900} \
		MARKERS_LOGDIR="$logs/wall" "$here/vm.sh" run "$kdir" >"$logs/wall.out" ||
		die "the wall-time run failed; see $logs/wall.out and $logs/wall/console.log"
	wall_args=(--wall "$logs/wall.out")
fi

python3 "$here/bench-report.py" --icount "$logs/icount.out" "${wall_args[@]}" \
	--modules "$root/tools/testing/modules" --out "$out"
