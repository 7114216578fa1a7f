#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the host tools under tools/ (a cargo workspace) and print the folder
# holding their binaries.  Uses the machine's cargo; the tools have no
# dependencies outside the workspace, so no network is needed.

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")

command -v cargo >/dev/null || die "cargo not found: the host tools need a Rust toolchain"
target=${CARGO_TARGET_DIR:-$root/tools/target}
cargo build --quiet --release --offline --manifest-path "$root/tools/Cargo.toml" \
	--target-dir "$target" >&2 || die "building the host tools failed"
echo "$target/release"
