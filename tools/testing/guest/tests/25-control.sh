#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The operator's interface, /sys/kernel/markers: the directory of every
# marker and site and their files, the control file's listing and batches,
# switching single sites, pending enables across loads and unloads, and bad
# input to every writable file (each refused with its documented errno,
# changing nothing), from root, from a non-root user, and 10,000 random
# writes. Formats and errors: Documentation/ABI/testing/sysfs-kernel-markers.

. /markers/testing/ktap.sh
. /markers/testing/markers.sh

tmp=$(mktemp -d)

# werr FILE TEXT: writes TEXT and a newline to FILE in one write(2); prints
# "ok" or the error (strerror text).
werr() {
	_e=$({ echo "$2" >"$1"; } 2>&1) && { echo ok; return; }
	echo "${_e##*: }"
}

# expect ERROR FILE TEXT: the write fails with ERROR (or succeeds: "ok").
expect() {
	_got=$(werr "$2" "$3")
	[ "$_got" = "$1" ] || { echo "write of '$3' to $2: expected '$1', got '$_got'"; return 1; }
}

# The listing without its hit counts: the state a refused write must leave.
snap() { grep -v '^#' $ctl | sed 's/ hits=[0-9]*//'; }

# same BEFORE-FILE: the state is still what BEFORE-FILE recorded.
same() {
	snap >$tmp/after
	cmp -s "$1" $tmp/after || { echo "the state changed:"; diff "$1" $tmp/after; return 1; }
}

EINVAL="Invalid argument"
ENOENT="No such file or directory"
E2BIG="Argument list too long"
EACCES="Permission denied"
EPERM="Operation not permitted"
EBUSY="Device or resource busy"
long=$(head -c 5000 /dev/zero | tr '\0' 'x')

ktap_begin 31
ktap_check "core and sample load" sh -c "insmod $m/markers.ko && insmod $m/markers_sample.ko"

# --- The tree ---------------------------------------------------------------
tree() {
	for n in sample_tick sample_loop sample_state sample_generic sample_init sample_exit; do
		for f in enable format signature modules probes hits; do
			[ -f $sys/$n/$f ] || { echo "no $sys/$n/$f"; return 1; }
		done
		[ -d $sys/$n/sites ] || { echo "no $sys/$n/sites"; return 1; }
	done
	[ "$(ls $sys/sample_state/sites)" = "$(printf '0\n1')" ] || { echo "sample_state sites: $(ls $sys/sample_state/sites)"; return 1; }
	for f in location state enable; do
		[ -f $sys/sample_state/sites/1/$f ] || { echo "no sites/1/$f"; return 1; }
	done
}
ktap_check "a directory per marker and per site, with its files" tree
modes() {
	for x in "$ctl 644" "$sys/stats 444" "$sys/sample_tick/enable 644" "$sys/sample_tick/hits 644" \
		"$sys/sample_tick/format 444" "$sys/sample_tick/signature 444" "$sys/sample_tick/modules 444" \
		"$sys/sample_tick/probes 444" "$sys/sample_state/sites/0/enable 644" \
		"$sys/sample_state/sites/0/location 444" "$sys/sample_state/sites/0/state 444"; do
		set -- $x
		[ "$(stat -c %a "$1")" = "$2" ] || { echo "$1: mode $(stat -c %a "$1"), not $2"; return 1; }
	done
}
ktap_check "file modes: writable files root only, the rest read-only" modes
contents() {
	[ "$(cat $sys/sample_loop/format)" = 'i={} sum={}' ] || { echo "format: $(cat $sys/sample_loop/format)"; return 1; }
	[ "$(cat $sys/sample_loop/signature)" = II ] || { echo "signature: $(cat $sys/sample_loop/signature)"; return 1; }
	[ "$(cat $sys/sample_state/signature)" = "$(marker_field sample_state sig)" ] || return 1
	[ "$(cat $sys/sample_tick/modules)" = markers_sample ] || { echo "modules: $(cat $sys/sample_tick/modules)"; return 1; }
	[ "$(cat $sys/sample_tick/enable)" = 0 ] && [ -z "$(cat $sys/sample_tick/probes)" ] || return 1
	grep -Eq '^_R[A-Za-z0-9_]*tick[A-Za-z0-9_]*\+0x[0-9a-f]+/0x[0-9a-f]+ \[markers_sample\]$' \
		$sys/sample_state/sites/0/location || { echo "location: $(cat $sys/sample_state/sites/0/location)"; return 1; }
	[ "$(cat $sys/sample_state/sites/0/state)" = off ] && [ "$(cat $sys/sample_state/sites/0/enable)" = 0 ] || return 1
	[ "$(cat $sys/sample_init/sites/0/location)" = "(freed init text)" ] || return 1
	[ "$(cat $sys/sample_init/sites/0/state)" = retired ] || return 1
}
ktap_check "format, signature, modules, location and state say what the site is" contents

