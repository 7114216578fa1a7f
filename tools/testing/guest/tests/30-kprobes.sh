#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Coexistence with kprobes: the int3 handler and its notifier are on the
# kprobe blacklist, and so are a client's trampolines (.kprobes.text).
# (register_kprobe() on sites and trampolines is tested by markers_test.ko:
# kprobe_events refuses Rust functions, which have no ftrace entry.)

. /markers/testing/ktap.sh
m=/markers/modules
bl=/sys/kernel/debug/kprobes/blacklist

ktap_begin 5
ktap_check "core module loads" insmod $m/markers.ko
ktap_check "the int3 handler and its notifier are on the kprobe blacklist" sh -c "grep -q 'markers_int3 \[markers\]' $bl && grep -q 'markers_die_notify \[markers\]' $bl"
ktap_check "sample loads" insmod $m/markers_sample.ko
ktap_check "the sample's trampolines are on the kprobe blacklist" sh -c "grep -q 'markers_tramp.*\[markers_sample\]' $bl"
ktap_check "both unload" sh -c "rmmod markers_sample && rmmod markers"
ktap_end
