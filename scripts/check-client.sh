#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build tools/testing/client, a module outside the tree, in a scratch copy:
# with the documented boilerplate it must build; without the linker script it
# must fail at modpost, naming __markers_start.  Prints KTAP-style lines and
# "N passed, N failed".
#
# Usage: scripts/check-client.sh KDIR   (after the project's modules are built)

set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")
kdir=${1:?usage: check-client.sh KDIR}

export PATH=/usr/bin:$PATH
kmake_vars "$kdir"
passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build() { # DIR [make args]
	local dir=$1
	shift
	make -C "$kdir" M="$dir" "${KMAKE_VARS[@]}" MARKERS_DIR="$root" "$@" modules
}

cp -r "$root/tools/testing/client" "$work/ok"
if build "$work/ok" >"$work/ok.log" 2>&1 && [ -f "$work/ok/markers_client.ko" ] &&
	[ -f "$work/ok/markers_client_tracer.ko" ] &&
	python3 "$here/check-sites.py" --quiet "$work/ok/markers_client.ko" >>"$work/ok.log" 2>&1; then
	echo "ok - an out-of-tree Rust client (mark! and a typed probe) and a C tracer build with the documented boilerplate"
	passed=$((passed + 1))
else
	sed 's/^/# /' "$work/ok.log"
	echo "not ok - an out-of-tree Rust client (mark! and a typed probe) and a C tracer build with the documented boilerplate"
	failed=$((failed + 1))
fi

cp -r "$root/tools/testing/client" "$work/nolds"
if ! build "$work/nolds" CLIENT_NO_LDS=1 >"$work/nolds.log" 2>&1 &&
	grep -q '"__markers_start" .* undefined' "$work/nolds.log"; then
	echo "ok - a client without the linker script fails at modpost"
	passed=$((passed + 1))
else
	sed 's/^/# /' "$work/nolds.log"
	echo "not ok - a client without the linker script fails at modpost"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
