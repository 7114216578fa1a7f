#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Extract the shell examples of the documentation, for the guest to run.

Usage: doc-examples.py [-o OUT] FILE...

FILE is reStructuredText (Documentation/*.rst) or Markdown (README.md).
Every ``.. code-block:: console`` block (in Markdown, a ```console fence) is
a transcript run in the test VM by tools/testing/guest/tests/80-doc-examples.sh:

- a line starting with ``# `` is a command, run as root by ``sh -c`` with
  stdout and stderr together, in a folder holding the project's modules
  (and the kit's samples, when built);
- the lines after it, up to the next command, are its expected output;
- ``...`` in a line matches any run of characters; a line that is only
  ``...`` matches any number of lines, up to the first line that matches
  the line after it (or every remaining line, at the end);
- trailing blanks are ignored.

Each block starts from the same state: markers.ko and markers_sample.ko
freshly loaded, nothing enabled.  An expected output therefore cannot show
a line starting with ``# ``; show such output through a filter.

Also checked here, on the host: Rust and C examples are ``literalinclude``s
of built files (an inline ``code-block:: rust`` or ``c`` is refused, since
nothing would catch it going stale), and every ``make TARGET`` in a ``sh``
block names a target of the top-level Makefile.

OUT (default: stdout) receives the blocks, each after a line
``@@@ FILE:LINE``.  Exit status 1 and a message per problem when a block
is malformed.
"""

import argparse
import os
import re
import shlex
import sys

RST_BLOCK = re.compile(r"^(\s*)\.\.\s+code-block::\s*(\S+)\s*$")
MD_FENCE = re.compile(r"^(\s*)```\s*(\S*)\s*$")
INLINE_CODE = {"rust", "c"}


def rst_blocks(lines):
    """(language, first line number, body lines) of every code-block."""
    i = 0
    while i < len(lines):
        m = RST_BLOCK.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2)
        start = i + 1
        i += 1
        # Options (":caption: ..."), then a blank line, then the body.
        while i < len(lines) and re.match(r"^\s+:[\w-]+:", lines[i]):
            i += 1
        body = []
        first = None
        while i < len(lines):
            line = lines[i]
            if line.strip() == "":
                body.append("")
            elif len(line) - len(line.lstrip()) > indent:
                if first is None:
                    first = i + 1
                body.append(line)
            else:
                break
            i += 1
        while body and body[-1] == "":
            body.pop()
        while body and body[0] == "":
            body.pop(0)
        width = min((len(l) - len(l.lstrip()) for l in body if l), default=0)
        yield lang, first or start, [l[width:] for l in body]


def md_blocks(lines):
    i = 0
    while i < len(lines):
        m = MD_FENCE.match(lines[i])
        if not m or not m.group(2):
            i += 1
            continue
        lang, start = m.group(2), i + 2
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        yield lang, start, body


def make_targets(root):
    targets = set()
    with open(os.path.join(root, "Makefile"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([a-z][\w-]*(?:\s+[a-z][\w-]*)*)\s*:(?!=)", line)
            if m:
                targets.update(m.group(1).split())
    return targets


def check_make(body, where, targets, errors):
    for line in body:
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            errors.append(f"{where}: cannot parse: {line}")
            continue
        if words[:1] != ["make"]:
            continue
        if "-C" in words or "-f" in words:
            continue  # another Makefile (the kernel's, for M=)
        for w in words[1:]:
            if w.startswith("-") or "=" in w:
                continue
            if w not in targets:
                errors.append(f"{where}: 'make {w}': no such target in Makefile")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    targets = make_targets(root)

    out, errors = [], []
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        rel = os.path.relpath(os.path.abspath(path), root)
        blocks = md_blocks(lines) if path.endswith(".md") else rst_blocks(lines)
        for lang, lineno, body in blocks:
            where = f"{rel}:{lineno}"
            if lang in INLINE_CODE and not path.endswith(".md"):
                errors.append(f"{where}: inline {lang} example: make it a "
                              "literalinclude of a file that is built")
            elif lang in ("sh", "shell", "bash"):
                check_make(body, where, targets, errors)
            elif lang == "console":
                if not body or not body[0].startswith("# "):
                    errors.append(f"{where}: a console example starts with "
                                  "a '# ' command line")
                    continue
                out.append(f"@@@ {where}")
                out.extend(l.rstrip() for l in body)
    for e in errors:
        print(f"doc-examples: {e}", file=sys.stderr)
    if errors:
        return 1
    text = "\n".join(out) + "\n" if out else ""
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    n = sum(1 for l in out if l.startswith("@@@ "))
    print(f"{n} console examples from {len(args.files)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
