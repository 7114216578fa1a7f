#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the kernel build directory to build the modules against.
#
# With KDIR set (make KDIR=/path/to/tree), check that the tree is a
# configured and built Rust-enabled 6.12 x86-64 kernel made by the rustc the
# project uses, and fail early naming what is wrong.  Without it, install the
# toolchain if needed and build (or reuse) the project's cached test kernel.

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# The enabled block of a site addresses per-CPU variables as %gs:symbol
# (rust/markers/site.rs), which is right only where x86-64 per-CPU data is
# zero-based: the per-CPU section linked at address 0 (6.12's
# arch/x86/kernel/vmlinux.lds.S; later mainline kernels change this).
check_percpu() {
	local map=$1/System.map start
	[ -f "$map" ] || die "$1 has no System.map: build the kernel first"
	start=$(sed -n 's/^\([0-9a-f]*\) . __per_cpu_start$/\1/p' "$map")
	[ -n "$start" ] || die "$1: no __per_cpu_start in System.map"
	[[ $start =~ ^0+$ ]] ||
		die "$1 does not have zero-based per-CPU data (__per_cpu_start is 0x$start, not 0): the enabled block's %gs:symbol per-CPU accesses assume 6.12's x86-64 layout"
}

if [ -z "${KDIR:-}" ]; then
	"$here/setup-toolchain.sh" >&2
	kdir=$("$here/build-kernel.sh")
	check_percpu "$kdir"
	echo "$kdir"
	exit 0
fi

[ -x /usr/bin/rustc ] || "$here/setup-toolchain.sh" >&2
kdir=$(cd "$KDIR" 2>/dev/null && pwd) || die "KDIR=$KDIR: no such directory"
cfg=$kdir/.config
[ -f "$cfg" ] || die "KDIR=$kdir is not a configured kernel tree (no .config)"
[ -f "$kdir/Module.symvers" ] ||
	die "KDIR=$kdir is not built: no Module.symvers (run 'make' there first)"

opt() { sed -n "s/^$1=//p" "$cfg" | tr -d '"'; }
[ "$(opt CONFIG_64BIT)" = y ] && grep -q '^CONFIG_X86_64=y' "$cfg" ||
	die "KDIR=$kdir is not an x86-64 kernel: markers patches x86-64 code only"
[ "$(opt CONFIG_RUST)" = y ] ||
	die "KDIR=$kdir lacks CONFIG_RUST=y: markers are Rust kernel modules"
[ "$(opt CONFIG_MODULES)" = y ] && [ "$(opt CONFIG_MODULE_UNLOAD)" = y ] ||
	die "KDIR=$kdir lacks CONFIG_MODULES=y and CONFIG_MODULE_UNLOAD=y"
[ "$(opt CONFIG_SMP)" = y ] ||
	die "KDIR=$kdir lacks CONFIG_SMP=y: enabled sites use %gs-relative per-CPU counters"
[ "$(opt CONFIG_JUMP_LABEL)" = y ] ||
	die "KDIR=$kdir lacks CONFIG_JUMP_LABEL=y: sites are kept safe from kprobes through the jump-label table"
[ "$(opt CONFIG_KALLSYMS)" = y ] ||
	die "KDIR=$kdir lacks CONFIG_KALLSYMS=y: the registry finds sections through module symbols"

kver=$(make -s -C "$kdir" kernelversion 2>/dev/null || true)
case "$kver" in
6.12|6.12.*) ;;
*) die "KDIR=$kdir is Linux '${kver:-unknown}': markers targets Linux 6.12" ;;
esac

want=$(opt CONFIG_RUSTC_VERSION_TEXT)
have=$(/usr/bin/rustc --version)
[ "$want" = "$have" ] ||
	die "KDIR=$kdir was built by '$want' but the project builds with '$have' (/usr/bin/rustc); modules must be built by the kernel's own compiler"
[ -f "$kdir/rust/libkernel.rmeta" ] ||
	die "KDIR=$kdir has no rust/libkernel.rmeta: build the kernel with CONFIG_RUST=y first"
check_percpu "$kdir"
echo "$kdir"
