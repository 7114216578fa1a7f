#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Module lifecycle churn: MARKERS_LIFECYCLE_CYCLES (default 100; make
# torture runs 1,000) cycles of loading the sample with its probes attached
# (a Rust tracer loaded first in odd cycles, after it in even ones, and the
# C tracer), toggling its markers and single sites through the control file
# while its tick timer hits them, and unloading all three in turn. Every
# command must succeed; at the end the registry must be empty (no marker,
# site or probe listed), the kernel log clean (the harness) and, on the
# debug kernel, kmemleak silent (the scan after the suite).

. /markers/testing/ktap.sh
. /markers/testing/markers.sh
cycles=${MARKERS_LIFECYCLE_CYCLES:-100}

# step CMD...: runs CMD; counts and shows a failure.
bad=0
step() {
	"$@" || { bad=$((bad + 1)); echo "# cycle $i: failed: $*"; }
}

# site_id: the ID of sample_tick's first listed site.
site_id() {
	awk '$1 == "site" && index($2, "sample_tick/") == 1 { print substr($2, 13); exit }' $ctl
}

ktap_begin 5
ktap_check "core module loads" insmod $m/markers.ko
ktap_check "the listing is empty before" grep -q '^# markers ABI 2: 0 markers, 0 sites' $ctl

start=$(date +%s)
i=0
while [ $i -lt "$cycles" ]; do
	if [ $((i % 2)) = 1 ]; then
		step insmod $m/markers_tracer.ko
		step insmod $m/markers_sample.ko
	else
		step insmod $m/markers_sample.ko
		step insmod $m/markers_tracer.ko
	fi
	step insmod $m/markers_tracer_c.ko
	step ctl_write "marker sample_* +e"
	step ctl_write "site sample_tick/$(site_id) -e"
	step ctl_write "module markers_sample -e
marker sample_loop +e"
	step ctl_write "marker sample_* -e"
	if [ $((i % 3)) = 0 ]; then
		step rmmod markers_tracer
		step rmmod markers_sample
	else
		step rmmod markers_sample
		step rmmod markers_tracer
	fi
	step rmmod markers_tracer_c
	i=$((i + 1))
done
secs=$(($(date +%s) - start))
ktap_diag "$cycles cycles of the sample and two tracers in $secs s, $bad failed commands"
ktap_check "every command of the $cycles cycles succeeded" test "$bad" = 0
ktap_check "the registry is empty after" sh -c "grep -q '^# markers ABI 2: 0 markers, 0 sites' $ctl && grep -q '^# probes: 0' $ctl && [ \$(grep -vc '^#' $ctl) = 0 ]"
ktap_check "markers.ko unloads" rmmod markers
ktap_end
