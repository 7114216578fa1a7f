// SPDX-License-Identifier: GPL-2.0

//! A first measurement of a site's cost, in guest instructions.
//!
//! Run it in the test VM under `qemu -icount shift=0,sleep=off` with one
//! vCPU, where the TSC advances one tick per guest instruction
//! (`scripts/bench.sh` does). Each case runs a loop of `ITERS` iterations
//! with interrupts off and prints ticks per iteration above an empty loop:
//! a disabled site, an enabled site without probes, with one empty probe
//! (C ABI and typed Rust). Loading prints the numbers and fails with
//! `-EAGAIN` so that nothing stays loaded.

use core::ffi::c_void;
use core::hint::black_box;

use kernel::prelude::*;
use markers::mark;
use markers::probe::{Probe, NO_FLAGS};
use markers::sys::{
    markers_disable, markers_enable, markers_probe_register_many, markers_probe_unregister_many,
    RawProbe,
};

module! {
    type: Bench,
    name: "markers_bench",
    author: "The markers developers",
    description: "Instruction counts of marker sites",
    license: "GPL",
}

const ITERS: u64 = 1_000_000;

#[inline(always)]
fn tsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: `lfence; rdtsc` reads the time stamp counter, ordered after
    // earlier instructions.
    unsafe {
        core::arch::asm!("lfence", "rdtsc", out("eax") lo, out("edx") hi, options(nostack, nomem))
    };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Runs `f` with interrupts off and returns the TSC delta.
fn timed(f: fn(u64), n: u64) -> u64 {
    let flags: u64;
    // SAFETY: saves the flags and disables interrupts; restored below.
    unsafe { core::arch::asm!("pushfq", "pop {}", "cli", out(reg) flags, options(nomem)) };
    let t0 = tsc();
    f(n);
    let t1 = tsc();
    // SAFETY: restores the saved flags (and with them the interrupt state).
    unsafe { core::arch::asm!("push {}", "popfq", in(reg) flags, options(nomem)) };
    t1 - t0
}

#[inline(never)]
fn empty_loop(n: u64) {
    for i in 0..n {
        black_box(i);
    }
}

#[inline(never)]
fn site_loop(n: u64) {
    for i in 0..n {
        mark!(bench_site, "i={}", i);
        black_box(i);
    }
}

/// An empty probe with the C ABI.
///
/// # Safety
///
/// Called by `markers.ko` as a probe.
unsafe extern "C" fn empty_c(_data: *mut c_void, _i: u64) {}

fn empty_rust(_: &(), _: (u64,)) {}

fn per_iter(ticks: u64, base: u64) -> (u64, u64) {
    let x = ticks.saturating_sub(base) * 1000 / ITERS;
    (x / 1000, x % 1000)
}

struct Bench;

impl kernel::Module for Bench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let base = timed(empty_loop, ITERS);
        let disabled = timed(site_loop, ITERS);
        // SAFETY: NUL-terminated name.
        unsafe { markers_enable(c"bench_site".as_ptr().cast()) };
        let enabled = timed(site_loop, ITERS);
        let raw = RawProbe {
            name: c"bench_site".as_ptr().cast(),
            sig: c"L".as_ptr().cast(),
            func: empty_c as *const c_void,
            data: core::ptr::null_mut(),
            flags: 0,
        };
        // SAFETY: a valid entry.
        let r = unsafe { markers_probe_register_many(&raw, 1) };
        let one_c = timed(site_loop, ITERS);
        // SAFETY: the same entry.
        unsafe { markers_probe_unregister_many(&raw, 1) };
        let p = Probe::<(u64,), ()>::register(c"bench_site", empty_rust, (), NO_FLAGS)?;
        let one_rust = timed(site_loop, ITERS);
        drop(p);
        // SAFETY: NUL-terminated name.
        unsafe { markers_disable(c"bench_site".as_ptr().cast()) };
        pr_info!("empty loop: {} ticks per iteration\n", base / ITERS);
        for (name, t) in [
            ("disabled site", disabled),
            ("enabled site, no probe", enabled),
            ("enabled site, one empty C probe", one_c),
            ("enabled site, one empty Rust probe", one_rust),
        ] {
            let (i, f) = per_iter(t, base);
            pr_info!("{}: +{}.{:03} ticks per iteration\n", name, i, f);
        }
        pr_info!("(register {})\n", r);
        Err(EAGAIN)
    }
}
