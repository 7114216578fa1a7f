#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The sample module from the operator's side: its markers appear in
# /sys/kernel/markers/control, switch on and off, count hits, survive bad
# input, and the module unloads cleanly while its markers are enabled.

. /markers/testing/ktap.sh
. /markers/testing/markers.sh

ktap_begin 17
ktap_check "core module loads" insmod $m/markers.ko
ktap_check_fails "a client cannot load without the core module" sh -c 'rmmod markers && insmod '$m'/markers_sample.ko'
insmod $m/markers.ko 2>/dev/null
ktap_check "sample loads" insmod $m/markers_sample.ko
ktap_check "the sample's 6 markers are listed" test "$(grep -c '^marker sample_' $ctl)" = 6
ktap_check "one name at two sites is one marker" test "$(marker_field sample_state sites)" = 2
ktap_check "the init-text site is retired" sh -c "grep -q '^site sample_init/0 markers_sample - retired enable=0 override=- init=1$' $ctl"
ktap_check "markers start disabled" sh -c "test \"\$(awk '/^marker sample_/ { print \$3 }' $ctl | sort -u)\" = off"
ktap_check "core cannot unload under a client" sh -c '! rmmod markers'
ktap_check "enable two markers in one write" ctl_write 'marker sample_tick +e; marker sample_loop +e'
sleep 1
ktap_check "enabled markers count hits" sh -c "test $(hits sample_tick) -gt 0 && test $(hits sample_loop) -gt 0"
ktap_check "a disabled marker counts none" test "$(hits sample_state)" = 0
ktap_check_fails "an unknown command is refused" ctl_write 'frobnicate sample_tick'
ktap_check_fails "an unknown marker is refused" ctl_write 'marker sample_tick -e; marker no_such_* +e'
ktap_check_fails "a malformed name is refused" ctl_write 'marker bad-name +e'
ktap_check "refused writes changed nothing" test "$(marker_state sample_tick)" = on
ktap_check "unload while markers are enabled" rmmod markers_sample
ktap_check "reload, enable, unload, unload core" sh -c "insmod $m/markers_sample.ko && echo 'marker sample_state +e' > $ctl && sleep 0.3 && rmmod markers_sample && rmmod markers"
ktap_end
