#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the marker sites of built modules, on the host, from their ELF.

For every entry of a module's __markers section, find the site through the
entry's relocation and check that:

- the site holds the 5-byte NOP 0f 1f 44 00 00 (`objdump -d` shows
  `nopl 0x0(%rax,%rax,1)`);
- no instruction in the 16 bytes before the site refers to the site's own
  data (a relocation against a mark! static or descriptor): the disabled
  path has no marker-related load or compare;
- the jump target lies in the same section as the site;
- the site has a __jump_table entry (struct jump_entry) with the same jump
  target and the branch and init flags clear: it keeps kprobes off the site
  and tells objtool about the edge to the block (rust/markers/site.rs).

Prints one line per site with the disassembly leading up to it, a summary,
and exits non-zero on any failure.

Usage: scripts/check-sites.py [--quiet] MODULE.ko...
"""

import bisect
import struct
import subprocess
import sys

NOP5 = bytes([0x0F, 0x1F, 0x44, 0x00, 0x00])
R_X86_64_PC32 = 2
R_X86_64_PC64 = 24
ENTRY_SIZE = 16


class Elf:
    """The little of ELF64 relocatable objects this check needs."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise ValueError(f"{path}: not a little-endian ELF64 file")
        (shoff,) = struct.unpack_from("<Q", d, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
        self.sections = []
        for i in range(shnum):
            name, typ, flags, addr, off, size, link, info, align, entsize = \
                struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize)
            self.sections.append(dict(name=name, type=typ, off=off, size=size,
                                      link=link, info=info, entsize=entsize))
        strtab = self.sections[shstrndx]
        for s in self.sections:
            s["name"] = self.cstr(strtab["off"] + s["name"])
        self.symtab = next((s for s in self.sections if s["type"] == 2), None)

    def cstr(self, off):
        end = self.data.index(b"\0", off)
        return self.data[off:end].decode()

    def section(self, name):
        return next((i for i, s in enumerate(self.sections) if s["name"] == name), None)

    def bytes_of(self, idx, off, n):
        s = self.sections[idx]
        return self.data[s["off"] + off:s["off"] + off + n]

    def symbol(self, i):
        st = self.symtab
        name, info, other, shndx, value, size = struct.unpack_from(
            "<IBBHQQ", self.data, st["off"] + i * 24)
        strs = self.sections[st["link"]]
        return dict(name=self.cstr(strs["off"] + name), shndx=shndx, value=value)

    def relas(self, target_idx):
        """Relocations that apply to section `target_idx`."""
        out = []
        for s in self.sections:
            if s["type"] == 4 and s["info"] == target_idx:  # SHT_RELA
                for k in range(s["size"] // 24):
                    off, info, addend = struct.unpack_from(
                        "<QQq", self.data, s["off"] + k * 24)
                    out.append((off, info & 0xFFFFFFFF, info >> 32, addend))
        return out


_disasm = {}


def context(ko, section, site):
    """The three instructions before the site, and the site's."""
    key = (ko, section)
    if key not in _disasm:
        out = subprocess.run(
            ["objdump", "-d", "--no-show-raw-insn", "-j", section, ko],
            capture_output=True, text=True, check=True).stdout
        lines = [line.strip() for line in out.splitlines()
                 if line[:1] == " " and ":" in line]
        # Each instruction's index by address (a module may have 10,000 sites).
        _disasm[key] = (lines, {int(line.split(":")[0], 16): i
                                for i, line in enumerate(lines)})
    lines, at = _disasm[key]
    i = at.get(site)
    if i is not None:
        return lines[max(0, i - 3):i + 1]
    return [f"(no instruction starts at {site:#x})"]


def jump_entries(elf):
    """{(section, site offset): (target (section, offset), key flags)} of
    the module's __jump_table."""
    idx = elf.section("__jump_table")
    if idx is None:
        return {}
    by_off = {off: (typ, sym, add) for off, typ, sym, add in elf.relas(idx)}
    out = {}
    for e in range(elf.sections[idx]["size"] // ENTRY_SIZE):
        code = by_off.get(e * ENTRY_SIZE)
        target = by_off.get(e * ENTRY_SIZE + 4)
        key = by_off.get(e * ENTRY_SIZE + 8)
        if not code or not target or not key:
            continue
        c, t = elf.symbol(code[1]), elf.symbol(target[1])
        out[(c["shndx"], c["value"] + code[2])] = (
            (t["shndx"], t["value"] + target[2]), key[2] & 3)
    return out


def check(ko, quiet):
    elf = Elf(ko)
    idx = elf.section("__markers")
    if idx is None:
        print(f"{ko}: no __markers section")
        return 0, 0
    jumps = jump_entries(elf)
    relas = elf.relas(idx)
    by_off = {off: (typ, sym, add) for off, typ, sym, add in relas}
    n = elf.sections[idx]["size"] // ENTRY_SIZE
    passed = failed = 0
    text_relas = {}  # by section, sorted by offset
    for e in range(n):
        code = by_off.get(e * ENTRY_SIZE)
        target = by_off.get(e * ENTRY_SIZE + 4)
        problems = []
        if not code or code[0] != R_X86_64_PC32 or not target:
            print(f"not ok {ko}: entry {e}: no PC32 relocations for site and target")
            failed += 1
            continue
        csym = elf.symbol(code[1])
        tsym = elf.symbol(target[1])
        sec = csym["shndx"]
        site = csym["value"] + code[2]
        secname = elf.sections[sec]["name"]
        # `.long 2b - .` at offset 0 of the entry: addend = site offset.
        if elf.bytes_of(sec, site, 5) != NOP5:
            problems.append(f"bytes {elf.bytes_of(sec, site, 5).hex(' ')} are not the NOP")
        if tsym["shndx"] != sec:
            problems.append("jump target in another section")
        jump = jumps.get((sec, site))
        if jump is None:
            problems.append("no __jump_table entry")
        elif jump != ((tsym["shndx"], tsym["value"] + target[2]), 0):
            problems.append("__jump_table entry with another target or flags set")
        # What refers to marker data just before the site?
        if sec not in text_relas:
            text_relas[sec] = sorted(elf.relas(sec))
        relas_sec = text_relas[sec]
        lo = bisect.bisect_left(relas_sec, (site - 16,))
        hi = bisect.bisect_left(relas_sec, (site,))
        for off, typ, sym, add in relas_sec[lo:hi]:
            if site - 16 <= off < site:
                name = elf.symbol(sym)["name"]
                if "__MK_" in name or "mkdesc" in name:
                    problems.append(f"instruction before the site refers to {name}")
        ctx = context(ko, secname, site)
        label = f"{ko}: {secname}+{site:#x}"
        if problems:
            print(f"not ok {label}: " + "; ".join(problems))
            failed += 1
        else:
            print(f"ok {label}: 5-byte NOP, in __jump_table")
            passed += 1
        if not quiet or problems:
            for line in ctx:
                print(f"#    {line}")
    return passed, failed


def main():
    args = sys.argv[1:]
    quiet = "--quiet" in args
    kos = [a for a in args if a != "--quiet"]
    if not kos:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    passed = failed = 0
    for ko in kos:
        p, f = check(ko, quiet)
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
