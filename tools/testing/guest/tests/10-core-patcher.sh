#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mark!, the registry and the patcher, tested from inside the kernel by
# markers_test.ko, which prints its own KTAP document (enable/disable and
# read-back, argument evaluation, batches, corruption, unwinding, and the
# 3-CPU stress test) and fails its load if any of its checks fails.

. /markers/testing/ktap.sh
m=/markers/modules

ktap_begin 5
ktap_check "core module loads with test_mode=1" insmod $m/markers.ko test_mode=1
ktap_check "markers_test.ko: every in-kernel check passes" insmod $m/markers_test.ko toggles=${MARKERS_TOGGLES:-2000} expect_no_late=${MARKERS_EXPECT_NO_LATE:-0}
ktap_check "test module unloads" rmmod markers_test
ktap_check "no site left after unload; markers left enabled stay pending" sh -c '
	! grep -q "^site test_" /sys/kernel/markers/control &&
	! grep "^marker test_" /sys/kernel/markers/control | grep -v -q "^marker test_[a-z0-9_]* pending enable=1 "'
ktap_check "core module unloads" rmmod markers
ktap_end
