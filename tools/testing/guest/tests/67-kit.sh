#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The kit's samples (samples/kit), built outside the tree against the
# installed kit by scripts/check-kit.sh, at work: a Rust tracer and a C
# tracer wait on markers of a module not loaded yet; when it loads, each
# sees exactly the packets it received, with the right arguments.  The
# modules are in /markers/kit when make check runs (vm.sh KIT_MODULES=).

. /markers/testing/ktap.sh
. /markers/testing/markers.sh

k=/markers/kit
if ! [ -f $k/markers_kit_sample.ko ]; then
	ktap_begin 1
	if [ -f /markers/kit-expected ]; then
		ktap_result 1 "the kit's sample modules are in $k"
	else
		ktap_result 0 "the kit's samples # SKIP not built (make check builds them: scripts/check-kit.sh)"
	fi
	ktap_end
	exit
fi

# The sample receives 8 packets of 64, 128, ..., 512 bytes on kit0.
packets=8
bytes=2304

# kmsg_since N PATTERN: whether a kernel log line after the first N matches.
kmsg_since() { dmesg | tail -n +$(($1 + 1)) | grep -q "$2"; }

ktap_begin 13
insmod $m/markers.ko
ktap_check "the Rust tracer loads before the module with the marker" insmod $k/markers_kit_tracer.ko
ktap_check "its probe on kit_rx is pending" test "$(probe_state kit_rx)" = pending
ktap_check "the C tracer loads" insmod $k/markers_kit_ctracer.ko
ktap_check "three pending probes, and no marker kit_* yet" \
	test "$(grep -c '^probe kit_.* pending enable$' $ctl) $(marker_state kit_rx)" = "3 none"
log=$(dmesg | wc -l)
ktap_check "the kit sample loads" insmod $k/markers_kit_sample.ko
ktap_check "it received $packets packets, $bytes bytes" kmsg_since $log "received $packets packets, $bytes bytes"
# One site per copy of rx() the compiler made (the loop may be unrolled).
ktap_check "kit_rx: $packets hits over its sites" \
	test "$(marker_field kit_rx sites)" -ge 1 -a "$(hits kit_rx)" = "$packets"
ktap_check "kit_done: one site, 1 hit" test "$(marker_field kit_done sites) $(hits kit_done)" = "1 1"
ktap_check "the probes are attached" test "$(probe_state kit_rx)" = attached
log=$(dmesg | wc -l)
ktap_check "the Rust tracer unloads" rmmod markers_kit_tracer
ktap_check "the Rust tracer saw every packet and byte, all on kit0" \
	kmsg_since $log "kit_rx: $packets packets, $bytes bytes, $packets on kit0"
ktap_check "the C tracer unloads" rmmod markers_kit_ctracer
ktap_check "the C tracer saw every packet and byte, and the summary" \
	kmsg_since $log "kit_rx: $packets packets, $bytes bytes; kit_done: $bytes bytes"
rmmod markers_kit_sample
rmmod markers
ktap_end
