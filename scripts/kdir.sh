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

if [ -z "${KDIR:-}" ]; then
	"$here/setup-toolchain.sh" >&2
	exec "$here/build-kernel.sh"
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
echo "$kdir"
