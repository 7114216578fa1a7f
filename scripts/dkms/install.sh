#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make dkms-install: put markers under DKMS, which then builds markers.ko for
# a kernel and for every later one (AUTOINSTALL).  As root:
#
#   scripts/dkms/install.sh            stage /usr/src/markers-<version>, then
#                                      dkms add, build and install for the
#                                      running kernel
#   KDIR=/path/to/tree ...             ... for that kernel tree instead
#                                      (--kernelsourcedir, -k its release);
#                                      built only, if that kernel is not
#                                      installed (no /lib/modules/<release>)
#   DESTDIR=/stage ...                 only stage /stage/usr/src/markers-<version>
#                                      (packaging); DKMS is not run
#
# An earlier registration of the same version is removed first (dkms remove
# --all), so that the new sources are the ones built.

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

if [ -n "${DESTDIR:-}" ]; then
	"$here/stage.sh" "$DESTDIR/usr/src" >/dev/null
	info "staged $DESTDIR/usr/src/markers-* (DESTDIR set: dkms not run)"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "dkms-install needs root"
command -v dkms >/dev/null || WITH_DKMS=1 "$here/../setup-toolchain.sh" >&2
src=$("$here/stage.sh" /usr/src)
ver=${src##*/markers-}
info "staged $src"

kopts=()
action=install
if [ -n "${KDIR:-}" ]; then
	kdir=$(cd "$KDIR" && pwd)
	rel=$(make -s -C "$kdir" kernelrelease)
	kopts=(-k "$rel" --kernelsourcedir "$kdir")
	if [ ! -d "/lib/modules/$rel" ]; then
		info "kernel $rel is not installed here (no /lib/modules/$rel): building only"
		action=build
	fi
fi

if dkms status -m markers -v "$ver" | grep -q .; then
	info "markers/$ver was registered: removing it first"
	dkms remove -m markers -v "$ver" --all
fi
dkms add -m markers -v "$ver"
dkms $action -m markers -v "$ver" "${kopts[@]}"
dkms status -m markers
