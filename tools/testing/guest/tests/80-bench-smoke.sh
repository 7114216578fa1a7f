#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Smoke pass of the benchmark module (not the benchmark: `make bench` runs
# that under -icount): markers_bench.ko with a few hundred iterations must
# report every subject with numbers that parse, a disabled site cheaper
# than an enabled one and an enabled one cheaper than a kprobe hit (here
# in time stamp counter ticks of plain TCG, not instructions: the margins
# are wide), and its print probe must have written to the trace instance.

. /markers/testing/ktap.sh
m=/markers/modules
subjects="disabled flag static_key tracepoint_disabled enabled_no_probe
	enabled_one_probe enabled_one_rust_probe enabled_three_probes args_ints
	args_cstr args_bytes args_user tracepoint_one_probe
	tracepoint_three_probes kprobe_hit print_probe"

# The value of field NAME= of SUBJECT's line.
field() {
	echo "$out" | awk -v s="subject=$1" -v f="$2=" '$1 == s {
		for (i = 2; i <= NF; i++)
			if (index($i, f) == 1) { print substr($i, length(f) + 1); exit }
	}'
}

ends_ok() {
	echo "$out" | grep -qx 'end rc=0'
}

missing_subjects() {
	for s in $subjects; do
		echo "$out" | grep -q "^subject=$s " || echo "missing: $s"
	done | grep . && return 1
	return 0
}

# Every insns, min, max and base_insns field: [-]digits.3 digits.
numbers_parse() {
	echo "$out" | awk '$1 ~ /^subject=/ {
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] ~ /^(insns|min|max|base_insns)$/ &&
			    kv[2] !~ /^-?[0-9]+\.[0-9][0-9][0-9]$/) {
				print "bad number: " $1 " " $i; bad = 1
			}
		}
	} END { exit bad }'
}

ordered() {
	d=$(field disabled insns)
	e=$(field enabled_no_probe insns)
	k=$(field kprobe_hit insns)
	echo "disabled $d, enabled without probe $e, kprobe hit $k"
	awk -v d="$d" -v e="$e" -v k="$k" 'BEGIN { exit !(d + 0 < e + 0 && e + 0 < k + 0) }'
}

ktap_begin 8
ktap_check "core module loads" insmod $m/markers.ko
ktap_check "markers_bench.ko runs a short pass" insmod $m/markers_bench.ko iters=500 reps=3
out=$(dmesg | sed -n '/markers_bench: begin iters=/,$s/.*markers_bench: //p')
ktap_check "the pass ends without an error" ends_ok
ktap_check "every subject is reported" missing_subjects
ktap_check "every number parses" numbers_parse
ktap_check "disabled < enabled < kprobe hit" ordered
ktap_check "the print probe wrote to the markers trace instance" \
	grep -q 'bench_print: i=' /sys/kernel/tracing/instances/markers/trace
ktap_check "everything unloads" sh -c "rmmod markers_bench && rmmod markers"
ktap_end
