#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) the project's Rust-enabled test kernel and print its build
# directory (the KDIR modules are built against) on stdout.
#
# The build lives outside the clone, under $MARKERS_CACHE, in a folder keyed by
# the kernel version, the hash of the config fragment and of this script, the
# real `rustc --version` and the bindgen version.  A finished build has a
# .markers-done stamp; anything without one is removed and rebuilt.  To clear
# the cache: `make clean-cache`, or remove $MARKERS_CACHE.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# KCONFIG=debug adds the debug fragment (lockdep, slab and page debugging,
# kmemleak, ...) on top of the test fragment, in a cache entry of its own.
fragments=("$here/kernel/markers-test.config")
variant=
case "${KCONFIG:-default}" in
default) ;;
debug)
	fragments+=("$here/kernel/markers-debug.config")
	variant=debug- ;;
# KCONFIG=clang: KASAN and kCFI (CFI_CLANG), which a Rust kernel allows only
# when built by clang; the LLVM toolchain comes from lib.sh (KLLVM_VARS).
clang)
	fragments+=("$here/kernel/markers-clang.config")
	variant=clang- ;;
*) die "KCONFIG=$KCONFIG: unknown kernel variant (default, debug, clang)" ;;
esac
kmake_vars
tarball=/usr/src/linux-source-6.12.tar.xz
jobs=${JOBS:-$(($(nproc) + 1))}

[ -r "$tarball" ] || die "$tarball missing: run scripts/setup-toolchain.sh"
[ -x /usr/bin/rustc ] || die "/usr/bin/rustc missing: run scripts/setup-toolchain.sh"
[ -x "$BINDGEN" ] || die "$BINDGEN missing: run scripts/setup-toolchain.sh"

kpkg=$(dpkg-query -W -f='${Version}' linux-source-6.12)
rustc_v=$(/usr/bin/rustc --version)
key_src="$kpkg|$(cat "${fragments[@]}" | sha256sum)|$(sha256sum <"$0")|$rustc_v|bindgen $BINDGEN_VERSION"
if [ "${KCONFIG:-default}" = clang ]; then
	for t in clang ld.lld llvm-ar; do
		command -v "$t$LLVM_SUFFIX" >/dev/null || die "$t$LLVM_SUFFIX missing: run KCONFIG=clang scripts/setup-toolchain.sh"
	done
	key_src="$key_src|${KLLVM_VARS[*]}|$("clang$LLVM_SUFFIX" --version | head -1)"
fi
key=$(printf '%s' "$key_src" | sha256sum | cut -c1-16)
dir=$MARKERS_CACHE/kernel-$variant$kpkg-$key
kdir=$dir/linux

mkdir -p "$MARKERS_CACHE"
# One builder at a time per cache entry.
exec 9>"$dir.lock"
flock 9

if [ -e "$dir/.markers-done" ]; then
	echo "$kdir"
	exit 0
fi

info "building ${variant}test kernel $kpkg with $rustc_v into $dir (about 6 minutes${variant:+; longer for $variant})"
start=$(date +%s)
rm -rf "$dir"
mkdir -p "$dir"
printf '%s\n' "$key_src" >"$dir/key"
tar -C "$dir" -xf "$tarball"
mv "$dir/linux-source-6.12" "$kdir"

export PATH=/usr/bin:$PATH
mk() { make -C "$kdir" -s "${KMAKE_VARS[@]}" "$@"; }

mk tinyconfig >/dev/null
(cd "$kdir" && KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m -O . .config "${fragments[@]}" >/dev/null)
mk olddefconfig >/dev/null

# Every option of the fragment must have stuck: a silently dropped option
# (an unmet dependency) would give a kernel that tests something else.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		if ! grep -qxF "$line" "$kdir/.config"; then
			echo "markers: config option did not stick: $line (have: $(grep "^${line%%=*}=" "$kdir/.config" || echo unset))" >&2
			bad=1
		fi ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		if grep -q "^$opt=" "$kdir/.config"; then
			echo "markers: config option did not stick: $line (have: $(grep "^$opt=" "$kdir/.config"))" >&2
			bad=1
		fi ;;
	esac
done < <(cat "${fragments[@]}")
[ $bad = 0 ] || die "test kernel configuration failed"

mk rustavailable >/dev/null || die "the kernel does not accept this Rust toolchain ($rustc_v)"

mk -j"$jobs" bzImage modules 2>&1 | grep -v '^$' >&2 || true
[ -f "$kdir/arch/x86/boot/bzImage" ] || die "kernel build failed"
[ -f "$kdir/Module.symvers" ] || die "kernel build produced no Module.symvers"
[ -f "$kdir/rust/libkernel.rmeta" ] || die "kernel build produced no rust/libkernel.rmeta"

touch "$dir/.markers-done"
info "test kernel built in $(($(date +%s) - start)) s"
echo "$kdir"
