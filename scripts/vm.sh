#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's test VM: a busybox initramfs holding the project's modules,
# the in-guest tests and tools, booted with qemu-system-x86_64 (TCG, 4 CPUs).
#
# Usage: scripts/vm.sh MODE KDIR
#   test    run the in-guest test suite; the console is checked by
#           tools/ktap-check, which prints "N passed, N failed" and decides
#           the exit status (red on a failed test, a splat, a crash or a
#           timeout, or a guest that does not see 4 CPUs)
#   shell   interactive shell on the console (leave with `reboot -f` or
#           Ctrl-A X); the project's modules are loaded first
#   run     run $CMD in the guest (cwd /markers), print its output and exit
#           with its status
#   demo    load the core and sample modules and show what they print
#
# Environment:
#   EXTRA=paths      files or folders copied into the guest under /markers/extra
#                    (a folder keeps its name: EXTRA=~/src/mymod gives
#                    /markers/extra/mymod/)
#   KIT_MODULES=dir  the kit's samples, built by scripts/check-kit.sh, copied
#                    to /markers/kit (tests/67-kit.sh)
#   KCONFIG=debug    KDIR is the debug kernel variant (lockdep, SLUB and page
#                    allocator debugging, kmemleak): the guest gets 1 GiB and
#                    a longer test timeout
#   KCONFIG=clang    KDIR is the clang-built variant (KASAN, kCFI): 1 GiB
#   TIMEOUT=seconds  kill qemu after this long (test: 1200, or 2400 with
#                    KCONFIG=debug, 1800 with KCONFIG=clang; run/demo: 300)
#   HARNESS_SELFTEST=fail|oops|warn|timeout (1 means fail), and on the debug
#                    kernel lockdep|kmemleak|list, on the clang kernel
#                    kasan|cfi
#                    replace the test run by a deliberately broken step, to
#                    show that the harness turns it red
#   CPUS=n           guest CPUs (default 4; the test run asserts it)
#   TESTS=glob       run only tools/testing/guest/tests/<glob> (test mode)
#   TEST_ENV='A=1 B=2'  variables exported to the in-guest tests
#   TCG_THREAD=single|multi
#                    qemu TCG threading (default single: deterministic; multi
#                    is faster but makes the kernel's own text patching oops
#                    now and then, see Documentation/testing.rst)
#   QEMU_ARGS        extra qemu arguments
#   V=1              print the whole console for run and demo
#
# Logs of the last run are kept in $MARKERS_LOGDIR (default .vm/ in the clone).

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")

mode=${1:?usage: vm.sh test|shell|run|demo KDIR}
kdir=${2:?usage: vm.sh test|shell|run|demo KDIR}
cpus=${CPUS:-4}
logdir=${MARKERS_LOGDIR:-$root/.vm}
mkdir -p "$logdir"

case "${KCONFIG:-default}" in
default) mem=512 test_timeout=1200 ;;
# Every allocation carries red zones and tracking, and kmemleak its metadata.
debug) mem=1024 test_timeout=2400 ;;
# KASAN's shadow takes an eighth of memory, its quarantine more; every load
# and store is checked.
clang) mem=1024 test_timeout=1800 ;;
*) die "KCONFIG=$KCONFIG: unknown kernel variant (default, debug, clang)" ;;
esac
case "$mode" in
test) timeout=${TIMEOUT:-$test_timeout} ;;
run | demo) timeout=${TIMEOUT:-300} ;;
shell) timeout=0 ;;
*) die "unknown VM mode '$mode'" ;;
esac
[ "$mode" != run ] || [ -n "${CMD:-}" ] || die "vm-run needs CMD='command'"
case "${HARNESS_SELFTEST:-}" in
'' | fail | oops | warn | timeout) ;;
lockdep | kmemleak | list)
	[ "${KCONFIG:-}" = debug ] ||
		die "HARNESS_SELFTEST=$HARNESS_SELFTEST needs the debug kernel (KCONFIG=debug)" ;;
kasan | cfi)
	[ "${KCONFIG:-}" = clang ] ||
		die "HARNESS_SELFTEST=$HARNESS_SELFTEST needs the clang kernel (KCONFIG=clang)" ;;
1) HARNESS_SELFTEST=fail ;;
*) die "HARNESS_SELFTEST=$HARNESS_SELFTEST: expected fail, oops, warn, timeout, lockdep, kmemleak, list, kasan, cfi (or 1, for fail)" ;;
esac
if [ "${HARNESS_SELFTEST:-}" = timeout ]; then
	timeout=${TIMEOUT:-12}
fi

bzimage=$kdir/arch/x86/boot/bzImage
[ -f "$bzimage" ] || die "no kernel image at $bzimage"
busybox=/bin/busybox
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$busybox" 2>&1 | grep -q 'not a dynamic' ||
	die "$busybox is not static: install busybox-static (scripts/setup-toolchain.sh)"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# The initramfs root: mktemp's 0700 would lock out the guest's non-root user.
chmod 755 "$stage"

