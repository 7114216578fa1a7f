# SPDX-License-Identifier: GPL-2.0
#
# Shared settings and helpers for the project's shell scripts.  Sourced, not
# run.  Every path the scripts use outside the clone is defined here.

# The Rust toolchain the kernel and the modules are built with.
RUST_SERIES=${RUST_SERIES:-1.96}
RUST_DEB_VERSION=${RUST_DEB_VERSION:-1.96.0+dfsg1-1~deb12u2}
BINDGEN_VERSION=${BINDGEN_VERSION:-0.71.1}

# Cache outside the clone, reused by later runs and CI on the same machine.
MARKERS_CACHE=${MARKERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/markers}
BINDGEN_ROOT=${BINDGEN_ROOT:-$MARKERS_CACHE/bindgen-$BINDGEN_VERSION}
BINDGEN=${BINDGEN:-$BINDGEN_ROOT/bin/bindgen}

# Every Rust tool the kernel build calls must be Debian's (see REFERENCES.md):
# the rustup toolchain comes first on PATH otherwise.
KRUST_VARS=(RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
	    RUSTFMT=/usr/bin/rustfmt CLIPPY_DRIVER=/usr/bin/clippy-driver
	    "BINDGEN=$BINDGEN")

# The clang variant of the test kernel (KCONFIG=clang: KASAN and kCFI) is
# built by Debian's LLVM 19 (clang-19, ld.lld-19, llvm-ar-19, ...), and so
# must every module built against it; bindgen then uses libclang 19 too, the
# C compiler's own version.  Everything else is built by GCC.
LLVM_SUFFIX=-19
KLLVM_VARS=(LLVM=$LLVM_SUFFIX "LIBCLANG_PATH=/usr/lib/llvm${LLVM_SUFFIX}/lib")

# kmake_vars [KDIR]: set KMAKE_VARS, the variables of every make run on a
# kernel tree: the Rust tools, plus the LLVM toolchain when KDIR's .config
# says it was built by clang (any KDIR: the modules must be built by the
# kernel's compiler) or, without KDIR (a kernel not configured yet), when
# KCONFIG=clang.
kmake_vars() {
	KMAKE_VARS=("${KRUST_VARS[@]}")
	if [ -n "${1:-}" ]; then
		grep -qx 'CONFIG_CC_IS_CLANG=y' "$1/.config" 2>/dev/null || return 0
	elif [ "${KCONFIG:-default}" != clang ]; then
		return 0
	fi
	KMAKE_VARS+=("${KLLVM_VARS[@]}")
}

# KTAP-style results of the host-side checks (make check's steps and the
# check scripts).  result STATUS NAME [LOG]: "ok - NAME" when STATUS is 0,
# else the LOG's last lines as diagnostics and "not ok - NAME"; counted in
# passed and failed.  summary: "N passed, N failed"; true when none failed.
passed=0
failed=0
result() {
	if [ "$1" = 0 ]; then
		echo "ok - $2"
		passed=$((passed + 1))
	else
		[ -z "${3:-}" ] || [ ! -f "$3" ] || tail -n 80 "$3" | sed 's/^/# /'
		echo "not ok - $2"
		failed=$((failed + 1))
	fi
}
summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

# private_checks COUNTS CMD...: run CMD, checks that must not touch the host
# (dkms-check.sh, intree-check.sh), in a private mount namespace; CMD writes
# its "passed failed" to the file COUNTS, which are added here.
private_checks() {
	local counts=$1 p f
	shift
	unshare --mount --propagation private "$@"
	read -r p f <"$counts" 2>/dev/null ||
		{ p=0 f=1; echo "not ok - the checks in the private namespace did not finish"; }
	passed=$((passed + p))
	failed=$((failed + f))
}

info() { echo "markers: $*" >&2; }
warn() { echo "markers: warning: $*" >&2; }
die() { echo "markers: error: $*" >&2; exit 1; }
