#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mark!, the registry and the patcher, tested from inside the kernel by
# markers_test.ko, which prints its own KTAP document (enable/disable and
# read-back, argument evaluation, batches, corruption, unwinding, and the
# 3-CPU stress test) and fails its load if any of its checks fails.

. /markers/testing/ktap.sh
m=/markers/modules

ktap_begin 6
ktap_check "core module loads with test_mode=1" insmod $m/markers.ko test_mode=1
ktap_check "markers_test.ko: every in-kernel check passes" insmod $m/markers_test.ko toggles=${MARKERS_TOGGLES:-2000} expect_no_late=${MARKERS_EXPECT_NO_LATE:-0}
# markers_test.ko leaves two broken sites: test_foreign_int3's, whose bytes
# it put back to the NOP, and test_corrupt's, still holding a wrong byte.
revalidate() {
	d=$(grep -l '^broken$' /sys/kernel/markers/test_foreign_int3/sites/*/state) || { echo "not broken"; return 1; }
	d=${d%/state}
	echo 1 >$d/enable && [ "$(cat $d/state)" = on ] && echo 0 >$d/enable && [ "$(cat $d/state)" = off ] ||
		{ echo "re-validated site: $(cat $d/state)"; return 1; }
	dmesg | tail -n 5 | grep -q 'marker test_foreign_int3 site [0-9]*: re-validated (off)' || { echo "no log line"; return 1; }
	d=$(grep -l '^broken$' /sys/kernel/markers/test_corrupt/sites/*/state) || { echo "test_corrupt not broken"; return 1; }
	d=${d%/state}
	e=$({ echo 1 >$d/enable; } 2>&1) && { echo "a still broken site was enabled"; return 1; }
	[ "${e##*: }" = "Input/output error" ] && [ "$(cat $d/state)" = broken ] &&
		dmesg | tail -n 3 | grep -q 'marker test_corrupt site [0-9]*: still broken: its bytes 0f 1f 44 55 00'
}
ktap_check "a broken site whose bytes are right again is re-validated by a write; one still wrong is -EIO" revalidate
ktap_check "test module unloads" rmmod markers_test
ktap_check "no site left after unload; markers left enabled stay pending" sh -c '
	! grep -q "^site test_" /sys/kernel/markers/control &&
	! grep "^marker test_" /sys/kernel/markers/control | grep -v -q "^marker test_[a-z0-9_]* pending enable=1 "'
ktap_check "core module unloads" rmmod markers
ktap_end
