#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# markers.ko, the core module: it loads, shows itself in sysfs, unloads
# cleanly and loads again.

. /markers/testing/ktap.sh
ko=/markers/modules/markers.ko
version=$(cat /markers/VERSION)

ktap_begin 12
ktap_check "guest has 4 CPUs online" test "$(cat /sys/devices/system/cpu/online)" = 0-3
ktap_check "core module loads" insmod $ko
ktap_check "module listed in /proc/modules" grep -q '^markers ' /proc/modules
ktap_check "module version is $version" test "$(cat /sys/module/markers/version 2>&1)" = "$version"
ktap_check "sysfs root /sys/kernel/markers exists" test -d /sys/kernel/markers
ktap_check "ABI symbol exported" grep -q ' markers_abi_version\b' /proc/kallsyms
ktap_check "load logged" sh -c 'dmesg | grep -q "markers: loaded (ABI 2)"'
ktap_check_fails "second load is refused" insmod $ko
ktap_check "core module unloads" rmmod markers
ktap_check "sysfs root gone after unload" test ! -e /sys/kernel/markers
ktap_check "reload after unload" insmod $ko
ktap_check "unload after reload" rmmod markers
ktap_end
