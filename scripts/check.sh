#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: everything, from a fresh clone, in one command.
#
#   1. toolchain and test kernel (installed / built once, then cached)
#   2. the modules, built through clippy-driver; any warning (rustc, clippy,
#      objtool, modpost) fails the step
#   3. rustfmt on the module code, checkpatch on the C code, Sphinx on the
#      documentation (its console examples run in the guest in step 6),
#      rustdoc on the markers crate; the kit (make install, the samples/kit
#      modules built against it alone); on the default kernel, the DKMS and
#      in-tree builds
#   4. host tools under tools/: cargo fmt, clippy and test
#   5. harness self-tests: a failing test, an oops and a timeout must each
#      turn a VM run red (skipped with SKIP_HARNESS_SELFTEST=1)
#   6. the in-guest test suite in the 4-CPU test VM
#   7. the patcher's stress test under multi-threaded TCG
#
# KCONFIG=debug runs all of it on the debug kernel variant (lockdep, SLUB and
# page allocator debugging, kmemleak, list debugging; see
# Documentation/testing.rst), with fewer stress passes in step 7.
# KCONFIG=clang does the same on the clang-built kernel (KASAN, kCFI; opt-in,
# not in CI).
#
# Each step prints "ok"/"not ok" lines; the last line is the total,
# "N passed, N failed", and the exit status is 0 only when nothing failed.

set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")
cd "$root" || exit 1

# Add "N passed, M failed" counts from a step's last summary line.
add_counts() { # FILE
	local line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
}
finish() {
	summary
	exit
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The debug and clang runs keep their VM logs apart: .vm/debug/, .vm/clang/.
case "${KCONFIG:-default}" in
debug | clang) export MARKERS_LOGDIR=${MARKERS_LOGDIR:-$root/.vm/$KCONFIG} ;;
esac
logroot=${MARKERS_LOGDIR:-$root/.vm}

# 1. Toolchain and kernel.
if ! kdir=$("$here/kdir.sh"); then
	result 1 "toolchain and test kernel"
	finish
fi
result 0 "toolchain and test kernel (${KCONFIG:-default}: $kdir)"

# 2. Modules, with clippy, warning-free.
if CLIPPY=1 "$here/build-modules.sh" "$kdir" >"$tmp/build.log" 2>&1; then
	result 0 "modules build with clippy, no warnings"
else
	cat "$tmp/build.log"
	result 1 "modules build with clippy, no warnings"
	finish
fi

# 3. Formatting of the module code; checkpatch on the C code.
mapfile -t krs < <(git ls-files '*.rs' | grep -v '^tools/' ; find rust samples -name '*.rs' 2>/dev/null)
mapfile -t krs < <(printf '%s\n' "${krs[@]}" | sort -u)
if /usr/bin/rustfmt --color never --check --edition 2021 --config-path "$kdir/.rustfmt.toml" \
	"${krs[@]}" >"$tmp/fmt.log" 2>&1; then
	result 0 "rustfmt on the module code"
else
	head -50 "$tmp/fmt.log"
	result 1 "rustfmt on the module code (run: make fmt)"
