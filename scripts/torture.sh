#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make torture: the long runs of the reliability tests, in the test VM on
# 4 vCPUs, first under single-threaded TCG (vCPUs interleaved at
# translation-block boundaries, deterministic), then under multi-threaded
# TCG (real parallelism on the host's cores):
#   - tests/65-torture.sh: markers_torture.ko for DURATION seconds (default
#     600) with module churn, coexistence (kprobe, function tracer, static
#     keys), the broken mode that must fail, and FUZZ calls (default
#     10,000) of the registration fuzzer;
#   - tests/66-lifecycle.sh: CYCLES load/unload cycles (default 1,000).
#
#   make torture [DURATION=600] [CYCLES=1000] [FUZZ=10000] [KCONFIG=debug]
#                [TCG=single|multi]
#
# Each run's console log is kept under .vm/torture-<tcg>/; the statistics
# lines of markers_torture are printed at the end.

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

kdir=${1:?usage: torture.sh KDIR}
dur=${DURATION:-600}
cycles=${CYCLES:-1000}
fuzz=${FUZZ:-10000}
[[ $dur =~ ^[0-9]+$ && $dur -gt 0 ]] || die "DURATION=$dur: a number of seconds"
[[ $cycles =~ ^[0-9]+$ && $cycles -gt 0 ]] || die "CYCLES=$cycles: a number of cycles"
[[ $fuzz =~ ^[0-9]+$ && $fuzz -gt 0 ]] || die "FUZZ=$fuzz: a number of calls"
root=$(cd "$here/.." && pwd)

rc=0
for tcg in ${TCG:-single multi}; do
	logdir=$root/.vm/torture-$tcg
	info "torture: $dur s, $cycles lifecycle cycles, $tcg-threaded TCG (log: $logdir/console.log)"
	set +e
	TCG_THREAD=$tcg TESTS='6[56]-*' \
		TEST_ENV="MARKERS_TORTURE_SECS=$dur MARKERS_LIFECYCLE_CYCLES=$cycles MARKERS_FUZZ_CALLS=$fuzz" \
		TIMEOUT=$((dur + 900 + cycles * 4 + fuzz / 5)) MARKERS_LOGDIR=$logdir \
		"$here/vm.sh" test "$kdir"
	r=$?
	set -e
	grep -a 'markers_torture: \(SUCCESS\|FAILURE\|kprobe\|fuzz\)\|cycles of\|rounds of\|module churn' \
		"$logdir/console.log" | tr -d '\r' | sed 's/^/  /' || true
	[ $r = 0 ] || rc=1
done
exit $rc
