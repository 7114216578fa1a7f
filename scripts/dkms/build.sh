#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS's build command (dkms.conf MAKE[0]): build markers.ko, the core module
# alone, in the current directory (DKMS's copy of the source tree) against
# KDIR, with the tools the kernel was built by.
#
# Usage: scripts/dkms/build.sh KDIR [ignored...]
#        scripts/dkms/build.sh --clean
# Arguments after KDIR (DKMS adds CC=clang or LD=ld.lld for a clang-built
# kernel) are ignored: the compilers come from the kernel's .config through
# scripts/lib.sh (kmake_vars), as for every make the project runs.
# MARKERS_JOBS=n sets make's -j (default: the number of CPUs).

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
root=$(dirname "$(dirname "$here")")

if [ "${1:-}" = --clean ]; then
	cd "$root"
	find rust samples tools/testing \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.rmeta' -o -name '*.d' \) \
		-delete 2>/dev/null || true
	rm -f ./*.o ./*.ko ./*.mod ./*.mod.c ./.*.cmd Module.symvers modules.order
	exit 0
fi

kdir=${1:?usage: build.sh KDIR}
cfg=$kdir/.config
[ -f "$cfg" ] || die "$kdir is not a configured kernel tree (no .config)"
grep -qx 'CONFIG_RUST=y' "$cfg" || die "$kdir lacks CONFIG_RUST=y: markers are Rust kernel modules"

# The module must be built by the kernel's own Rust compiler: rustc refuses
# crates (libkernel.rmeta) made by another version.
want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$cfg")
have=$(/usr/bin/rustc --version 2>/dev/null || echo "no /usr/bin/rustc")
[ "$want" = "$have" ] ||
	die "$kdir was built by '$want' but /usr/bin/rustc is '$have'; markers.ko must be built by the kernel's own compiler"

kmake_vars "$kdir"
export PATH=/usr/bin:$PATH
exec make -j"${MARKERS_JOBS:-$(nproc)}" -C "$kdir" M="$root" "${KMAKE_VARS[@]}" \
	CONFIG_MARKERS=m modules
