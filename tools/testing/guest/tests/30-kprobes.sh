#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Coexistence with kprobes: the int3 handler and its notifier are on the
# kprobe blacklist.  (A kprobe placed on a site is tested by markers_test.ko:
# kprobe_events refuses Rust functions, which have no ftrace entry.)

. /markers/testing/ktap.sh
m=/markers/modules
bl=/sys/kernel/debug/kprobes/blacklist

ktap_begin 3
ktap_check "core module loads" insmod $m/markers.ko
ktap_check "the int3 handler and its notifier are on the kprobe blacklist" sh -c "grep -q 'markers_int3 \[markers\]' $bl && grep -q 'markers_die_notify \[markers\]' $bl"
ktap_check "core module unloads" rmmod markers
ktap_end