# --- Marker files ---------------------------------------------------------------
marker_enable() {
	echo 1 >$sys/sample_loop/enable || return 1
	[ "$(cat $sys/sample_loop/enable)" = 1 ] && [ "$(marker_state sample_loop)" = on ] || return 1
	[ "$(cat $sys/sample_loop/sites/0/state)" = on ] || return 1
	sleep 0.5
	[ "$(cat $sys/sample_loop/hits)" -gt 0 ] || { echo "no hits"; return 1; }
	echo 0 >$sys/sample_loop/enable && [ "$(cat $sys/sample_loop/sites/0/state)" = off ] || return 1
	h=$(cat $sys/sample_loop/hits)
	sleep 0.3
	[ "$(cat $sys/sample_loop/hits)" = "$h" ] || { echo "a disabled marker counted hits"; return 1; }
	echo 0 >$sys/sample_loop/hits && [ "$(cat $sys/sample_loop/hits)" = 0 ] || { echo "hits not reset"; return 1; }
}
ktap_check "enable switches a marker, hits count only while enabled, 0 resets them" marker_enable

# --- One site on its own ---------------------------------------------------------
one_site() {
	echo 1 >$sys/sample_state/sites/0/enable || return 1
	[ "$(cat $sys/sample_state/sites/0/state)" = on ] && [ "$(cat $sys/sample_state/sites/1/state)" = off ] ||
		{ echo "sites: $(cat $sys/sample_state/sites/0/state) $(cat $sys/sample_state/sites/1/state)"; return 1; }
	[ "$(cat $sys/sample_state/enable)" = 0 ] && [ "$(site_field sample_state 0 override)" = on ] || return 1
	sleep 0.5
	[ "$(hits sample_state)" -gt 0 ] || { echo "the site alone counted no hits"; return 1; }
	# The marker's enable takes its sites back.
	echo 1 >$sys/sample_state/enable && echo 0 >$sys/sample_state/enable || return 1
	[ "$(cat $sys/sample_state/sites/0/state)" = off ] && [ "$(site_field sample_state 0 override)" = - ]
}
ktap_check "a single site switches on its own; its marker's enable takes it back" one_site

