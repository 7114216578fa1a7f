#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) a static perf for the test VM and print its path.
#
# The test VM's initramfs has no C library, and Debian bookworm has no perf
# for 6.12 in its main suites (linux-perf there is 6.1; bookworm-backports
# has a 6.12 one, dynamically linked against a dozen libraries), so the
# project builds tools/perf of the very kernel source it tests with (Debian's
# linux-source-6.12), linked statically against glibc's libc.a and Debian's
# libtraceevent.a (libtraceevent-dev; perf needs it to parse tracepoint
# formats: `perf record -e sys:event`, `perf script` field printing).
# Everything else perf can use is disabled: no scripting languages, no TUI,
# no libbpf or BPF skeletons, no DWARF or unwinding libraries.
#
# The build lives under $MARKERS_CACHE, in a folder keyed by the versions of
# linux-source-6.12 and libtraceevent-dev and the hash of this script; only
# the binary is kept.  A finished build has a .markers-done stamp; anything
# without one is removed and rebuilt.  The packages come from
# scripts/setup-toolchain.sh.

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

tarball=/usr/src/linux-source-6.12.tar.xz
jobs=${JOBS:-$(($(nproc) + 1))}

pkg_version() {
	dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
		awk '$3 == "installed" { print $4 }' || true
}

# The key needs the packages' versions: install them first if need be.
kpkg=$(pkg_version linux-source-6.12)
tepkg=$(pkg_version libtraceevent-dev)
if [ -z "$kpkg" ] || [ -z "$tepkg" ]; then
	"$here/setup-toolchain.sh" >&2
	kpkg=$(pkg_version linux-source-6.12)
	tepkg=$(pkg_version libtraceevent-dev)
fi
[ -n "$kpkg" ] && [ -n "$tepkg" ] ||
	die "linux-source-6.12 or libtraceevent-dev missing: run scripts/setup-toolchain.sh"
key_src="$kpkg|libtraceevent $tepkg|$(sha256sum <"$0")"
key=$(printf '%s' "$key_src" | sha256sum | cut -c1-16)
dir=$MARKERS_CACHE/perf-$kpkg-$key
bin=$dir/perf

mkdir -p "$MARKERS_CACHE"
# One builder at a time per cache entry.
exec 9>"$dir.lock"
flock 9

if [ -e "$dir/.markers-done" ]; then
	echo "$bin"
	exit 0
fi

"$here/setup-toolchain.sh" >&2
[ -r "$tarball" ] || die "$tarball missing: run scripts/setup-toolchain.sh"
[ -f /usr/lib/x86_64-linux-gnu/libtraceevent.a ] ||
	die "no libtraceevent.a: install libtraceevent-dev (scripts/setup-toolchain.sh)"
info "building a static perf from linux-source $kpkg into $dir (about 3 minutes)"
start=$(date +%s)
rm -rf "$dir"
mkdir -p "$dir/build"
printf '%s\n' "$key_src" >"$dir/key"

# What tools/perf/MANIFEST lists (what `make perf-tar-src-pkg` ships), plus
# the headers and syscall tables perf's build reads from the kernel tree.
top=linux-source-6.12
tar -C "$dir" -xf "$tarball" --wildcards \
	"$top/Makefile" "$top/tools" "$top/include" "$top/arch/x86" \
	"$top/scripts" "$top/kernel/bpf/disasm.*" "$top/arch/*/include/uapi/asm/bpf_perf_event.h" \
	"$top/arch/arm64/tools"
src=$dir/$top

# -static: the initramfs has no ld.so and no libc.so.  NO_LIBELF: perf then
# resolves kernel symbols from /proc/kallsyms, which is all the VM has.
perf_opts=(LDFLAGS=-static WERROR=0 NO_LIBELF=1 NO_LIBPERL=1 NO_LIBPYTHON=1
	   NO_SLANG=1 NO_GTK2=1 NO_LIBUNWIND=1 NO_LIBDW_DWARF_UNWIND=1 NO_DWARF=1
	   NO_LIBNUMA=1 NO_LIBAUDIT=1 NO_LIBCRYPTO=1 NO_LIBBPF=1 BUILD_BPF_SKEL=0
	   NO_JEVENTS=1 NO_LIBBABELTRACE=1 NO_CAPSTONE=1 NO_LIBPFM4=1 NO_LIBCAP=1
	   NO_LIBDEBUGINFOD=1 NO_LZMA=1 NO_ZLIB=1 NO_LIBZSTD=1 NO_SDT=1 NO_JVMTI=1
	   NO_AUXTRACE=1 NO_DEMANGLE=1 NO_BACKTRACE=1 NO_PERF_READ_VDSO32=1
	   NO_PERF_READ_VDSOX32=1 NO_SHELLCHECK=1
	   # The test kernel is tinyconfig-based, without CONFIG_EVENTFD: a perf
	   # that can use eventfd(2) makes `perf record` fail with "Failed to
	   # create wakeup eventfd".  Without it, record wakes on its poll
	   # timeout and on signals, as perf did before 5.18.
	   feature-eventfd=0)
# Only the perf binary: `all` also builds the dlfilter shared objects, which
# cannot be linked with -static.
if ! nice make -C "$src/tools/perf" -f Makefile.perf O="$dir/build" -j"$jobs" \
		"${perf_opts[@]}" "$dir/build/perf" >"$dir/build.log" 2>&1; then
	tail -40 "$dir/build.log" >&2
	die "building perf failed; log: $dir/build.log"
fi
cp "$dir/build/perf" "$bin"
strip "$bin"
file -L "$bin" | grep -Eq 'static(ally|-pie) linked' ||
	die "$bin is not statically linked: $(file -L "$bin")"
"$bin" version >/dev/null || die "$bin does not run"
grep -q 'libtraceevent: \[ on' <("$bin" version --build-options) ||
	die "$bin was built without libtraceevent"
rm -rf "$src" "$dir/build"

touch "$dir/.markers-done"
info "perf built in $(($(date +%s) - start)) s: $("$bin" version)"
echo "$bin"
