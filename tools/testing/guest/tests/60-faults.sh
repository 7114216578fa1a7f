#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Failure paths, driven by the kernel's fault injection and markers.ko's
# test mode:
#   - markers_fault_test.ko: registration, unregistration and enabling with
#     each of their allocations failing in turn (per-task fail-nth), and a
#     text write failing at each step of the int3 protocol;
#   - a module load with each allocation of markers.ko's work failing in
#     turn (the load fails and leaves nothing, or succeeds);
#   - a module unload with each allocation failing in turn, while another
#     module's marker is toggled under a CPU running its site: the int3
#     table must survive (a trap with no table would be an oops);
#   - random allocation failures (failslab and fail_page_alloc at 10 %) in
#     the tasks of a mixed run of loads, toggles and unloads: every command
#     that failed changed nothing, every one that succeeded did its work.

. /markers/testing/ktap.sh
. /markers/testing/markers.sh
par=/sys/module/markers/parameters
dbg=/sys/kernel/debug

# Fail-nth and the random run must reach sleeping and highmem allocations of
# any order; no stack dump per injected failure.
for f in failslab fail_page_alloc; do
	echo N >$dbg/$f/ignore-gfp-wait
	echo 0 >$dbg/$f/verbose
	echo 0 >$dbg/$f/probability
done
echo N >$dbg/fail_page_alloc/ignore-gfp-highmem
echo 0 >$dbg/fail_page_alloc/min-order

loaded() { grep -q "^$1 " /proc/modules; }
marker() { marker_state "$1"; }

# Only this script's kernel log lines are judged at the end.
log_start=$(dmesg | wc -l)

ktap_begin 12
ktap_check "core module loads in test mode" insmod $m/markers.ko test_mode=1
ktap_check "markers_fault_test.ko: every in-kernel check passes" insmod $m/markers_fault_test.ko
rmmod markers_fault_test

# Module load, every allocation failing in turn; the tracer is loaded first
# so that the load also attaches pending probes and points trampolines.
# A load makes about 290 allocations on the default kernel (most of them
# the sysfs directories of the sample's markers and sites), more on the
# debug kernel, where kmemleak's own metadata allocations count too.
load_sweep() {
	n=1
	refused=0
	while [ $n -le 2000 ]; do
		echo $n >$par/fail_nth_coming
		insmod $m/markers_sample.ko 2>/dev/null; r=$?
		echo 0 >$par/fail_nth_coming
		if [ $r = 0 ]; then
			hit=$(cat $par/fail_nth_hit)
			[ "$(marker sample_tick)" = on ] || { echo "n=$n: loaded, but sample_tick is $(marker sample_tick)"; return 1; }
			rmmod markers_sample || return 1
			if [ "$hit" = N ]; then
				echo "$((n - 1)) allocations failed in turn, $refused loads refused"
				[ $refused -gt 0 ]
				return
			fi
		else
			refused=$((refused + 1))
			[ "$(cat $par/fail_nth_hit)" = Y ] || { echo "n=$n: load failed with no failure injected"; return 1; }
			! loaded markers_sample || { echo "n=$n: failed load left the module"; return 1; }
			[ "$(marker sample_tick)" = none ] || { echo "n=$n: failed load left marker sample_tick"; return 1; }
		fi
		n=$((n + 1))
	done
	echo "no end after $n attempts"
	return 1
}
insmod $m/markers_tracer.ko
ktap_check "module load under allocation failures: refused cleanly, or complete" load_sweep
rmmod markers_tracer

# The per-CPU hit counters (not a slab allocation: fail-nth does not reach
# them) cannot be allocated: the load fails, leaves nothing, says why.
hits_alloc_fail() {
	echo Y >$par/fail_hits_alloc
	insmod $m/markers_sample.ko 2>/dev/null; r=$?
	echo N >$par/fail_hits_alloc
	if [ $r = 0 ]; then
		echo "loaded without hit counters"
		rmmod markers_sample
		return 1
	fi
	! loaded markers_sample && [ "$(marker sample_tick)" = none ] || { echo "the failed load left something"; return 1; }
	dmesg | tail -n 20 | grep -q 'module markers_sample: no memory for the hit counters of' || { echo "no log line"; return 1; }
	insmod $m/markers_sample.ko && [ "$(marker sample_tick)" != none ] && rmmod markers_sample
}
ktap_check "no memory for hit counters: the load fails cleanly, the next one works" hits_alloc_fail

# Module unload, every allocation failing in turn, while ftest_hot runs.
unload_sweep() {
	before=$(int3s)
	n=1
	while [ $n -le 400 ]; do
		insmod $m/markers_sample.ko || return 1
		echo $n >$par/fail_nth_going
		rmmod markers_sample; r=$?
		echo 0 >$par/fail_nth_going
		[ $r = 0 ] || { echo "n=$n: unload failed"; return 1; }
		hit=$(cat $par/fail_nth_hit)
		[ "$(marker sample_tick)" = none ] || { echo "n=$n: unload left marker sample_tick"; return 1; }
		for i in 1 2 3; do
			echo 'marker ftest_hot +e' >$ctl && echo 'marker ftest_hot -e' >$ctl || return 1
		done
		if [ "$hit" = N ]; then
			echo "$((n - 1)) allocations failed in turn; $(($(int3s) - before)) int3 traps handled meanwhile"
			return 0
		fi
		n=$((n + 1))
	done
	echo "no end after $n attempts"
	return 1
}
insmod $m/markers_fault_test.ko hot=1
ktap_check "module unload under allocation failures: the int3 table survives, traps still handled" unload_sweep

