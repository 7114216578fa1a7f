#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make install`: install markers.ko, the kit for third-party modules and
# markctl, for the kernel KDIR, after the modules are built.
#
#   $INSTALL_MOD_PATH/lib/modules/<release>/updates/markers.ko
#   $DESTDIR$PREFIX/lib/markers/<release>/   the kit:
#       markers.mk                the Kbuild fragment (scripts/kit/markers.mk.in)
#       markers.lds               the linker script for modules with markers
#       Module.symvers            markers.ko's exports
#       rust/libmarkers.rmeta     the `markers` crate
#       include/linux/markers.h   the C interface
#   $DESTDIR$PREFIX/bin/markctl
#
# INSTALL_MOD_PATH defaults to DESTDIR, PREFIX to /usr.  depmod runs when the
# module goes to the running system's /lib/modules (no INSTALL_MOD_PATH).
#
# Usage: scripts/install.sh KDIR

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")
kdir=${1:?usage: install.sh KDIR}

destdir=${DESTDIR:-}
modpath=${INSTALL_MOD_PATH:-$destdir}
prefix=${PREFIX:-/usr}
release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) ||
	die "$kdir has no include/config/kernel.release: not a built kernel tree"
rustc=${RUSTC:-/usr/bin/rustc}

for f in markers.ko Module.symvers rust/markers/libmarkers.rmeta; do
	[ -f "$root/$f" ] || die "$f is not built: run make first"
done
# The kit must hold the crate built for this very kernel: build-modules.sh
# records the tree it last built against.
[ "$(cut -d' ' -f1 "$root/.markers-kdir" 2>/dev/null)" = "$kdir" ] ||
	die "the modules were last built against another kernel than $kdir: run make KDIR=$kdir first"

kit=$destdir$prefix/lib/markers/$release
moddir=$modpath/lib/modules/$release/updates
rm -rf "$kit"
install -d "$kit/rust" "$kit/include/linux" "$moddir" "$destdir$prefix/bin"
install -m 644 "$root/markers.ko" "$moddir/markers.ko"
install -m 644 "$root/rust/markers/libmarkers.rmeta" "$kit/rust/"
install -m 644 "$root/include/linux/markers.h" "$kit/include/linux/"
install -m 644 "$root/scripts/markers.lds" "$kit/"
# markers.ko's exports only (the tree's Module.symvers also lists the test
# modules'), under the module's name rather than the build path.
awk -F '\t' -v OFS='\t' '$3 ~ /(^|\/)markers$/ { $3 = "markers"; print }' \
	"$root/Module.symvers" >"$kit/Module.symvers"
[ -s "$kit/Module.symvers" ] || die "Module.symvers lists no export of markers.ko"
version=$("$rustc" --version)
sed -e "s|@KERNELRELEASE@|$release|g" -e "s|@RUSTC@|$rustc|g" \
	-e "s|@RUSTC_VERSION@|$version|g" "$root/scripts/kit/markers.mk.in" >"$kit/markers.mk"
chmod 644 "$kit/markers.mk"

markctl=$("$here/build-tools.sh")/markctl
install -m 755 "$markctl" "$destdir$prefix/bin/markctl"

if [ -z "$modpath" ]; then
	depmod -a "$release" || warn "depmod $release failed"
fi
info "installed markers.ko in $moddir"
info "installed the kit in $kit (Documentation/markers.rst, \"Quick start\")"
info "installed markctl in $destdir$prefix/bin"
