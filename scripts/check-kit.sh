#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kit for third-party modules, as a user meets it: `make install
# DESTDIR=...` installs it, and the samples under samples/kit build against
# the installed kit alone with `make -C $KDIR M=$PWD`, in a scratch copy, with
# whatever `rustc` comes first on PATH (rustup's, on a developer's machine:
# the kit must pick the kernel's own compiler and say so).  Also: a
# composite module builds with the same fragment, a wrong RUSTC stops the
# build with one line naming both compilers, and every site of the built
# modules is a 5-byte NOP.  Prints KTAP-style lines and "N passed, N failed".
#
# Usage: scripts/check-kit.sh KDIR [OUTDIR]
#   OUTDIR receives the built sample modules, for the guest (tests/70-kit.sh).

set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")
kdir=${1:?usage: check-kit.sh KDIR [OUTDIR]}
out=${2:-}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The kernel's compiler, and one that is not: the first rustc on PATH if it
# differs (rustup's, here), or else a stand-in that reports another version
# and refuses to compile.
kernel_rustc=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$kdir/.config")
mkdir -p "$work/fake"
cat >"$work/fake/rustc" <<'SH'
#!/bin/sh
[ "$1" = --version ] && { echo "rustc 1.0.0 (stand-in for another toolchain)"; exit 0; }
echo "stand-in rustc: called to compile: the kit picked the wrong compiler" >&2
exit 1
SH
chmod +x "$work/fake/rustc"
path=$PATH
if [ "$(rustc --version 2>/dev/null)" = "$kernel_rustc" ]; then
	path=$work/fake:$PATH
fi
other=$(PATH=$path rustc --version)

# Clang-built kernels need their LLVM toolchain on the command line, as for
# any module; nothing else is passed: RUSTC must come from the kit.
extra=()
grep -qx 'CONFIG_CC_IS_CLANG=y' "$kdir/.config" && extra=("${KLLVM_VARS[@]}")
release=$(cat "$kdir/include/config/kernel.release")
kit=$work/stage/usr/lib/markers/$release
usermake() { # DIR [make args...]
	local dir=$1
	shift
	PATH=$path make -C "$kdir" M="$dir" MARKERS_KIT="$kit" "${extra[@]}" "$@"
}

# 1. make install into a staging root.
DESTDIR=$work/stage INSTALL_MOD_PATH= PREFIX=/usr "$here/install.sh" "$kdir" >"$work/install.log" 2>&1
rc=$?
for f in "$work/stage/lib/modules/$release/updates/markers.ko" "$kit/markers.mk" \
	"$kit/markers.lds" "$kit/Module.symvers" "$kit/rust/libmarkers.rmeta" \
	"$kit/include/linux/markers.h" "$work/stage/usr/bin/markctl"; do
	[ -f "$f" ] || { echo "missing: $f" >>"$work/install.log"; rc=1; }
done
result $rc "make install DESTDIR= installs markers.ko, markctl and the kit" "$work/install.log"

# 2. The samples, with '$other' first on PATH.
cp -r "$root/samples/kit" "$work/samples"
rc=0
{
	usermake "$work/samples/rust" modules && usermake "$work/samples/c" modules
} >"$work/samples.log" 2>&1 || rc=1
for ko in rust/markers_kit_sample.ko rust/markers_kit_tracer.ko c/markers_kit_ctracer.ko; do
	[ -f "$work/samples/$ko" ] || { echo "not built: $ko" >>"$work/samples.log"; rc=1; }
done
grep -q "^markers: using /usr/bin/rustc ($kernel_rustc) for kernel $release, not 'rustc' ($other)" \
	"$work/samples.log" || { echo "no line saying the kit picked /usr/bin/rustc" >>"$work/samples.log"; rc=1; }
if grep -Ei 'warning[:[]' "$work/samples.log" >/dev/null; then
	echo "the build printed warnings" >>"$work/samples.log"
	rc=1
fi
result $rc "samples/kit build against the installed kit alone, with '$other' first on PATH" "$work/samples.log"
if [ $rc = 0 ] && [ -n "$out" ]; then
	mkdir -p "$out"
	cp "$work"/samples/*/*.ko "$out/"
fi

# 3. Their sites; the tracer has no __markers section.
python3 "$here/check-sites.py" --quiet "$work/samples/rust/markers_kit_sample.ko" \
	>"$work/sites.log" 2>&1
rc=$?
if readelf -S "$work/samples/rust/markers_kit_tracer.ko" 2>>"$work/sites.log" | grep -q __markers; then
	echo "markers_kit_tracer.ko has a __markers section" >>"$work/sites.log"
	rc=1
fi
result $rc "the kit sample's sites are 5-byte NOPs; a module without sites gets no __markers section" "$work/sites.log"

# 4. A composite module, with the same fragment.
mkdir -p "$work/composite"
cp "$root/samples/kit/rust/markers_kit_sample.rs" "$work/composite/kit_main.rs"
cat >"$work/composite/Kbuild" <<'KB'
obj-m := markers_kit_sample.o
markers_kit_sample-y := kit_main.o
include $(or $(MARKERS_KIT),/usr/lib/markers/$(KERNELRELEASE))/markers.mk
KB
usermake "$work/composite" modules >"$work/composite.log" 2>&1 &&
	python3 "$here/check-sites.py" --quiet "$work/composite/markers_kit_sample.ko" \
		>>"$work/composite.log" 2>&1
result $? "a composite module builds with three lines (and its sites are NOPs)" "$work/composite.log"

# 5. RUSTC given, and wrong: one line naming both compilers, nothing built.
cp -r "$root/samples/kit/rust" "$work/wrong"
rc=0
if usermake "$work/wrong" RUSTC="$work/fake/rustc" modules >"$work/wrong.log" 2>&1; then
	rc=1
fi
grep -q "\*\*\* markers: kernel $release was built by '$kernel_rustc' but RUSTC=$work/fake/rustc is 'rustc 1.0.0 (stand-in for another toolchain)': build with RUSTC=/usr/bin/rustc" \
	"$work/wrong.log" || rc=1
! ls "$work"/wrong/*.o >/dev/null 2>&1 || rc=1
result $rc "a wrong RUSTC stops the build with one line naming both compilers" "$work/wrong.log"

summary