# --- The control file --------------------------------------------------------------
one_pass() {
	p=$(counter passes)
	ctl_write 'marker sample_* +e
# a comment, and a blank line

marker sample_generic -e; marker sample_init -e' || return 1
	[ $(($(counter passes) - p)) = 1 ] || { echo "$(($(counter passes) - p)) passes"; return 1; }
	for n in sample_tick sample_loop sample_state sample_exit; do
		[ "$(marker_state $n)" = on ] || { echo "$n is $(marker_state $n)"; return 1; }
	done
	[ "$(marker_state sample_generic)" = off ]
}
ktap_check "a batch of globs and names: one patch pass" one_pass
snap >$tmp/before
bad_last() {
	expect "$EINVAL" $ctl 'marker sample_tick -e
marker sample_loop -e
marker sample_state +x' || return 1
	dmesg | tail -n 3 | grep -q "control: line 3: unknown flag" || { echo "no log line naming line 3"; return 1; }
	same $tmp/before
}
ktap_check "a batch valid but for its last line: -EINVAL, the log names the line, nothing changed" bad_last
unknown() {
	expect "$ENOENT" $ctl 'marker sample_tick -e; marker no_such_* +e' &&
		expect "$ENOENT" $ctl 'module no_such_module -e' &&
		expect "$ENOENT" $ctl 'site sample_tick/999 -e' &&
		expect "$ENOENT" $ctl 'site markers_sample:no_such_symbol+0x1 -e' &&
		expect "$ENOENT" $ctl 'marker no_such_marker -e' &&
		expect "$ENOENT" $ctl 'marker sample_* module markers_test -e' || return 1
	dmesg | tail -n 1 | grep -q "control: line 1: no site matches" || { echo "no log line"; return 1; }
	same $tmp/before
}
ktap_check "unknown marker, module or site: -ENOENT, nothing changed" unknown
junk() {
	for x in 'frobnicate sample_tick' 'marker sample_tick +z' 'marker sample_tick' '+e' \
		'marker bad-name +e' 'marker sample_tick +e extra' 'module markers_sample +p' \
		'site sample_tick/x -e' 'marker sample_tick marker sample_loop -e' 'marker control +e'; do
		expect "$EINVAL" $ctl "$x" || return 1
	done
	same $tmp/before
}
ktap_check "junk commands and flags: -EINVAL, nothing changed" junk
sizes() {
	expect "$EINVAL" $ctl '' && expect "$EINVAL" $ctl '# nothing but a comment' &&
		expect "$EINVAL" $ctl "$(printf 'marker sample_tick -e\n\377')" &&
		expect "$E2BIG" $ctl "marker sample_tick -e # $long" || return 1
	same $tmp/before
}
ktap_check "empty, non-UTF-8 and too long writes: -EINVAL, -EINVAL, -E2BIG, nothing changed" sizes
by_location() {
	loc=$(site_field sample_state 1 location)
	ctl_write "site markers_sample:$loc -e" || return 1
	[ "$(site_field sample_state 1 state)" = off ] && [ "$(site_field sample_state 1 override)" = off ] &&
		[ "$(site_field sample_state 0 state)" = on ] || return 1
	ctl_write 'marker sample_state module markers_sample +e' &&
		[ "$(site_field sample_state 1 state)" = on ] && [ "$(site_field sample_state 1 override)" = on ]
}
ktap_check "sites by location and by module" by_location
ktap_check "marker * =_ switches everything off" eval 'ctl_write "marker * =_" &&
	test -z "$(grep "^marker" $ctl | grep -v " off enable=0 print=0 ")" &&
	test -z "$(grep "^site" $ctl | grep -v " \(off\|retired\) enable=0 override=- ")"'

# --- Bad input to the other writable files --------------------------------------------
snap >$tmp/before
files() {
	for f in $sys/sample_tick/enable $sys/sample_tick/hits $sys/sample_state/sites/0/enable; do
		for x in '' 2 yes '1 1' -1 "$long" "$(printf '\377')"; do
			expect "$EINVAL" $f "$x" || return 1
		done
	done
	expect "$EINVAL" $sys/sample_tick/hits 1 || return 1
	expect "$EBUSY" $sys/sample_init/sites/0/enable 1 || return 1
	same $tmp/before
}
ktap_check "enable, hits and site enable files: anything but 0/1 is -EINVAL; a retired site -EBUSY" files

# --- A non-root user ------------------------------------------------------------
grep -q '^nobody:' /etc/passwd 2>/dev/null || echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
grep -q '^nogroup:' /etc/group 2>/dev/null || echo 'nogroup:x:65534:' >>/etc/group
nonroot() {
	for f in $ctl $sys/sample_tick/enable $sys/sample_tick/hits $sys/sample_state/sites/0/enable; do
		e=$(su -s /bin/sh nobody -c "echo 1 >$f" 2>&1) && { echo "nobody wrote $f"; return 1; }
		[ "$e" = "sh: can't create $f: $EACCES" ] || { echo "$f: $e"; return 1; }
		# A descriptor opened by root: the write itself needs CAP_SYS_ADMIN.
		e=$(su -s /bin/sh nobody -c "echo 1 >&3" 3>$f 2>&1) && { echo "nobody wrote through root's fd"; return 1; }
		[ "$e" = "sh: write error: $EPERM" ] || { echo "$f through root's fd: $e"; return 1; }
	done
	su -s /bin/sh nobody -c "cat $ctl $sys/sample_tick/hits $sys/sample_state/sites/0/location" >/dev/null || return 1
	same $tmp/before
}
ktap_check "a non-root user: open refused (-EACCES), a root descriptor refused (-EPERM); reads work" nonroot

