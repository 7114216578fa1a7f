#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prove that the VM harness notices what it must: a failing in-guest test, a
# kernel oops, a kernel WARNING and a guest that hangs must each turn a test
# run red, and for the right reason.  Each case boots the test VM with
# HARNESS_SELFTEST=<case> and checks the exit status and ktap-check's verdict.
# On the debug kernel (KCONFIG=debug) a lockdep report, a leak found by
# kmemleak and a list corruption must turn a run red too; on the clang kernel
# (KCONFIG=clang), a KASAN report and a kCFI failure.
#
# Usage: scripts/harness-selftest.sh KDIR

set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
kdir=${1:?usage: harness-selftest.sh KDIR}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# CASE REASON-REGEX: the run must fail and print REASON.
expect_red() {
	local case=$1 reason=$2
	HARNESS_SELFTEST=$case MARKERS_LOGDIR=${MARKERS_LOGDIR:-$(dirname "$here")/.vm}/selftest-$case \
		"$here/vm.sh" test "$kdir" >"$log" 2>&1
	local rc=$?
	[ $rc != 0 ] && grep -E -q "$reason" "$log"
	result $? "harness turns a run red on: $case" "$log" ||
		echo "# (exit $rc, expected /$reason/)"
}

expect_red fail '^not ok harness_selftest_failing_test'
expect_red oops '^not ok harness: splat at line [0-9]+: .*(Oops|BUG:|general protection)'
expect_red warn '^not ok harness: splat at line [0-9]+: .*WARNING:'
expect_red timeout '^not ok harness: timeout'
if [ "${KCONFIG:-default}" = debug ]; then
	for opt in CONFIG_PROVE_LOCKING CONFIG_DEBUG_KMEMLEAK CONFIG_DEBUG_LIST; do
		grep -q "^$opt=y" "$kdir/.config" || die "KCONFIG=debug but $kdir lacks $opt=y"
	done
	expect_red lockdep '^not ok harness: splat at line [0-9]+: .*possible circular locking dependency'
	expect_red kmemleak '^not ok harness: splat at line [0-9]+: .*(new suspected memory leak|markers-kmemleak: unreferenced object)'
	expect_red list '^not ok harness: splat at line [0-9]+: .*list_add corruption'
fi
if [ "${KCONFIG:-default}" = clang ]; then
	for opt in CONFIG_KASAN CONFIG_CFI_CLANG; do
		grep -q "^$opt=y" "$kdir/.config" || die "KCONFIG=clang but $kdir lacks $opt=y"
	done
	expect_red kasan '^not ok harness: splat at line [0-9]+: .*BUG: KASAN: slab-out-of-bounds'
	expect_red cfi '^not ok harness: splat at line [0-9]+: .*CFI failure at'
fi
summary
