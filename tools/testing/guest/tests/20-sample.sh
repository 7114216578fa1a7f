#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The sample module from the operator's side: its markers appear in
# /sys/kernel/markers/control, switch on and off, count hits, survive bad
# input, and the module unloads cleanly while its markers are enabled.

. /markers/testing/ktap.sh
m=/markers/modules
ctl=/sys/kernel/markers/control

hits() { awk -v n="$1" '$1 == n { print $4 }' $ctl; }

ktap_begin 17
ktap_check "core module loads" insmod $m/markers.ko
ktap_check_fails "a client cannot load without the core module" sh -c 'rmmod markers && insmod '$m'/markers_sample.ko'
insmod $m/markers.ko 2>/dev/null
ktap_check "sample loads" insmod $m/markers_sample.ko
ktap_check "the sample's 6 markers are listed" test "$(grep -c '^sample_' $ctl)" = 6
ktap_check "one name at two sites is one marker" test "$(awk '$1 == "sample_state" { print $3 }' $ctl)" = 2
ktap_check "the init-text site is retired" sh -c "grep 'sample_init retired init' $ctl"
ktap_check "markers start disabled" sh -c "test \"\$(awk '/^sample_/ { print \$2 }' $ctl | sort -u)\" = off"
ktap_check "core cannot unload under a client" sh -c '! rmmod markers'
ktap_check "enable two markers in one write" sh -c "echo 'enable sample_tick sample_loop' > $ctl"
sleep 1
ktap_check "enabled markers count hits" sh -c "test \"\$(awk '\$1 == \"sample_tick\" { print \$4 }' $ctl)\" -gt 0 && test \"\$(awk '\$1 == \"sample_loop\" { print \$4 }' $ctl)\" -gt 0"
ktap_check "a disabled marker counts none" test "$(hits sample_state)" = 0
ktap_check_fails "an unknown command is refused" sh -c "echo 'frobnicate sample_tick' > $ctl"
ktap_check_fails "an unknown marker is refused" sh -c "echo 'enable sample_tick no_such_marker' > $ctl"
ktap_check_fails "a malformed name is refused" sh -c "echo 'enable bad-name' > $ctl"
ktap_check "refused writes changed nothing" sh -c "test \"\$(awk '\$1 == \"sample_tick\" { print \$2 }' $ctl)\" = on"
ktap_check "unload while markers are enabled" rmmod markers_sample
ktap_check "reload, enable, unload, unload core" sh -c "insmod $m/markers_sample.ko && echo 'enable sample_state' > $ctl && sleep 0.3 && rmmod markers_sample && rmmod markers"
ktap_end
