#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Lockdown: once the kernel is locked down at the confidentiality level,
# every write to /sys/kernel/markers fails with -EPERM and changes nothing,
# as writes to tracefs do; reads still work. Lockdown cannot be lifted, so
# this runs last, after the leak scan (which debugfs lockdown would stop).

. /markers/testing/ktap.sh
. /markers/testing/markers.sh

lockdown=/sys/kernel/security/lockdown
EPERM="Operation not permitted"
snap() { grep -v '^#' $ctl | sed 's/ hits=[0-9]*//'; }

ktap_begin 5
ktap_check "markers and the sample load; a marker enabled" sh -c "insmod $m/markers.ko && insmod $m/markers_sample.ko &&
	echo 'marker sample_tick +e' >$ctl"
grep -q securityfs /proc/mounts || mount -t securityfs securityfs /sys/kernel/security
ktap_check "the kernel locks down at the confidentiality level" sh -c "echo confidentiality >$lockdown &&
	grep -q '\[confidentiality\]' $lockdown"
snap >/tmp/before
refused() {
	for x in "$ctl|marker sample_tick -e" "$ctl|marker sample_loop +e" "$sys/sample_tick/enable|0" \
		"$sys/sample_tick/hits|0" "$sys/sample_state/sites/0/enable|1"; do
		f=${x%%|*}
		e=$({ echo "${x#*|}" >"$f"; } 2>&1) && { echo "$f accepted a write"; return 1; }
		[ "$e" = "sh: write error: $EPERM" ] || { echo "$f: $e"; return 1; }
	done
	snap | cmp -s /tmp/before - || { echo "the state changed"; return 1; }
	dmesg | tail -n 20 | grep -q 'markers: writes refused: the kernel is locked down'
}
ktap_check "every write is refused with -EPERM and changes nothing; the log says why" refused
ktap_check "reads still work; markctl says the kernel is locked down (exit code 4)" eval '
	markctl list >/dev/null && cat $sys/sample_tick/hits >/dev/null &&
	markctl disable sample_tick 2>&1 | grep -q "locked down";
	test "$(markctl disable sample_tick >/dev/null 2>&1; echo $?)" = 4'
ktap_check "the modules still unload" sh -c "rmmod markers_sample && rmmod markers"
ktap_end
