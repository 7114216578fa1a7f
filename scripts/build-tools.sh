#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the host tools under tools/ (a cargo workspace).
#
#   build-tools.sh                  build them for the host and print the
#                                   folder holding their binaries
#   build-tools.sh markctl-static   build markctl as a static binary for the
#                                   test VM (busybox initramfs, no libc) and
#                                   print its absolute path
#   build-tools.sh fetch            only download the crates of tools/Cargo.lock
#
# The crates come from crates.io: `cargo fetch --locked` downloads the ones
# missing from ~/.cargo (nothing when they are all there), then every build
# is --offline --locked, on exactly the versions of tools/Cargo.lock.
# The static binary links glibc's libc.a (-C target-feature=+crt-static on
# x86_64-unknown-linux-gnu); no musl target is needed.

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")

command -v cargo >/dev/null || die "cargo not found: the host tools need a Rust toolchain"
manifest=$root/tools/Cargo.toml
target=${CARGO_TARGET_DIR:-$root/tools/target}
static_triple=x86_64-unknown-linux-gnu

fetch() {
	cargo fetch --quiet --locked --manifest-path "$manifest" >&2 ||
		die "fetching the crates of tools/Cargo.lock failed (is crates.io reachable?)"
}

case "${1:-}" in
"")
	fetch
	cargo build --quiet --release --offline --locked --manifest-path "$manifest" \
		--target-dir "$target" >&2 || die "building the host tools failed"
	echo "$target/release"
	;;
markctl-static)
	[ -f /usr/lib/x86_64-linux-gnu/libc.a ] ||
		die "no /usr/lib/x86_64-linux-gnu/libc.a: install libc6-dev for a static markctl"
	fetch
	# With --target, RUSTFLAGS reach only the target's crates, not the
	# build scripts and proc macros, which stay dynamic host programs.
	RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
		cargo build --quiet --release --offline --locked --manifest-path "$manifest" \
		--target-dir "$target" --target "$static_triple" -p markctl --bin markctl >&2 ||
		die "building the static markctl failed"
	bin=$target/$static_triple/release/markctl
	# file(1) says "statically linked" or, for a static PIE, "static-pie
	# linked"; either way the binary has no interpreter to ask for.
	if command -v file >/dev/null; then
		file -L "$bin" | grep -Eq 'static(ally|-pie) linked' ||
			die "$bin is not statically linked: $(file -L "$bin")"
	fi
	echo "$bin"
	;;
fetch)
	fetch
	;;
*)
	die "usage: build-tools.sh [markctl-static | fetch]"
	;;
esac