# --- The initramfs ---------------------------------------------------------
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,root,etc,markers/modules,markers/extra}
cp "$busybox" "$stage/bin/busybox"
# The operator's tool, static (the initramfs has no C library).
cp "$("$here/build-tools.sh" markctl-static)" "$stage/bin/markctl"
# perf, static too, built from the test kernel's own source
# (scripts/build-perf.sh, cached): `perf record -e markers:<name>`.
cp "$("$here/build-perf.sh")" "$stage/bin/perf"
cp "$root/tools/testing/guest/init" "$stage/init"
cp -r "$root/tools/testing/guest" "$stage/markers/testing"
rm -f "$stage/markers/testing/init"
echo "$mode" >"$stage/markers/mode"
printf '%s\n' "${CMD:-}" >"$stage/markers/cmd"
printf '%s\n' "${HARNESS_SELFTEST:-}" >"$stage/markers/selftest"
printf '%s\n' "${TESTS:-}" >"$stage/markers/tests-glob"
printf '%s\n' "${TEST_ENV:-}" >"$stage/markers/test-env"
echo "${TCG_THREAD:-single}" >"$stage/markers/tcg"
sed -n 's/^#define MARKERS_VERSION "\(.*\)"$/\1/p' "$root/include/linux/markers.h" \
	>"$stage/markers/VERSION"

# Every module the project built, flat, by file name.
while IFS= read -r -d '' ko; do
	cp "$ko" "$stage/markers/modules/"
done < <(find "$root" -name .git -prune -o -name '.vm' -prune -o -name '*.ko' -print0)

# The kernel's own test modules the coexistence tests load, when the kernel
# built them (CONFIG_TEST_STATIC_KEYS=m in the project's test kernels).
mkdir -p "$stage/markers/kmods"
for ko in lib/test_static_key_base.ko lib/test_static_keys.ko; do
	if [ -f "$kdir/$ko" ]; then cp "$kdir/$ko" "$stage/markers/kmods/"; fi
done

# The kit's samples, built outside the tree by scripts/check-kit.sh
# (tests/67-kit.sh): when KIT_MODULES is given, they must be there.
if [ -n "${KIT_MODULES:-}" ]; then
	ls "$KIT_MODULES"/*.ko >/dev/null 2>&1 || die "KIT_MODULES=$KIT_MODULES holds no module"
	mkdir -p "$stage/markers/kit"
	cp "$KIT_MODULES"/*.ko "$stage/markers/kit/"
	touch "$stage/markers/kit-expected"
fi

for x in ${EXTRA:-}; do
	[ -e "$x" ] || die "EXTRA: $x does not exist"
	cp -r "$x" "$stage/markers/extra/"
done

chmod +x "$stage/init"
(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) \
	>"$logdir/initramfs.cpio.gz"

# --- qemu --------------------------------------------------------------------
console=$logdir/console.log
out=$logdir/ttyS1.out
: >"$out"
# A kernel log large enough for a whole run: tests compare dmesg before and
# after (the default 128 KiB wraps in the torture test).
append="console=ttyS0 panic=-1 oops=panic loglevel=7 log_buf_len=8M rdinit=/init"
[ "$mode" = test ] || append="$append quiet"
# shellcheck disable=SC2206
qemu=(qemu-system-x86_64 -accel "tcg,thread=${TCG_THREAD:-single}" -smp "$cpus" -m "$mem"
      -nographic -no-reboot -nodefaults
      -kernel "$bzimage" -initrd "$logdir/initramfs.cpio.gz"
      -append "$append"
      -serial mon:stdio -serial "file:$out"
      ${QEMU_ARGS:-})

if [ "$mode" = shell ]; then
	info "booting the test VM; leave with 'reboot -f' or Ctrl-A X"
	exec "${qemu[@]}"
fi

info "booting the test VM ($mode, $cpus CPUs, timeout ${timeout}s)"
start=$(date +%s)
set +e
timeout -k 5 "$timeout" "${qemu[@]}" </dev/null >"$console" 2>&1
qrc=$?
set -e
info "VM exited after $(($(date +%s) - start)) s"
timed_out=()
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
	timed_out=(--timed-out)
	warn "the VM did not finish within ${timeout}s"
fi

# The guest's last word: "markers-guest: done rc=N".
guest_rc=$(tr -d '\r' <"$console" | sed -n 's/.*markers-guest: done rc=\([0-9]*\).*/\1/p' | tail -1)

case "$mode" in
test)
	ktap_check=$("$here/build-tools.sh")/ktap-check
	set +e
	"$ktap_check" "${timed_out[@]}" --expect-cpus "$cpus" "$console"
	rc=$?
	set -e
	if [ $rc != 0 ]; then
		warn "console log: $console"
	fi
	exit $rc
	;;
run | demo)
	if [ "${V:-}" = 1 ] || [ -z "$guest_rc" ]; then
		tr -d '\r' <"$console" >&2
	fi
	tr -d '\r' <"$out"
	if [ -z "$guest_rc" ]; then
		die "the guest did not finish (crash, hang or timeout); console log: $console"
	fi
	if grep -E 'BUG:|WARNING:|Oops|Kernel panic|general protection' "$console" >/dev/null; then
		grep -E -A20 'BUG:|WARNING:|Oops|Kernel panic|general protection' "$console" >&2
		die "the kernel reported a problem; console log: $console"
	fi
	# make turns any failing recipe into its own status 2: say the real one.
	[ "$guest_rc" = 0 ] || info "the command exited with status $guest_rc"
	exit "$guest_rc"
	;;
esac
