#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check that the tree builds in-tree, as drivers/markers of a kernel source,
# under its Kconfig options, into the same modules as out of tree.
#
# The kernel tree (both source and object tree: an in-tree build) is not
# modified: inside a private mount namespace an overlayfs is mounted over that
# very path, so paths and timestamps are unchanged and the build is
# incremental; every write lands in a scratch upper layer, dropped at the end.
# There the project is copied to drivers/markers, drivers/Kconfig sources its
# Kconfig, drivers/Makefile descends into it, CONFIG_MARKERS,
# CONFIG_MARKERS_SAMPLES and CONFIG_MARKERS_TESTS are set to m, and
# `make modules` runs.  The module set and markers.ko's exports are compared
# with the out-of-tree build's (modules.order and Module.symvers at the top of
# the clone: run `make modules` first, as `make intree-check` does), and the
# in-tree markers.ko and sample are loaded in the test VM.  Prints KTAP-style
# lines and "N passed, N failed".
#
# Usage: scripts/intree-check.sh KDIR   (root: a private mount namespace)
# NOVM=1 skips the VM boot; KEEP=1 keeps the scratch folder.

set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")

# --- Inside the private mount namespace --------------------------------------
if [ "${1:-}" = --inside ]; then
	kdir=$2 work=$3
	mkdir -p "$work/upper" "$work/ovl-work" "$work/out"
	mount -t overlay overlay \
		-o "lowerdir=$kdir,upperdir=$work/upper,workdir=$work/ovl-work" "$kdir" ||
		die "cannot mount an overlay over $kdir"
	cd "$kdir" || exit 1
	log=$work/build.log

	# The project, as a driver.
	src=$("$here/dkms/stage.sh" "$work/stage") || die "copying the sources failed"
	rm -f "$src/dkms.conf"
	cp -a "$src" drivers/markers
	awk '{ l[NR] = $0 } /^endmenu/ { e = NR }
	     END { for (i = 1; i <= NR; i++) {
			if (i == e) print "source \"drivers/markers/Kconfig\"\n"
			print l[i] } }' drivers/Kconfig >"$work/Kconfig" &&
		cat "$work/Kconfig" >drivers/Kconfig
	echo 'obj-$(CONFIG_MARKERS) += markers/' >>drivers/Makefile

	kmake_vars "$kdir"
	export PATH=/usr/bin:$PATH
	kmake() { nice make -j"${JOBS:-$(($(nproc) + 1))}" "${KMAKE_VARS[@]}" "$@"; }
	scripts/config --file .config --module MARKERS --module MARKERS_SAMPLES \
		--module MARKERS_TESTS
	kmake olddefconfig >>"$log" 2>&1
	opts=$(grep -E '^CONFIG_MARKERS' .config | tr '\n' ' ')
	[ "$opts" = "CONFIG_MARKERS=m CONFIG_MARKERS_SAMPLES=m CONFIG_MARKERS_TESTS=m " ]
	result $? "Kconfig: olddefconfig keeps ${opts:-no CONFIG_MARKERS option}" "$log"

	start=$(date +%s)
	kmake modules >>"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	built=$(grep -c '^drivers/markers/' modules.order 2>/dev/null)
	result $rc "make modules builds drivers/markers in tree ($built modules, $secs s)" "$log"

	# The build compiled what changed only: the project, not the kernel.
	others=$(grep -E '^ +(CC|RUSTC|AS|LD|AR)[^/]* +[a-z]' "$log" |
		grep -v -E ' drivers/markers/|drivers/built-in\.a|vmlinux|\.module-common' | head -5)
	[ -z "$others" ]
	result $? "incremental: nothing outside drivers/markers was rebuilt${others:+ (${others//$'\n'/; })}"

	! grep -E -i 'warning[:[]|warn\(' "$log" >"$work/warnings"
	result $? "the in-tree build prints no warning" "$work/warnings"

	sed -n 's|^drivers/markers/||p' modules.order | sort >"$work/in-tree.order"
	sed "s|^$root/||" "$root/modules.order" | sort >"$work/out-of-tree.order"
	diff -u "$work/out-of-tree.order" "$work/in-tree.order" >"$work/order.diff"
	result $? "the same modules as out of tree ($(sed 's|.*/||; s|\.o$||' "$work/in-tree.order" | tr '\n' ' '))" "$work/order.diff"

	awk '$3 == "drivers/markers/markers" { print $2, $4 }' Module.symvers | sort >"$work/in-tree.syms"
	awk -v m="$root/markers" '$3 == m { print $2, $4 }' "$root/Module.symvers" | sort >"$work/out-of-tree.syms"
	[ -s "$work/in-tree.syms" ] && diff -u "$work/out-of-tree.syms" "$work/in-tree.syms" >"$work/syms.diff"
	result $? "markers.ko exports the same symbols in tree ($(wc -l <"$work/in-tree.syms") EXPORT_SYMBOL_GPL)" "$work/syms.diff"

	while read -r o; do
		cp "drivers/markers/${o%.o}.ko" "$work/out/"
	done <"$work/in-tree.order"
	echo "$passed $failed" >"$work/counts"
	exit 0
fi

# --- On the host --------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "intree-check needs root (a private mount namespace)"
kdir=${1:?usage: intree-check.sh KDIR}
kdir=$(cd "$kdir" && pwd)
[ -f "$root/modules.order" ] && [ -f "$root/Module.symvers" ] ||
	die "build the modules out of tree first (make modules): they are the reference"
[ -f "$kdir/Kconfig" ] && [ -f "$kdir/drivers/Makefile" ] ||
	die "$kdir is not a kernel source tree (an in-tree build needs the sources, not only headers)"
[ ! -e "$kdir/drivers/markers" ] || die "$kdir already has drivers/markers"

work=$(mktemp -d)
if [ "${KEEP:-}" = 1 ]; then info "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
touch "$work/stamp"
info "in-tree build in an overlay over $kdir"

private_checks "$work/counts" "$0" --inside "$kdir" "$work"

changed=$(find "$kdir" -newer "$work/stamp" -print -quit 2>/dev/null)
[ -z "$changed" ] && [ ! -e "$kdir/drivers/markers" ]
result $? "the kernel tree is unchanged (nothing in it newer than the run${changed:+: $changed})"

if [ "${NOVM:-}" = 1 ]; then
	echo "ok - # SKIP NOVM=1: the in-tree modules not loaded in the VM"
elif [ -f "$work/out/markers.ko" ] && [ -f "$work/out/markers_sample.ko" ]; then
	out=$(MARKERS_LOGDIR=$work/vm EXTRA=$work/out \
		CMD='cd /markers/extra/out && insmod markers.ko && insmod markers_sample.ko && ls /sys/kernel/markers | tr "\n" " "' \
		"$here/vm.sh" run "$kdir" 2>"$work/vm.log")
	rc=$?
	echo "$out" >>"$work/vm.log"
	[ $rc = 0 ] && echo "$out" | grep -q sample_tick
	result $? "the in-tree markers.ko and markers_sample.ko load in the test VM (/sys/kernel/markers: $(echo "$out" | tail -1))" "$work/vm.log"
else
	result 1 "no in-tree markers.ko and markers_sample.ko to load in the VM"
fi

summary
