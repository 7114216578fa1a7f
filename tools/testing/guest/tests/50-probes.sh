#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Probes: the in-kernel checks of markers_probe_test.ko, then load orders of
# the sample tracers (Rust and C) against the marked module, a signature
# mismatch found at load, the print probe, and the safety net for a tracer
# that unloads with probes registered.

. /markers/testing/ktap.sh
. /markers/testing/markers.sh

ktap_begin 20
ktap_check "core module loads" insmod $m/markers.ko
ktap_check "markers_probe_test.ko: every in-kernel check passes" insmod $m/markers_probe_test.ko
ktap_check "probe test module unloads" rmmod markers_probe_test

# Tracer first, then the marked module, then a reload.
ktap_check "tracer loads before the marked module: probes pending" eval 'insmod $m/markers_tracer.ko && test "$(probe_state sample_tick)" = pending'
insmod $m/markers_sample.ko
ktap_check "the marked module loads: probe attached, marker armed by it" sh -c "test '$(probe_state sample_tick)' = attached && test '$(marker_state sample_tick)' = on"
ktap_check "a probe without ENABLE does not arm its marker" test "$(marker_state sample_state)" = off
sleep 1
ktap_check "the armed marker's probe runs" sh -c "dmesg | grep -q 'markers_tracer: tick 10 by'"
rmmod markers_sample
ktap_check "marked module unloaded: probes pending again" test "$(probe_state sample_tick)" = pending
insmod $m/markers_sample.ko
ktap_check "reloaded: attached and armed again" sh -c "test '$(probe_state sample_tick)' = attached && test '$(marker_state sample_tick)' = on"
sleep 0.5
ktap_check "unload the tracer while hits continue" rmmod markers_tracer
ktap_check "it saw hits, and its marker is disarmed" eval 'dmesg | grep -q "tracer unloading: sample_tick [1-9][0-9]* hits" && test "$(marker_state sample_tick)" = off'

# Tracer after the marked module; the C tracer.
ktap_check "Rust tracer after the marked module: attached at once" eval 'insmod $m/markers_tracer.ko && test "$(probe_state sample_tick)" = attached'
ktap_check "C tracer loads, both probes attached" sh -c "insmod $m/markers_tracer_c.ko && dmesg | grep -q 'C tracer loaded: sample_tick 1, sample_loop 1'"
sleep 0.5
ktap_check "both tracers unload, having seen hits" sh -c "rmmod markers_tracer_c && rmmod markers_tracer && dmesg | grep -q 'C tracer unloading: sample_tick [1-9][0-9]* hits, sample_loop [1-9][0-9]* hits'"

# The print probe.
ktap_check "the print probe writes to the markers trace instance" sh -c "echo 'marker sample_tick +p' > $ctl && sleep 0.5 && grep -q 'sample_tick: tick [0-9]* by ticker ticks=' /sys/kernel/tracing/instances/markers/trace"
ktap_check "and detaches" eval 'ctl_write "marker sample_tick -p" && ! grep -q "^probe sample_tick" $ctl && test "$(marker_state sample_tick)" = off'

# A signature mismatch found when the marked module loads.
rmmod markers_sample
ktap_check "a pending probe of the wrong signature" sh -c "insmod $m/markers_probe_test.ko mismatch=1 && insmod $m/markers_sample.ko"
ktap_check "is logged and stays unattached when the marker loads" eval 'dmesg | grep -q "marker sample_exit loaded with signature \"L\"; a probe registered for \"I\" stays unattached" && test "$(probe_state sample_exit)" = mismatch'
rmmod markers_probe_test

# A tracer that forgets to unregister.
ktap_check "a tracer unloading with a probe registered: detached with a warning" sh -c "insmod $m/markers_probe_test.ko leak=1 && rmmod markers_probe_test && dmesg | grep -q 'markers_probe_test is going with 1 probes registered' && ! grep -q '^probe ptest_leak' $ctl"
ktap_check "everything unloads" sh -c "rmmod markers_sample && rmmod markers"
ktap_end
