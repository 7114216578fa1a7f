#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the guest's benchmark output into a table and bench/results.json.

`scripts/bench.sh` boots the VM twice and saves what the guest printed:

- the instruction counts (`-icount shift=0,sleep=off`, one vCPU): one line
  per subject from markers_bench.ko,
  `markers_bench: subject=NAME insns=X min=X max=X base=NAME base_insns=X
  iters=N reps=N`;
- the wall times (plain TCG): the toggle lines of `markers_bench.ko
  toggle=1` (`toggle ...` for markers, `keys ...` for static keys) and the
  insmod times of markers_bench_sites.ko and markers_bench_nosites.ko, from
  the timestamps of `load ... start`/`end` lines the guest wrote to
  /dev/kmsg around each insmod.

The sizes per site are read on the host from the built modules (readelf,
nm). Exits non-zero when a subject is missing.

Usage: scripts/bench-report.py --icount FILE [--wall FILE] --modules DIR
                               --out results.json
"""

import argparse
import json
import re
import statistics
import subprocess
import sys

# Subjects of the instruction run, in the order of the table, with the
# results.json key of those the issue names.
SUBJECTS = [
    ("disabled", "disabled mark!", "disabled_extra_insns"),
    ("flag", "global flag test (2006: load, test, branch)", "flag_extra_insns"),
    ("static_key", "static key, disabled (C)", "static_key_extra_insns"),
    ("tracepoint_disabled", "tracepoint, no probe (C)", None),
    ("enabled_no_probe", "mark! enabled, no probe", "enabled_no_probe_insns"),
    ("enabled_one_probe", "mark! enabled, one empty C probe", "enabled_one_probe_insns"),
    ("enabled_one_rust_probe", "mark! enabled, one empty typed Rust probe",
     "enabled_one_rust_probe_insns"),
    ("enabled_three_probes", "mark! enabled, three empty C probes",
     "enabled_three_probes_insns"),
    ("args_ints", "mark!(u8, i32, u64), one C probe", None),
    ("args_cstr", "mark!(&CStr), one C probe", None),
    ("args_bytes", "mark!(&[u8]), one C probe", None),
    ("args_user", "mark!(user MarkerArg type), one C probe", None),
    ("tracepoint_one_probe", "tracepoint, one empty probe (C)", "tracepoint_one_probe_insns"),
    ("tracepoint_three_probes", "tracepoint, three empty probes (C)",
     "tracepoint_three_probes_insns"),
    ("event_marker", "mark!(u32, &CStr) recording through its trace event",
     "event_marker_insns"),
    ("event_trace_event", "kernel TRACE_EVENT (u32, string), same buffer (C)",
     "event_trace_event_insns"),
    ("kprobe_hit", "int3 kprobe hit (pre + post handler)", "kprobe_hit_insns"),
    ("print_probe", "mark! with the built-in print probe", None),
]

SUBJECT_RE = re.compile(
    r"markers_bench: subject=(\S+) insns=(\S+) min=(\S+) max=(\S+) base=(\S+) "
    r"base_insns=(\S+) iters=(\d+) reps=(\d+)")
TOGGLE_RE = re.compile(
    r"markers_bench: toggle sites=(\d+) markers=(\d+) how=(\w+) op=(\w+) rep=(\d+) "
    r"ns=(\d+) syncs=(\d+) int3=(\d+) rewrites=(\d+) err=(-?\d+)")
KEYS_RE = re.compile(r"markers_bench: keys sites=(\d+) op=(\w+) rep=(\d+) ns=(\d+)")
LOAD_RE = re.compile(
    r"\[\s*(\d+\.\d+)\] markers_bench: load module=(\w+) rep=(\d+) (start|end)")
SITES_RE = re.compile(r"markers: module markers_bench_sites: (\d+) sites")

SITES_KO = "markers_bench_sites.ko"
NOSITES_KO = "markers_bench_nosites.ko"


def parse_icount(text):
    out = {}
    for m in SUBJECT_RE.finditer(text):
        name, insns, lo, hi, base, base_insns, iters, reps = m.groups()
        out[name] = {
            "insns": float(insns),
            "min": float(lo),
            "max": float(hi),
            "baseline": base,
            "baseline_insns": float(base_insns),
            "iters": int(iters),
            "reps": int(reps),
        }
    return out


def parse_toggles(text):
    """{(sites, how, op): {...}} with medians over the repetitions."""
    runs, keys = {}, {}
    for m in TOGGLE_RE.finditer(text):
        sites, markers, how, op, _rep, ns, syncs, int3, rewrites, err = m.groups()
        r = runs.setdefault((int(sites), how, op), dict(
            markers=int(markers), ns=[], syncs=[], int3=[], rewrites=[], err=[]))
        r["ns"].append(int(ns))
        r["syncs"].append(int(syncs))
        r["int3"].append(int(int3))
        r["rewrites"].append(int(rewrites))
        r["err"].append(int(err))
    for m in KEYS_RE.finditer(text):
        sites, op, _rep, ns = m.groups()
        keys.setdefault((int(sites), op), []).append(int(ns))
    out = {}
    for (sites, how, op), r in sorted(runs.items()):
        base = keys.get((sites, op), [])
        ns = statistics.median(r["ns"])
        base_ns = statistics.median(base) if base else None
        out[f"toggle_{how}_{op}_{sites}_sites"] = {
            "sites": sites,
            "markers": r["markers"],
            "how": "one batch (markers_update)" if how == "batch" else "one marker at a time",
            "op": "enable" if op == "on" else "disable",
            "ns": ns,
            "baseline": f"{sites} static keys, one site each, toggled in a loop",
            "baseline_ns": base_ns,
            "ratio": round(ns / base_ns, 4) if base_ns else None,
            # Deterministic counts: the largest seen (they should not vary).
            "sync_rounds": max(r["syncs"]),
            "int3": max(r["int3"]),
            "rewrites": max(r["rewrites"]),
            "errors": [e for e in r["err"] if e],
            "reps": len(r["ns"]),
        }
    return out


HEAP_RE = re.compile(r"markers_bench: heap module=(\w+) rep=(\d+) kib=(-?\d+)")


def parse_heap(text):
    """Kernel memory (slab and per-CPU, KiB) each load of a module took."""
    out = {}
    for m in HEAP_RE.finditer(text):
        out.setdefault(m.group(1), []).append(int(m.group(3)))
    return out


def parse_loads(text):
    """Median insmod time (µs) per module, from the kmsg timestamps."""
    marks = {}
    for m in LOAD_RE.finditer(text):
        t, mod, rep, which = m.groups()
        marks.setdefault((mod, int(rep)), {})[which] = float(t)
    times = {}
    for (mod, _rep), se in marks.items():
        if "start" in se and "end" in se:
            times.setdefault(mod, []).append((se["end"] - se["start"]) * 1e6)
    return times


def section_sizes(ko):
    out = subprocess.run(["readelf", "-SW", ko], capture_output=True, text=True,
                         check=True).stdout
    sizes = {}
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            sizes[m.group(1)] = int(m.group(2), 16)
    return sizes


def symbols(ko):
    """[(name, size)] of the module's defined symbols."""
    out = subprocess.run(["nm", "-S", "--defined-only", ko], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            syms.append((parts[3], int(parts[1], 16)))
    return syms


def site_sizes(moddir, sites):
    """Bytes per site of the 10,000-site client, against its twin without
    markers (the same generated source, markers_bench_gen.rs).

    resident_bytes_per_site is every byte a site keeps in memory once its
    module is loaded, divided by the module's sites:

        ( __markers                      the site's entry
        + __jump_table                   its struct jump_entry (16 B)
        + d(.orc_unwind + .orc_unwind_ip)  ORC entries objtool added for the
                                         enabled blocks: the difference to
                                         the twin without markers
        + .rodata.markers_desc           one descriptor per mark! invocation
        + __MK_STATE symbols (SiteState)   one per invocation (.bss/.data)
        + __MK_KEY symbols (JumpKey)       one per invocation (.bss)
        + __MK_NAME_BYTES, __MK_FMT_BYTES  name and format, per invocation
        + .kprobes.text                  one 5-byte trampoline per invocation
        ) / sites

    Per-invocation pieces are shared by the invocation's inlined copies: the
    client has 100 invocations of 100 sites each. Not counted, reported
    apart: the text the enabled blocks add (d(.text) / sites), the module
    symbols kallsyms keeps for the per-invocation statics, and what
    markers.ko allocates per registered site (its registry and int3 table,
    in the kernel heap, not visible in the .ko).
    """
    s = section_sizes(f"{moddir}/{SITES_KO}")
    n = section_sizes(f"{moddir}/{NOSITES_KO}")
    syms = symbols(f"{moddir}/{SITES_KO}")

    def sym_bytes(tag):
        # The descriptor and trampoline symbols are named after the state
        # (`<state>.mkdesc...`, `<state>.mktramp...`): counted by section.
        return sum(size for name, size in syms if tag in name and ".mk" not in name)

    def delta(sec):
        return s.get(sec, 0) - n.get(sec, 0)

    parts = {
        "__markers": s.get("__markers", 0),
        "__jump_table": delta("__jump_table"),
        "orc": delta(".orc_unwind") + delta(".orc_unwind_ip"),
        ".rodata.markers_desc": s.get(".rodata.markers_desc", 0),
        "SiteState": sym_bytes("__MK_STATE"),
        "JumpKey": sym_bytes("__MK_KEY"),
        "name_and_format": sym_bytes("__MK_NAME_BYTES") + sym_bytes("__MK_FMT_BYTES"),
        ".kprobes.text": s.get(".kprobes.text", 0),
    }
    kept = [name for name, _ in syms
            if "__MK_" in name or ".mkdesc." in name or ".mktramp." in name]
    # An Elf64_Sym (24 B), its name and NUL, its kallsyms type byte.
    kallsyms = sum(24 + len(name) + 1 + 1 for name in kept)
    resident = sum(parts.values())
    return {
        "sites": sites,
        "bytes_per_site": s.get("__markers", 0) / sites,
        "resident_bytes_per_site": resident / sites,
        "resident_parts_per_site": {k: v / sites for k, v in parts.items()},
        "text_bytes_per_site": delta(".text") / sites,
        "kallsyms_bytes_per_site": kallsyms / sites,
        "module": SITES_KO,
        "baseline": NOSITES_KO,
    }


def fmt(x, unit=""):
    if x is None:
        return "-"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:.3f}{unit}"
    return f"{int(x)}{unit}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--icount", required=True)
    ap.add_argument("--wall")
    ap.add_argument("--modules", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    with open(a.icount, errors="replace") as f:
        icount_text = f.read()
    subj = parse_icount(icount_text)
    missing = [name for name, _, _ in SUBJECTS if name not in subj]

    wall_text = ""
    if a.wall:
        with open(a.wall, errors="replace") as f:
            wall_text = f.read()
    toggles = parse_toggles(wall_text)
    loads = parse_loads(wall_text)
    heaps = parse_heap(wall_text)
    m = SITES_RE.search(wall_text)
    sites = int(m.group(1)) if m else 10000
    sizes = site_sizes(a.modules, sites)

    res = {}
    for name, _, key in SUBJECTS:
        if key and name in subj:
            res[key] = subj[name]["insns"]
    batch = toggles.get("toggle_batch_on_10000_sites")
    res["toggle_sync_rounds_10000_sites"] = batch["sync_rounds"] if batch else None
    res["bytes_per_site"] = sizes["bytes_per_site"]
    res["resident_bytes_per_site"] = sizes["resident_bytes_per_site"]
    load = None
    if SITES_KO[:-3] in loads and NOSITES_KO[:-3] in loads:
        t, b = loads[SITES_KO[:-3]], loads[NOSITES_KO[:-3]]
        load = {
            "us": statistics.median(t),
            "baseline": f"{NOSITES_KO} (the same source without markers)",
            "baseline_us": statistics.median(b),
            "ratio": round(statistics.median(t) / statistics.median(b), 4),
            "reps": min(len(t), len(b)),
            "all_us": [round(x) for x in t],
            "all_baseline_us": [round(x) for x in b],
        }
        res["load_ratio_10000_sites"] = load["ratio"]
    heap = None
    if SITES_KO[:-3] in heaps and NOSITES_KO[:-3] in heaps:
        h, hb = heaps[SITES_KO[:-3]], heaps[NOSITES_KO[:-3]]
        heap = {
            "kib": statistics.median(h),
            "baseline_kib": statistics.median(hb),
            "all_kib": h,
            "all_baseline_kib": hb,
            "bytes_per_site": round((statistics.median(h) - statistics.median(hb)) * 1024 / sites, 1),
        }
        res["heap_bytes_per_site"] = heap["bytes_per_site"]
    res["heap_10000_sites"] = heap
    res["subjects"] = subj
    res["toggles"] = toggles
    res["load_10000_sites"] = load
    res["sizes"] = sizes
    res["missing"] = missing
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")

    print("Guest instructions per iteration above the baseline loop "
          "(-icount shift=0, 1 vCPU, irqs off)")
    print(f"  {'subject':48} {'insns':>9} {'baseline':>11} {'reps':>5}")
    for name, label, _ in SUBJECTS:
        r = subj.get(name)
        if r is None:
            print(f"  {label:48} {'MISSING':>9}")
            continue
        spread = "" if r["min"] == r["max"] else f"  ({fmt(r['min'])}..{fmt(r['max'])})"
        print(f"  {label:48} {fmt(r['insns']):>9} {r['baseline']:>11} {r['reps']:>5}{spread}")
    ev, te = subj.get("event_marker"), subj.get("event_trace_event")
    if ev and te:
        verdict = "not more" if ev["insns"] <= te["insns"] else "MORE"
        print(f"  trace event: a marker's costs {fmt(ev['insns'])} instructions per hit, "
              f"a kernel TRACE_EVENT {fmt(te['insns'])}: {verdict}")
    if toggles:
        print()
        print("Toggle cost under plain TCG: markers against as many static keys "
              "(wall time, median)")
        print(f"  {'sites':>6} {'markers':>7} {'how':>6} {'op':>8} {'syncs':>6} "
              f"{'int3':>5} {'markers ms':>11} {'keys ms':>9} {'ratio':>7} {'reps':>5}")
        for r in toggles.values():
            how = "batch" if r["how"].startswith("one batch") else "each"
            print(f"  {r['sites']:>6} {r['markers']:>7} {how:>6} {r['op']:>8} "
                  f"{r['sync_rounds']:>6} {r['int3']:>5} {r['ns'] / 1e6:>11.2f} "
                  f"{(r['baseline_ns'] or 0) / 1e6:>9.2f} {fmt(r['ratio']):>7} {r['reps']:>5}")
    if load:
        print()
        print(f"Module load, {sites} sites: insmod {load['us'] / 1000:.2f} ms against "
              f"{load['baseline_us'] / 1000:.2f} ms without markers: ratio "
              f"{load['ratio']:.2f} (median of {load['reps']})")
    if heap:
        print(f"Kernel heap per site (slab and per-CPU, {sites} sites, against the twin "
              f"without markers): {fmt(heap['bytes_per_site'])} bytes "
              f"(registry, hit counters, sysfs directories; medians of "
              f"{len(heap['all_kib'])} loads)")
    print()
    p = sizes["resident_parts_per_site"]
    print(f"Bytes per site ({sizes['sites']} sites, {SITES_KO}): __markers "
          f"{fmt(sizes['bytes_per_site'])}; resident {fmt(sizes['resident_bytes_per_site'])} = "
          + " + ".join(f"{k} {fmt(v)}" for k, v in p.items()))
    print(f"  not in it: enabled-block text {fmt(sizes['text_bytes_per_site'])}, "
          f"kallsyms {fmt(sizes['kallsyms_bytes_per_site'])}, markers.ko's per-site heap "
          f"(above)")
    print()
    print(f"wrote {a.out}")
    if missing:
        print(f"missing subjects: {' '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
