#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check the DKMS packaging (scripts/dkms/) against a kernel tree without
# touching the host's DKMS state: dkms add, build, install and remove run on
# private trees (--sourcetree, --dkmstree, --installtree, --kernelsourcedir),
# inside a private mount namespace where /usr/src, /var/lib/dkms,
# /lib/modules and the kernel tree are read-only, so a stray write fails
# instead of landing on the host.  Then the module DKMS built is loaded in the
# test VM.  Installs Debian's dkms first if missing.  Prints KTAP-style lines
# and "N passed, N failed".
#
# Usage: scripts/dkms-check.sh [KDIR]   (default: the project's test kernel)
# NOVM=1 skips the VM boot.

set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")

# --- Inside the private mount namespace --------------------------------------
if [ "${1:-}" = --inside ]; then
	kdir=$2 work=$3 rel=$4
	export TMPDIR=$work/tmp
	mkdir -p "$TMPDIR" "$work/out"
	for d in /usr/src /var/lib/dkms /lib/modules "$kdir"; do
		[ -d "$d" ] || continue
		mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" ||
			die "cannot make $d read-only in the private namespace"
	done
	# DKMS signs modules with the key of its framework configuration, by
	# default one it creates in /var/lib/dkms.  Signing is off here: the test
	# kernel refuses even its own modules signed by its own key and
	# scripts/sign-file (sha512: insmod gets ENOENT), and loads unsigned
	# ones (no MODULE_SIG_FORCE), as it does the project's other modules.
	mkdir -p "$work/framework"
	echo "sign_file=/nonexistent" >"$work/framework/markers-check.conf"
	mkdir -p /etc/dkms/framework.conf.d 2>/dev/null
	mount --bind "$work/framework" /etc/dkms/framework.conf.d ||
		die "cannot mount the framework configuration"

	src=$("$here/dkms/stage.sh" "$work/src") || die "staging the source tree failed"
	ver=${src##*/markers-}
	trees=(--sourcetree "$work/src" --dkmstree "$work/dkms" --installtree "$work/root/lib/modules")
	kopts=(-k "$rel" --kernelsourcedir "$kdir" --no-depmod)
	mkdir -p "$work/dkms" "$work/root/lib/modules/$rel"
	log=$work/dkms.log
	dk() { echo "+ dkms $*" >>"$log"; nice dkms "$@" >>"$log" 2>&1; }

	dk add -m markers -v "$ver" "${trees[@]}"
	result $? "dkms add registers markers/$ver from the staged tree ($work/src)" "$log"

	start=$(date +%s)
	dk build -m markers -v "$ver" "${trees[@]}" "${kopts[@]}"
	rc=$?
	mlog=$work/dkms/markers/$ver/$rel/x86_64/log/make.log
	[ -f "$mlog" ] && cp "$mlog" "$work/make.log"
	result $rc "dkms build makes markers.ko for $rel ($(($(date +%s) - start)) s)" "$log"

	built=$work/dkms/markers/$ver/$rel/x86_64/module
	mods=$(cd "$built" 2>/dev/null && ls)
	[ "$mods" = markers.ko ] && ! grep -E 'samples/|tools/testing/' "$work/make.log" >/dev/null
	result $? "the build made the core module only (modules: ${mods//$'\n'/ }; no sample or test object in make.log)" "$work/make.log"

	ko=$built/markers.ko
	ref=$(find "$kdir/lib" "$kdir/drivers" -name '*.ko' -print -quit 2>/dev/null)
	want=$(modinfo -F vermagic "$ref" 2>/dev/null)
	have=$(modinfo -F vermagic "$ko" 2>/dev/null)
	[ -n "$have" ] && [ "$have" = "$want" ] && [ "$(modinfo -F name "$ko")" = markers ]
	result $? "modinfo: name markers, vermagic '$have' = the kernel's own modules' ('$want')"

	dk install -m markers -v "$ver" "${trees[@]}" "${kopts[@]}"
	rc=$?
	inst=$work/root/lib/modules/$rel/updates/dkms/markers.ko
	[ $rc = 0 ] && [ -f "$inst" ] && cmp -s "$inst" "$ko"
	result $? "dkms install puts it in <installtree>/$rel/updates/dkms/markers.ko" "$log"
	cp "$inst" "$work/out/markers.ko" 2>/dev/null

	depmod -b "$work/root" "$rel" 2>>"$log" &&
		grep -q '^updates/dkms/markers.ko:' "$work/root/lib/modules/$rel/modules.dep"
	result $? "depmod finds it (depmod -b on the private install tree)" "$log"

	status=$(dkms status -m markers "${trees[@]}" 2>&1)
	echo "$status" | grep -q "markers/$ver, $rel, x86_64: installed"
	result $? "dkms status: ${status//$'\n'/; }"

	dk remove -m markers -v "$ver" --all "${trees[@]}" --no-depmod
	rc=$?
	[ $rc = 0 ] && [ ! -e "$inst" ] && [ ! -e "$work/dkms/markers/$ver" ]
	result $? "dkms remove --all uninstalls it and forgets it" "$log"

	echo "$passed $failed" >"$work/counts"
	exit 0
fi

# --- On the host --------------------------------------------------------------
command -v dkms >/dev/null || WITH_DKMS=1 "$here/setup-toolchain.sh" >&2 ||
	die "installing dkms failed"
command -v dkms >/dev/null || die "dkms is not installed"
[ "$(id -u)" = 0 ] || die "dkms-check needs root (a private mount namespace)"
kdir=${1:-$("$here/kdir.sh")} || die "no kernel tree"
kdir=$(cd "$kdir" && pwd)
rel=$(make -s -C "$kdir" kernelrelease) || die "$kdir: no kernel release"
info "dkms $(dkms --version | sed 's/^dkms-//') against $kdir ($rel)"

work=$(mktemp -d)
[ "${KEEP:-}" = 1 ] && info "keeping $work" || trap 'rm -rf "$work"' EXIT

snapshot() {
	for d in /usr/src /var/lib/dkms /lib/modules "$kdir/.config" "$kdir/Module.symvers"; do
		if [ -e "$d" ]; then
			find "$d" -maxdepth 3 -printf '%p %s %T@\n' 2>/dev/null | sort
		else
			echo "$d absent"
		fi
	done
}
snapshot >"$work/before"

private_checks "$work/counts" "$0" --inside "$kdir" "$work" "$rel"

snapshot >"$work/after"
diff "$work/before" "$work/after" >"$work/snapshot.diff"
result $? "the host's /usr/src, /var/lib/dkms, /lib/modules and the kernel tree are unchanged" "$work/snapshot.diff"

if [ "${NOVM:-}" = 1 ]; then
	echo "ok - # SKIP NOVM=1: markers.ko from DKMS not loaded in the VM"
elif [ -f "$work/out/markers.ko" ]; then
	out=$(MARKERS_LOGDIR=$work/vm EXTRA=$work/out/markers.ko \
		CMD='insmod /markers/extra/markers.ko && ls /sys/kernel/markers && grep -w markers /proc/modules' \
		"$here/vm.sh" run "$kdir" 2>"$work/vm.log")
	rc=$?
	echo "$out" >>"$work/vm.log"
	[ $rc = 0 ] && echo "$out" | grep -q '^markers '
	result $? "the DKMS-built markers.ko loads in the test VM (/sys/kernel/markers: $(echo "$out" | grep -v '^markers ' | tr '\n' ' '))" "$work/vm.log"
else
	result 1 "no installed markers.ko to load in the VM"
fi

summary
