#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make docs`: the documentation as HTML, built by Sphinx with every warning
# an error (a broken reference, a literalinclude whose file or anchor text
# went away, a malformed table), and its console examples extracted for the
# guest test that runs them (tools/testing/guest/tests/80-doc-examples.sh,
# via scripts/doc-examples.py, which also refuses inline Rust and C examples
# and `make` targets that do not exist).
#
# Usage: scripts/docs.sh [OUTDIR]    (default Documentation/output; prints
# the index page)

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(dirname "$here")
out=${1:-$root/Documentation/output}

[ -x /usr/bin/sphinx-build ] ||
	die "sphinx-build not found: install python3-sphinx (make toolchain)"

/usr/bin/python3 "$here/doc-examples.py" -o "$root/tools/testing/guest/doc-examples.txt" \
	"$root"/Documentation/*.rst "$root/README.md"
/usr/bin/sphinx-build -q -W --keep-going -b html -d "$out/doctrees" \
	"$root/Documentation" "$out/html"
echo "$out/html/index.html"