# --- 10,000 random writes -------------------------------------------------------------
# Half are commands of the language's shape, half random words of it and
# around it; a tenth get a random byte, one in a hundred is too long. None
# can switch anything on (the only valid flag operation is -p), so every
# write fails or changes nothing.
awk -v seed="$$" 'BEGIN {
	srand(seed)
	nw = split("marker|module|site|-p|+x|=|+|e|-ee|+z|=ep_|zz_*|sample_tick|sample_*|markers_sample|" \
		"no_such|sample_tick/0|sample_tick/999|m:sym+0x1|markers_sample:tick+0x9|bad-name|;|#|" \
		"sample_state/1|*|?|control|=_x|+-e", w, "|")
	nm = split("sample_tick|sample_*|zz_*|no_such|*|sample_?oop|bad-name|sample_state", mk, "|")
	nd = split("markers_sample|no_such_mod|markers_*|*|bad/mod", md, "|")
	ns = split("sample_tick/0|sample_tick/999|sample_state/1|markers_sample:tick+0x9|m:sym+0x1|bad|x/y", st, "|")
	nf = split("-p|-p|-p|+x|=|-ee|=_x|-P|p", fl, "|")
	for (i = 0; i < 10000; i++) {
		line = ""
		if (rand() < 0.5) {
			if (rand() < 0.7) line = "marker " mk[int(rand() * nm) + 1]
			if (rand() < 0.3) line = line (line ? " " : "") "module " md[int(rand() * nd) + 1]
			if (rand() < 0.2) line = line (line ? " " : "") "site " st[int(rand() * ns) + 1]
			line = line (line ? " " : "") fl[int(rand() * nf) + 1]
		} else {
			k = int(rand() * 6) + 1
			for (j = 0; j < k; j++)
				line = line (j ? " " : "") w[int(rand() * nw) + 1]
		}
		if (rand() < 0.1) {
			b = int(rand() * 254) + 1
			if (b == 10) b = 11
			p = int(rand() * (length(line) + 1))
			line = substr(line, 1, p) sprintf("%c", b) substr(line, p + 1)
		}
		if (rand() < 0.01)
			while (length(line) < 4200) line = line " sample_tick"
		if (substr(line, 1, 1) == "-") line = "x" line
		print line
	}
}' >$tmp/writes
random_writes() {
	[ "$(wc -l <$tmp/writes)" = 10000 ] || { echo "generated $(wc -l <$tmp/writes) writes"; return 1; }
	while IFS= read -r line; do echo "$line" >$ctl; done <$tmp/writes 2>$tmp/errors
	sed 's/.*: //' $tmp/errors | sort | uniq -c | sed 's/^ */  /'
	bad=$(sed 's/.*: //' $tmp/errors | grep -v -x -e "$EINVAL" -e "$ENOENT" -e "$E2BIG" | head -3)
	[ -z "$bad" ] || { echo "undocumented errors: $bad"; return 1; }
	echo "  $((10000 - $(wc -l <$tmp/errors))) writes accepted (changing nothing)"
	same $tmp/before
}
ktap_check "10,000 random writes: each refused with a documented errno or harmless; nothing changed" random_writes

# --- Pending enables --------------------------------------------------------------
ktap_check "marker enabled while its module is unloaded: pending" eval 'rmmod markers_sample &&
	ctl_write "marker sample_tick +e; marker sample_init +e" &&
	test "$(marker_state sample_tick)" = pending && test "$(marker_field sample_tick sig)" = "?" &&
	test "$(cat $sys/sample_tick/enable)" = 1 && test "$(cat $sys/sample_tick/signature)" = "?" &&
	test -z "$(cat $sys/sample_tick/modules)" && test -z "$(ls $sys/sample_tick/sites)"'
ktap_check_fails "the print probe of a pending marker is refused" ctl_write 'marker sample_tick +p'
ktap_check "the module loads: the pending enable is applied at once" eval 'insmod $m/markers_sample.ko &&
	test "$(marker_state sample_tick)" = on && test "$(marker_field sample_tick sig)" = "$(cat $sys/sample_tick/signature)" &&
	test "$(cat $sys/sample_tick/modules)" = markers_sample'
ktap_check "its init-text site fired while init ran" eval 'test "$(hits sample_init)" -ge 1 &&
	grep -q "^site sample_init/[0-9]* markers_sample - retired enable=1 " $ctl'
sleep 0.5
ktap_check "it survives the module's unload, hits kept" eval 'h=$(hits sample_tick) && test "$h" -gt 0 &&
	rmmod markers_sample && test "$(marker_state sample_tick)" = pending && test "$(hits sample_tick)" -ge "$h"'
