#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kgdb and markers: with kgdb attached to the serial console (kgdboc), kgdb's
# die notifier enters the debugger for any kernel-mode int3 it sees. It is
# attached here before markers.ko loads, the order a kgdboc= boot gives; then
# a marker is toggled while a CPU runs its site. markers.ko's notifier must
# handle its own traps before kgdb's sees them: if it did not, the first
# trap would stop the VM in the debugger and the run would time out.

. /markers/testing/ktap.sh
. /markers/testing/markers.sh
kgdboc=/sys/module/kgdboc/parameters/kgdboc

toggle() {
	before=$(int3s)
	i=0
	while [ $i -lt 40 ]; do
		echo 'marker ftest_hot +e' >$ctl && echo 'marker ftest_hot -e' >$ctl || return 1
		i=$((i + 1))
	done
	n=$(($(int3s) - before))
	echo "$n int3 traps handled by markers.ko"
	[ $n -gt 0 ]
}

ktap_begin 4
ktap_check "kgdb attaches to the serial console" sh -c "echo ttyS0 >$kgdboc && dmesg | grep -q 'Registered I/O driver kgdboc'"
ktap_check "markers.ko and a module running a site load after it" sh -c "insmod $m/markers.ko && insmod $m/markers_fault_test.ko hot=1"
ktap_check "toggling the running marker: every trap handled by markers.ko, none by kgdb" toggle
ktap_check "everything unloads, kgdb detaches" sh -c "rmmod markers_fault_test && rmmod markers && echo >$kgdboc"
ktap_end