fi
mapfile -t cfiles < <(find rust samples include tools/testing -name '*.[ch]' ! -name '*.mod.c' 2>/dev/null | sort)
if [ ${#cfiles[@]} -gt 0 ]; then
	if perl "$kdir/scripts/checkpatch.pl" --no-tree --quiet --strict \
		--ignore EXPORT_SYMBOL -f "${cfiles[@]}" >"$tmp/cp.log" 2>&1; then
		result 0 "checkpatch on the C code"
	else
		cat "$tmp/cp.log"
		result 1 "checkpatch on the C code"
	fi
fi
# The documentation builds with Sphinx without a warning (references,
# literalincludes of the samples, tables); its console examples are
# extracted for tests/80-doc-examples.sh, which runs them in step 6.
if "$here/docs.sh" "$logroot/docs" >"$tmp/docs.log" 2>&1; then
	result 0 "Documentation/ builds with Sphinx, no warnings ($(grep -o '^[0-9]* console examples' "$tmp/docs.log") for the guest)"
else
	cat "$tmp/docs.log"
	result 1 "Documentation/ builds with Sphinx, no warnings (make docs)"
fi

# The client crate's API documentation: every public item documented, with
# an example, no rustdoc warning (make rustdoc).
if "$here/rustdoc.sh" "$kdir" >"$tmp/rustdoc.log" 2>&1; then
	result 0 "make rustdoc: the markers crate, an example for every public item, no warning"
else
	cat "$tmp/rustdoc.log"
	result 1 "make rustdoc: the markers crate, an example for every public item, no warning"
fi

# Every site of every built module is a 5-byte NOP with no marker-related
# instruction before it.
# (markers_badsec.ko holds malformed entries on purpose.)
mapfile -t kos < <(find . -name '*.ko' -not -path './.vm/*' -not -name markers_badsec.ko | sort)
if python3 "$here/check-sites.py" --quiet "${kos[@]}" >"$tmp/sites.log" 2>&1; then
	result 0 "every site is a 5-byte NOP ($(tail -1 "$tmp/sites.log"))"
else
	cat "$tmp/sites.log"
	result 1 "every site is a 5-byte NOP"
fi

# The kit for third-party modules: make install, and the samples under
# samples/kit built against the installed kit alone (run in the guest by
# tests/67-kit.sh).
"$here/check-kit.sh" "$kdir" "$tmp/kit" | tee "$tmp/kit.log"
add_counts "$tmp/kit.log"

# DKMS (dkms add/build/install/remove on private trees) and the in-tree
# build (the tree as drivers/markers of the kernel source, on an overlay),
# each module loaded in the VM.  Packaging, not kernel behaviour: on the
# default kernel only.
if [ "${KCONFIG:-default}" = default ]; then
	"$here/dkms-check.sh" "$kdir" 2>&1 | tee "$tmp/dkms.log"
	add_counts "$tmp/dkms.log"
	"$here/intree-check.sh" "$kdir" 2>&1 | tee "$tmp/intree.log"
	add_counts "$tmp/intree.log"
fi

# 4. Host tools.
# The crates of tools/Cargo.lock (markctl's), from crates.io on a fresh
# machine; the steps below then run offline.
"$here/build-tools.sh" fetch >/dev/null ||
	die "cannot fetch the crates of tools/Cargo.lock (crates.io unreachable?)"
if (cd tools && cargo fmt --check) >"$tmp/cfmt.log" 2>&1; then
	result 0 "cargo fmt on tools/"
else
	head -50 "$tmp/cfmt.log"
	result 1 "cargo fmt on tools/ (run: make fmt)"
fi
if (cd tools && cargo clippy --offline --quiet --all-targets -- -D warnings) \
	>"$tmp/clippy.log" 2>&1; then
	result 0 "cargo clippy on tools/"
else
	cat "$tmp/clippy.log"
	result 1 "cargo clippy on tools/"
fi
if (cd tools && cargo test --offline --quiet) >"$tmp/ctest.log" 2>&1; then
	result 0 "cargo test on tools/ ($(grep -o '[0-9]* passed' "$tmp/ctest.log" |
		awk '{ n += $1 } END { print n }') tests)"
else
	cat "$tmp/ctest.log"
	result 1 "cargo test on tools/"
fi

# 5. Harness self-tests.
if [ "${SKIP_HARNESS_SELFTEST:-}" != 1 ] && [ -z "${HARNESS_SELFTEST:-}" ]; then
	"$here/harness-selftest.sh" "$kdir" | tee "$tmp/hs.log"
	add_counts "$tmp/hs.log"
fi

# 6. The in-guest test suite, under single-threaded TCG (the default), where
# the run is deterministic and a late int3 trap would be a real bug.
kit_modules=
[ -d "$tmp/kit" ] && kit_modules=$tmp/kit
KIT_MODULES=$kit_modules TEST_ENV='MARKERS_TOGGLES=500 MARKERS_EXPECT_NO_LATE=1' \
	"$here/vm.sh" test "$kdir" |
	tee "$tmp/vm.log"
add_counts "$tmp/vm.log"

# 7. The patcher's stress test, 2,000 passes (300 on the much slower debug
# kernel), under multi-threaded TCG: real
# parallelism, and the late traps that only it produces (handled, counted).
# Multi-threaded TCG also produces them for the kernel's own text patching,
# which has no such safety net: about one boot in forty oopses in
# "Oops: int3" before any test runs. Such a run, and only such a run (the
# splat precedes the guest's first line), is retried once, and says so.
case "${KCONFIG:-default}" in
debug) multi_toggles=300 ;;
*) multi_toggles=2000 ;;
esac
multi() {
	TCG_THREAD=multi TESTS='10-*' TEST_ENV="MARKERS_TOGGLES=$multi_toggles" \
		MARKERS_LOGDIR="$logroot/multi" "$here/vm.sh" test "$kdir" >"$tmp/multi.log" 2>&1
}
boot_artifact() {
	local log=$logroot/multi/console.log splat cpus
	splat=$(grep -n 'Oops: int3' "$log" | head -1 | cut -d: -f1)
	cpus=$(grep -n 'markers-guest: cpus=' "$log" | head -1 | cut -d: -f1)
	[ -n "$splat" ] && { [ -z "$cpus" ] || [ "$splat" -lt "$cpus" ]; }
}
if ! multi && boot_artifact; then
	echo "# multi-threaded TCG run: the kernel oopsed on its own int3 at boot, before any test; retrying once"
	cp "$logroot/multi/console.log" "$logroot/multi/console-boot-artifact.log"
	multi
fi
cat "$tmp/multi.log"
add_counts "$tmp/multi.log"
finish
