#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the project's modules against a kernel tree.
#
# Usage: scripts/build-modules.sh KDIR [make arguments...]
#
# The modules are built with the same Rust tools as the kernel, and a build
# that prints any warning fails: the project's code is warning-free, objtool
# included.  CLIPPY=1 in the environment builds through clippy-driver, which
# runs the lints and produces the same objects.

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")

kdir=${1:?usage: build-modules.sh KDIR [make args]}
shift

export PATH=/usr/bin:$PATH
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# kbuild does not notice a change of kernel: the compile commands of an
# external module are the same for every KDIR, and the dependency files name
# the old tree's headers.  Objects built against another kernel (the default
# and the debug variant, say) would be linked as they are and refused at
# insmod ("invalid module format"), so they are removed first.
stamp=$root/.markers-kdir
want="$kdir $(sha256sum <"$kdir/.config" | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	[ ! -e "$stamp" ] || info "kernel changed since the last module build: rebuilding from scratch"
	find "$root/rust" "$root/samples" "$root/tools/testing" \( -name '*.o' -o -name '*.ko' \
		-o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.rmeta' \
		-o -name '*.d' \) -delete 2>/dev/null || true
	rm -f "$root"/*.o "$root"/*.ko "$root"/*.mod "$root"/*.mod.c "$root/Module.symvers" \
		"$root/.module-common.o" "$root/modules.order" "$root"/.*.cmd
fi

kmake_vars "$kdir"
args=(-C "$kdir" M="$root" "${KMAKE_VARS[@]}"
      CONFIG_MARKERS=m CONFIG_MARKERS_SAMPLES=m CONFIG_MARKERS_TESTS=m)
[ "${CLIPPY:-}" = 1 ] && args+=(CLIPPY=1)

set +e
make "${args[@]}" "$@" modules 2>&1 | tee "$log" >&2
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || die "module build failed"
echo "$want" >"$stamp"
if grep -E -i 'warning[:[]|warn\(' "$log" >/dev/null; then
	grep -E -i -A3 'warning[:[]|warn\(' "$log" >&2
	die "module build printed warnings (treated as errors)"
fi
