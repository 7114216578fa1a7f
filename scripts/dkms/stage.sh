#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage the DKMS source tree: copy the project's sources (no build products)
# to SRCTREE/markers-<version>/ with dkms.conf at its root, and print that
# folder.  <version> is MARKERS_VERSION from include/linux/markers.h, which
# must equal dkms.conf's PACKAGE_VERSION.
#
# Usage: scripts/dkms/stage.sh SRCTREE    (/usr/src for DKMS's default)

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
root=$(dirname "$(dirname "$here")")
srctree=${1:?usage: stage.sh SRCTREE}

ver=$(sed -n 's/^#define MARKERS_VERSION "\(.*\)"$/\1/p' "$root/include/linux/markers.h")
[ -n "$ver" ] || die "no MARKERS_VERSION in include/linux/markers.h"
conf_ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$here/dkms.conf")
[ "$ver" = "$conf_ver" ] ||
	die "scripts/dkms/dkms.conf has PACKAGE_VERSION=$conf_ver but include/linux/markers.h says $ver"

dest=$srctree/markers-$ver
rm -rf "$dest"
mkdir -p "$dest"
# The files git knows (tracked, or new and not ignored) as they are in the
# working tree; without git, everything but the build products.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$root" && git ls-files -z -co --exclude-standard |
		xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		cpio --null -pdm --quiet "$dest")
else
	(cd "$root" && tar -cf - --exclude=.git --exclude=.vm --exclude=target \
		--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.cmd' --exclude='*.rmeta' --exclude='*.d' --exclude='*.symvers' \
		--exclude=modules.order --exclude=.markers-kdir . | tar -xf - -C "$dest")
fi
cp "$here/dkms.conf" "$dest/dkms.conf"
echo "$dest"