ktap_check "and its reload" eval 'insmod $m/markers_sample.ko && test "$(marker_state sample_tick)" = on &&
	test "$(cat $sys/sample_tick/sites/*/state)" = on'
ktap_check "disabled, the marker goes with its module" eval 'ctl_write "marker sample_tick -e" && rmmod markers_sample &&
	test "$(marker_state sample_tick)" = none && test ! -e $sys/sample_tick'
ktap_check "a pending marker disabled through its enable file goes" eval 'test "$(marker_state sample_init)" = pending &&
	echo 0 >$sys/sample_init/enable && test ! -e $sys/sample_init && test "$(marker_state sample_init)" = none'
ktap_check "a pending marker stays through a glob disable only while enabled" eval 'ctl_write "marker later_one +e" &&
	ctl_write "marker later_* -e" && test "$(marker_state later_one)" = none'
ktap_check_fails "a reserved name cannot be pending" ctl_write 'marker stats +e'

# --- Files in use while their directories come and go ---------------------------
# A reader and a writer of every marker and site file run while the sample
# loads and unloads 20 times: a file callback waits for the registry that is
# removing its directory (see rust/core/nodes.rs), and a write to a pending
# marker's enable removes its own directory.
churn() {
	rm -f $tmp/stop
	(
		while [ ! -e $tmp/stop ]; do
			cat $sys/sample_*/hits $sys/sample_*/probes $sys/sample_*/modules \
				$sys/sample_*/sites/*/state $sys/sample_*/sites/*/location $ctl >/dev/null 2>&1
			echo 1 >$sys/sample_tick/enable 2>/dev/null
			echo 0 >$sys/sample_state/sites/0/enable 2>/dev/null
			echo 0 >$sys/sample_tick/enable 2>/dev/null
		done
	) &
	rd=$!
	i=0
	while [ $i -lt 20 ]; do
		insmod $m/markers_sample.ko && rmmod markers_sample || break
		i=$((i + 1))
	done
	touch $tmp/stop
	wait $rd
	[ $i = 20 ] || { echo "load/unload $i failed"; return 1; }
	[ "$(marker_state sample_tick)" = none ] && ! grep -q '^site sample_' $ctl
}
ktap_check "20 loads and unloads while every file is read and written: no hang, nothing left" churn

# --- Large listings -----------------------------------------------------------------
big() {
	insmod $m/markers_bench_sites.ko || return 1
	[ "$(grep -c '^site bsites10000_m' $ctl)" = 10000 ] || { echo "$(grep -c '^site bsites10000_m' $ctl) sites listed"; return 1; }
	[ "$(grep -c '^marker bsites10000_m' $ctl)" = 100 ] || return 1
	[ "$(ls $sys/bsites10000_m42/sites | wc -l)" = 100 ] || return 1
	echo "listing: $(wc -c <$ctl) bytes"
	p=$(counter passes)
	ctl_write 'marker bsites10000_* +e' && [ $(($(counter passes) - p)) = 1 ] || return 1
	[ "$(grep '^site bsites10000_m' $ctl | grep -c ' on enable=1 ')" = 10000 ] || return 1
	ctl_write 'marker bsites10000_* -e' && rmmod markers_bench_sites
}
ktap_check "10,000 sites: listed whole, a directory each, one batch switches them in one pass" big
ktap_check "reading the listing in small pieces gives the same text" eval 'insmod $m/markers_sample.ko &&
	cat $ctl >$tmp/whole && dd if=$ctl bs=7 2>/dev/null >$tmp/pieces &&
	sed "s/ hits=[0-9]*//" $tmp/whole >$tmp/a && sed "s/ hits=[0-9]*//" $tmp/pieces >$tmp/b && cmp $tmp/a $tmp/b'
ktap_check "stats lists the patcher's counters" eval 'test "$(cut -d" " -f1 $sys/stats | tr "\n" " ")" = "int3 late passes rewrites refused syncs "'
ktap_check "everything unloads; pending markers go with markers.ko" eval 'ctl_write "marker sample_loop +e" &&
	rmmod markers_sample && test "$(marker_state sample_loop)" = pending && rmmod markers && test ! -e $sys'
rm -rf $tmp
ktap_end
