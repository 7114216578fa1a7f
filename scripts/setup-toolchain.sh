#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the project needs to build its test kernel, its modules
# and its tools, and to run the tests in qemu.  Idempotent and
# non-interactive: a second run on a complete machine only checks and exits.
#
# Usage: scripts/setup-toolchain.sh [--check]
#   --check   report missing pieces by name and exit 1, install nothing.
# With KCONFIG=clang, LLVM 19 (clang-19, lld-19, llvm-19) is checked and
# installed too, for the clang variant of the test kernel.  With WITH_DKMS=1,
# Debian's dkms is checked and installed too (make dkms-check, dkms-install).
#
# The Rust compiler the kernel is built with is Debian's (/usr/bin/rustc),
# pinned to one version for the whole set of rust-web packages and held, so
# that a later apt run cannot move one piece of the set (see
# shared/REFERENCES.md, "Pinning trap").

set -euo pipefail

. "$(dirname "$0")/lib.sh"

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

rust_pkgs=(rustc-web rust-web-src libstd-rust-web-dev "libstd-rust-web-$RUST_SERIES"
	   rust-web-clippy rustfmt-web)
plain_pkgs=(linux-source-6.12 clang libclang-dev flex bison bc libelf-dev libssl-dev
	    cpio qemu-system-x86 busybox-static make gcc python3 xz-utils
	    binutils gawk libc6-dev file python3-docutils python3-sphinx
	    # The test VM's static perf (scripts/build-perf.sh): perf finds
	    # libtraceevent through pkg-config and links its libtraceevent.a.
	    pkg-config libtraceevent-dev)
# The clang variant of the test kernel (KCONFIG=clang) needs Debian's LLVM 19;
# nothing else does, so it is installed only when that variant is asked for.
if [ "${KCONFIG:-default}" = clang ]; then
	plain_pkgs+=("clang$LLVM_SUFFIX" "lld$LLVM_SUFFIX" "llvm$LLVM_SUFFIX")
fi
# DKMS packaging (scripts/dkms/): only its own targets need it.
if [ "${WITH_DKMS:-0}" = 1 ]; then
	plain_pkgs+=(dkms)
fi

missing=()

pkg_version() {
	dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
		awk '$3 == "installed" { print $4 }' || true
}

for p in "${plain_pkgs[@]}"; do
	[ -n "$(pkg_version "$p")" ] || missing+=("$p")
done

rust_missing=()
for p in "${rust_pkgs[@]}"; do
	v=$(pkg_version "$p" || true)
	case "$v" in
	"$RUST_SERIES".*) ;;
	*) rust_missing+=("$p${v:+ (have $v)}") ;;
	esac
done

bindgen_ok=0
if [ -x "$BINDGEN" ] && "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	bindgen_ok=1
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#rust_missing[@]} -eq 0 ] && [ $bindgen_ok = 1 ]; then
	info "toolchain complete: $(/usr/bin/rustc --version), bindgen $BINDGEN_VERSION"
	exit 0
fi

if [ $check_only = 1 ]; then
	for p in "${missing[@]}" "${rust_missing[@]}"; do
		echo "missing: Debian package $p" >&2
	done
	[ $bindgen_ok = 1 ] || echo "missing: bindgen-cli $BINDGEN_VERSION at $BINDGEN" >&2
	exit 1
fi

if [ "$(id -u)" != 0 ]; then
	die "need root to install: ${missing[*]} ${rust_missing[*]}"
fi

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() {
	if [ $apt_updated = 0 ]; then
		info "apt-get update"
		apt-get update -qq
		apt_updated=1
	fi
}

if [ ${#missing[@]} -gt 0 ]; then
	apt_update
	info "installing: ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ${#rust_missing[@]} -gt 0 ]; then
	apt_update
	# Prefer the verified version; otherwise the newest $RUST_SERIES.x offered.
	ver=$RUST_DEB_VERSION
	if ! apt-cache madison rustc-web | awk '{ print $3 }' | grep -qxF "$ver"; then
		ver=$(apt-cache madison rustc-web | awk '{ print $3 }' |
		      grep "^$RUST_SERIES\." | sort -V | tail -1)
		[ -n "$ver" ] || die "no rustc-web $RUST_SERIES.x offered by apt"
		warn "rustc-web $RUST_DEB_VERSION is no longer offered; using $ver"
	fi
	args=()
	for p in "${rust_pkgs[@]}"; do
		args+=("$p=$ver")
	done
	info "installing (pinned, one transaction): ${args[*]}"
	apt-mark unhold "${rust_pkgs[@]}" >/dev/null 2>&1 || true
	apt-get install -y -qq --no-install-recommends --allow-downgrades \
		--allow-change-held-packages "${args[@]}" >/dev/null
	apt-mark hold "${rust_pkgs[@]}" >/dev/null
fi

if [ $bindgen_ok = 0 ]; then
	command -v cargo >/dev/null || die "cargo not found: needed to install bindgen-cli"
	info "cargo install bindgen-cli $BINDGEN_VERSION"
	# Build bindgen with whatever cargo is first on PATH; it only has to run.
	cargo install --locked --quiet --root "$BINDGEN_ROOT" bindgen-cli \
		--version "$BINDGEN_VERSION"
fi

/usr/bin/rustc --version >/dev/null || die "/usr/bin/rustc does not run"
"$BINDGEN" --version >/dev/null || die "$BINDGEN does not run"
info "toolchain complete: $(/usr/bin/rustc --version), bindgen $BINDGEN_VERSION"