# A control batch (enable, a pending enable, the print probe), every
# allocation failing in turn: refused having changed nothing, or complete.
batch='marker ftest_hot +e; marker pending_one +e; marker sample_tick +p'
undo='marker ftest_hot -e; marker pending_one -e; marker sample_tick -p'
snap() { grep -v '^#' $ctl | sed 's/ hits=[0-9]*//'; }
batch_sweep() {
	n=1
	refused=0
	while [ $n -le 400 ]; do
		before=$(snap)
		# Armed, only the write may allocate: the files are open before and
		# the shell's error message goes nowhere. fail-nth then reads 0 if
		# the fault was injected; if opening it takes the fault, the write
		# did not.
		exec 3>$ctl 4>/proc/thread-self/fail-nth 5>&2 2>/dev/null
		echo $n >&4
		echo "$batch" >&3; r=$?
		read -r left </proc/thread-self/fail-nth || left=open
		echo 0 >&4
		exec 2>&5 3>&- 4>&- 5>&-
		if [ $r = 0 ]; then
			[ "$(marker ftest_hot)" = on ] && [ "$(marker pending_one)" = pending ] &&
				[ "$(marker_field sample_tick print)" = 1 ] ||
				{ echo "n=$n: accepted, but not applied:"; snap; return 1; }
			ctl_write "$undo" || return 1
			[ "$(snap)" = "$before" ] || { echo "n=$n: undoing left a difference"; return 1; }
			if [ "$left" != 0 ]; then
				echo "$((n - 1)) allocations failed in turn, $refused batches refused"
				[ $refused -gt 0 ]
				return
			fi
		else
			refused=$((refused + 1))
			[ "$(snap)" = "$before" ] || { echo "n=$n: a refused batch changed the state"; return 1; }
		fi
		n=$((n + 1))
	done
	echo "no end after $n attempts"
	return 1
}
insmod $m/markers_sample.ko
ktap_check "a control batch under allocation failures: refused having changed nothing, or complete" batch_sweep
rmmod markers_sample

# Random failures in a mixed run: each load, unload and control write gets
# its n-th allocation failed, n random in 1..40, in markers.ko's work only
# (the loader's own failures would print allocation warnings with stack
# traces, which the harness rightly counts as splats).
ctl_nth() { # N COMMAND: write COMMAND to the control file, n-th allocation failing
	exec 3>$ctl
	echo "$1" >/proc/thread-self/fail-nth
	echo "$2" >&3
	r=$?
	echo 0 >/proc/thread-self/fail-nth
	exec 3>&-
	return $r
}
random_run() {
	bad=0
	i=0
	failed=0
	while [ $i -lt 60 ]; do
		n=$((RANDOM % 40 + 1))
		case $((i % 4)) in
		0) echo $n >$par/fail_nth_coming
		   insmod $m/markers_sample.ko 2>/dev/null; r=$?
		   echo 0 >$par/fail_nth_coming
		   if [ $r = 0 ]; then loaded markers_sample && [ "$(marker sample_tick)" != none ] || bad=1
		   else ! loaded markers_sample && [ "$(marker sample_tick)" = none ] || bad=1; fi ;;
		1) was=$(marker ftest_hot)
		   ctl_nth $n 'marker ftest_hot +e' 2>/dev/null; r=$?
		   if [ $r = 0 ]; then [ "$(marker ftest_hot)" = on ] || bad=1; else [ "$(marker ftest_hot)" = "$was" ] || bad=1; fi ;;
		2) was=$(marker ftest_hot)
		   ctl_nth $n 'marker ftest_hot -e' 2>/dev/null; r=$?
		   if [ $r = 0 ]; then [ "$(marker ftest_hot)" = off ] || bad=1; else [ "$(marker ftest_hot)" = "$was" ] || bad=1; fi ;;
		3) if loaded markers_sample; then
			echo $n >$par/fail_nth_going
			rmmod markers_sample; r=$?
			echo 0 >$par/fail_nth_going
			[ $r = 0 ] && ! loaded markers_sample && [ "$(marker sample_tick)" = none ] || bad=1
		   fi ;;
		esac
		[ $r = 0 ] || failed=$((failed + 1))
		[ $bad = 0 ] || { echo "step $i (n=$n): command returned $r but the state says otherwise"; return 1; }
		i=$((i + 1))
	done
	echo "$failed of 60 commands failed, each having changed nothing"
	return 0
}
insmod $m/markers_tracer.ko
ktap_check "random allocation failures: every command did its work or failed having changed nothing" random_run
rmmod markers_tracer
# The run's last command on ftest_hot may have been a refused disable: the
# marker would then stay enabled, and pending once its module goes.
ctl_write 'marker ftest_hot -e'

ktap_check "after the faults, every client unloads" sh -c "
	! grep -q '^markers_sample ' /proc/modules || rmmod markers_sample
	rmmod markers_fault_test"
ktap_check "poking a retired init-text site is refused (-ENOENT), not written" sh -c "dmesg | grep -q 'markers_fault_test: poking the retired init site: -2\$'"
left_behind() { # the listing's lines, if any, and a failure
	grep -v '^#' $ctl && return 1
	return 0
}
ktap_check "no marker, probe or site is left behind" left_behind
rmmod markers
ktap_check "no site refused for foreign bytes or a bad read-back along the way" sh -c "! dmesg | tail -n +$((log_start + 1)) | grep 'foreign int3\|unexpected bytes\|read-back mismatch'"
ktap_check "no trampoline left jumping into a going module" sh -c "! dmesg | tail -n +$((log_start + 1)) | grep 'trampoline still jumps into it'"
ktap_end
