#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The torture test (markers_torture.ko; see the comment at the top of
# tools/testing/modules/markers_torture_glue.c): readers on every CPU in
# process, hardirq and softirq context, togglers through the in-kernel API
# and the control file, probe churn in Rust and C, exact checks in
# quiescent windows; while it runs, this script loads and unloads a marked
# module and two tracers (module churn) and reads the control listing.
#
# Then the same run with markers.ko's grace period skipped on purpose
# (test_skip_gp): it must end in FAILURE with "!!!" lines, which shows that
# the test can fail.
#
# MARKERS_TORTURE_SECS (default 60) sets the length of the first run
# (make torture DURATION=...).

. /markers/testing/ktap.sh
. /markers/testing/markers.sh
par=/sys/module/markers/parameters
tpar=/sys/module/markers_torture/parameters
secs=${MARKERS_TORTURE_SECS:-60}

loaded() { grep -q "^$1 " /proc/modules; }

# wait_result SECS: waits for the run to end; prints its result (1 SUCCESS,
# 2 FAILURE, 0 still running after SECS).
wait_result() {
	i=0
	r=0
	while [ $i -lt "$1" ]; do
		r=$(cat $tpar/result)
		[ "$r" != 0 ] && break
		sleep 1
		i=$((i + 1))
	done
	echo "$r"
}

# churn: loads and unloads the sample, its Rust tracer and the C tracer in
# varying order until the file stop exists; counts cycles and failures.
churn() {
	n=0
	bad=0
	while [ ! -e /tmp/stop-churn ]; do
		if [ $((n % 2)) = 0 ]; then
			insmod $m/markers_sample.ko && insmod $m/markers_tracer.ko || bad=$((bad + 1))
		else
			insmod $m/markers_tracer.ko && insmod $m/markers_sample.ko || bad=$((bad + 1))
		fi
		insmod $m/markers_tracer_c.ko || bad=$((bad + 1))
		ctl_write "marker sample_* +e" || bad=$((bad + 1))
		cat $ctl >/dev/null || bad=$((bad + 1))
		rmmod markers_sample || bad=$((bad + 1))
		rmmod markers_tracer_c || bad=$((bad + 1))
		rmmod markers_tracer || bad=$((bad + 1))
		n=$((n + 1))
	done
	# The pending enables the churn left go with their disable.
	ctl_write "marker sample_* -e" || bad=$((bad + 1))
	echo "$n $bad" >/tmp/churn-result
}

log_start=$(dmesg | wc -l)
new_log() { dmesg | tail -n +"$((log_start + 1))"; }

ktap_begin 11
ktap_check "core module loads in test mode" insmod $m/markers.ko test_mode=1

rm -f /tmp/stop-churn /tmp/churn-result
churn &
ktap_check "markers_torture.ko starts a ${secs} s run" \
	insmod $m/markers_torture.ko duration="$secs"
r=$(wait_result $((secs + 300)))
touch /tmp/stop-churn
wait
ktap_check "the ${secs} s run ends in SUCCESS (result $r)" test "$r" = 1
ktap_check "no broken invariant (!!!) was reported" sh -c "! dmesg | tail -n +$((log_start + 1)) | grep -q '!!!'"
new_log | grep 'markers_torture: \(SUCCESS\|FAILURE\|started\)' | sed 's/^/# /'
read -r cycles bad </tmp/churn-result
ktap_diag "module churn: $cycles cycles of the sample and two tracers, $bad failed commands"
ktap_check "module churn ran at least one cycle, every command succeeded" \
	test "$cycles" -gt 0 -a "$bad" = 0
ktap_check "markers_torture.ko unloads" rmmod markers_torture
ktap_check "no torture marker is left (listing)" \
	sh -c "! grep -q '^marker tort_' $ctl"

# The broken mode: probe changes without their grace period.
log_start=$(dmesg | wc -l)
echo 1 >$par/test_skip_gp
ktap_check "a run with the grace period skipped starts" \
	insmod $m/markers_torture.ko duration=20 handler_delay_ns=5000 churn_us=200 check_interval=5000
r=$(wait_result 320)
echo 0 >$par/test_skip_gp
ktap_check "the run with the grace period skipped ends in FAILURE (result $r)" test "$r" = 2
n=$(new_log | grep -c '!!!')
new_log | grep '!!!' | head -3 | sed 's/^/# /'
ktap_check "it reported broken invariants ($n lines with !!!)" test "$n" -gt 0
rmmod markers_torture
ktap_check "markers.ko unloads after both runs" rmmod markers
ktap_end
