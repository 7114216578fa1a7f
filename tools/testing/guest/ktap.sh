# SPDX-License-Identifier: GPL-2.0
#
# KTAP helpers for in-guest test scripts (sourced).  A script calls
# ktap_begin with its number of tests, then one check per test, then
# ktap_end, whose status is the number of failures:
#
#	. /markers/testing/ktap.sh
#	ktap_begin 2
#	ktap_check "core loads" insmod /markers/modules/markers.ko
#	ktap_check "sysfs root exists" test -d /sys/kernel/markers
#	ktap_end

ktap_n=0
ktap_failed=0
ktap_planned=0

ktap_begin() {
	ktap_planned=$1
	echo "KTAP version 1"
	echo "# $(basename "$0")"
	echo "1..$1"
}

# ktap_result STATUS NAME: record a result (STATUS 0 is a pass).
ktap_result() {
	ktap_n=$((ktap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $ktap_n $2"
	else
		echo "not ok $ktap_n $2"
		ktap_failed=$((ktap_failed + 1))
	fi
}

# ktap_check NAME COMMAND...: run COMMAND, its output as KTAP diagnostics.
ktap_check() {
	_name=$1
	shift
	_out=$("$@" 2>&1)
	_rc=$?
	[ -z "$_out" ] || echo "$_out" | sed 's/^/# /'
	ktap_result $_rc "$_name"
	return $_rc
}

# ktap_check_fails NAME COMMAND...: pass when COMMAND fails.
ktap_check_fails() {
	_name=$1
	shift
	_out=$("$@" 2>&1)
	_rc=$?
	[ -z "$_out" ] || echo "$_out" | sed 's/^/# /'
	if [ $_rc = 0 ]; then ktap_result 1 "$_name"; else ktap_result 0 "$_name"; fi
}

# ktap_diag TEXT: a diagnostic line.
ktap_diag() {
	echo "# $*"
}

ktap_end() {
	if [ "$ktap_n" != "$ktap_planned" ]; then
		echo "# planned $ktap_planned tests, ran $ktap_n"
	fi
	return $ktap_failed
}
