#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Coexistence with kprobes: the int3 handler cannot be kprobed, and a site a
# kprobe sits on (its int3, or its optimized jump) is refused, logged and
# left alone, while the kprobe keeps working.

. /markers/testing/ktap.sh
m=/markers/modules
ctl=/sys/kernel/markers/control
kev=/sys/kernel/tracing/kprobe_events

ktap_begin 8
insmod $m/markers.ko
insmod $m/markers_sample.ko
ktap_check "the int3 handler is on the kprobe blacklist" grep -q ' markers_int3$' /sys/kernel/debug/kprobes/blacklist
ktap_check "so is its die notifier" grep -q ' markers_die_notify$' /sys/kernel/debug/kprobes/blacklist
# The sample_loop site as SYMBOL+OFFSET, from the control file's %pS.
site=$(awk '$4 == "sample_loop" { sub(/\/.*/, "", $1); print $1 }' $ctl)
ktap_diag "sample_loop site: $site"
ktap_check "a kprobe on the site is accepted" sh -c "echo 'p:markers/onsite $site' >> $kev && echo 1 > /sys/kernel/tracing/events/markers/onsite/enable"
sleep 1
ktap_check_fails "enabling the marker under the kprobe fails" sh -c "echo 'enable sample_loop' > $ctl"
ktap_check "the site is marked broken" sh -c "grep -q 'sample_loop broken' $ctl"
ktap_check "the refusal is logged with the site" sh -c "dmesg | grep -q 'markers: refusing a site with .*sum_squares'"
ktap_check "the kprobe still fires" sh -c "test \"\$(awk '/onsite/ { print \$3 }' /sys/kernel/tracing/kprobe_profile)\" -gt 0"
ktap_check "kprobe removed, modules unload" sh -c "echo 0 > /sys/kernel/tracing/events/markers/onsite/enable && echo '-:markers/onsite' >> $kev && rmmod markers_sample && rmmod markers"
ktap_end
