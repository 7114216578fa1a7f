#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# markctl (tools/markctl, the static binary put in the VM) against the real
# /sys/kernel/markers: listing, one-batch enables by glob, hits, a single
# site by number and by demangled location, the print probe, an enable made
# before the module loads, and its exit codes (Documentation/markctl.rst).

. /markers/testing/ktap.sh
. /markers/testing/markers.sh

# rc COMMAND...: the exit status of COMMAND, its output dropped.
rc() { "$@" >/dev/null 2>&1; echo $?; }

ktap_begin 16
ktap_check "markers.ko not loaded: exit code 3, and says so" eval 'test "$(rc markctl list)" = 3 &&
	markctl list 2>&1 | grep -q "markers.ko is not loaded"'
insmod $m/markers.ko
ktap_check "an enable before the module loads is pending" eval 'markctl enable sample_tick 2>&1 | grep -q pending &&
	markctl list --json | grep -q "\"name\":\"sample_tick\",\"state\":\"pending\""'
insmod $m/markers_sample.ko
ktap_check "list --json lists the sample's markers; the pending enable applied at load" eval '
	j=$(markctl list --json) &&
	for n in sample_tick sample_loop sample_state sample_generic sample_init sample_exit; do
		echo "$j" | grep -q "\"name\":\"$n\"" || { echo "$n not listed"; exit 1; }
	done &&
	echo "$j" | grep -q "\"name\":\"sample_tick\",\"state\":\"on\""'
ktap_check "list shows a table with a state column" eval 'markctl list | head -1 | grep -q "^NAME *STATE" &&
	test "$(markctl list --state on | tail -n +2 | awk "{ print \$1 }")" = sample_tick'
ktap_check "enable 'sample_*': one batch, one patch pass, all on" eval 'p=$(counter passes) &&
	markctl enable "sample_*" && test $(($(counter passes) - p)) = 1 &&
	test -z "$(grep "^marker sample_" $ctl | grep -v " on enable=1 ")"'
sleep 1
ktap_check "stats: hits count" eval 'h=$(markctl stats --interval 0 --json | sed -n "s/.*\"name\":\"sample_loop\",\"hits\":\([0-9]*\).*/\1/p") &&
	echo "sample_loop: $h hits" && test "$h" -gt 0'
ktap_check "stats with an interval: a rate" eval 'markctl stats --interval 0.5 sample_loop | awk "NR == 2 { exit !(\$4 > 0) }"'
ktap_check "a single site by number" eval 'markctl disable "sample_*" && markctl enable --site sample_state/0 &&
	test "$(cat $sys/sample_state/sites/0/state)" = on && test "$(cat $sys/sample_state/sites/1/state)" = off'
ktap_check "a single site by its demangled location" eval '
	loc=$(markctl list --sites sample_state | awk "\$1 == \"sample_state/1\" { print \$3 }") &&
	echo "site 1 at $loc" && case "$loc" in _R*) exit 1 ;; esac &&
	markctl enable --site "markers_sample:${loc%%/*}" &&
	test "$(cat $sys/sample_state/sites/1/state)" = on'
ktap_check "show: everything about one marker" eval 'markctl show sample_state | grep -q "^modules: *markers_sample" &&
	test "$(markctl show --json sample_state | grep -o "\"id\":[0-9]*" | wc -l)" = 2'
ktap_check "the print probe, on and off" eval 'markctl enable --print sample_tick && test "$(marker_field sample_tick print)" = 1 &&
	markctl disable --no-print sample_tick && test "$(marker_field sample_tick print)" = 0'
ktap_check "watch: two refreshes" eval 'test "$(markctl watch -c 2 --interval 0.3 "sample_*" | grep -c "^markctl watch: every")" = 2'
snap() { grep -v '^#' $ctl | sed 's/ hits=[0-9]*//'; }
snap >/tmp/before
ktap_check "unknown marker: exit code 5, nothing written" eval 'test "$(rc markctl enable "no_such_*")" = 5 &&
	test "$(rc markctl show no_such)" = 5 && test "$(rc markctl enable --site sample_tick/99)" = 5 &&
	snap | cmp -s /tmp/before -'
grep -q '^nobody:' /etc/passwd 2>/dev/null || echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
ktap_check "a non-root user reads, cannot switch: exit code 4" eval 'su -s /bin/sh nobody -c "markctl list >/dev/null" &&
	su -s /bin/sh nobody -c "markctl enable sample_tick" 2>&1 | grep -q "run as root";
	test "$(su -s /bin/sh nobody -c "markctl enable sample_tick >/dev/null 2>&1; echo \$?")" = 4 &&
	snap | cmp -s /tmp/before -'
ktap_check "disable '*' switches everything off" eval 'markctl disable "*" &&
	test -z "$(grep "^marker" $ctl | grep -v " off enable=0 ")"'
ktap_check "everything unloads" sh -c "rmmod markers_sample && rmmod markers"
ktap_end
