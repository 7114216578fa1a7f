// SPDX-License-Identifier: GPL-2.0

//! The cost of a marker site, beside the kernel's own mechanisms.
//!
//! Instruction counts (the default): run in the test VM under
//! `qemu -icount shift=0,sleep=off` with one vCPU, where the TSC advances one
//! tick per guest instruction (`scripts/bench.sh` does). Each subject is a
//! loop of `iters` iterations (a module parameter, see
//! `markers_bench_glue.c`), run with interrupts off, `reps` times; it is
//! reported as instructions per iteration above its baseline, a loop of the
//! same shape without the subject:
//!
//! - Rust loops, above the empty Rust loop: a disabled `mark!`, a global
//!   flag test (the 2006 markers: load, test, branch to an out-of-line
//!   call), `mark!` enabled with no probe, one empty C probe, one empty typed
//!   Rust probe, three probes, arguments of each kind, the print probe;
//! - C loops, above the empty C loop: a disabled static key, a tracepoint
//!   with no, one and three empty probes;
//! - an int3 kprobe (pre and post handler) on an instruction of a C loop,
//!   above the same loop unprobed.
//!
//! With `toggle=1` (plain TCG, `markers_bench_toggle.ko` and
//! `markers_bench_sites.ko` loaded) it measures instead the cost of toggling
//! markers against static keys (`markers_bench_toggle_run` in the glue).
//!
//! Every result is one `pr_info!` line, parsed by `scripts/bench-report.py`.
//! The measurements run in `init`, which succeeds even when one fails (the
//! report says `end rc=...`): a failing init would be run twice, since
//! busybox's insmod retries a failed `finit_module` with `init_module`.
//! Unload it afterwards.

use core::ffi::{c_char, c_int, c_uint, c_ulong, CStr};
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::prelude::*;
use markers::mark;
use markers::sys::{markers_disable, markers_enable};
use markers::MarkerArg;

module! {
    type: Bench,
    name: "markers_bench",
    author: "The markers developers",
    description: "Instruction counts and toggle costs of marker sites",
    license: "GPL",
}

/// The C half: `markers_bench_glue.h`.
mod glue {
    use super::*;

    extern "C" {
        pub(crate) static markers_bench_iters: c_ulong;
        pub(crate) static markers_bench_slow_iters: c_ulong;
        pub(crate) static markers_bench_reps: c_uint;
        pub(crate) static markers_bench_toggle: bool;

        pub(crate) fn markers_bench_c_empty(n: u64);
        pub(crate) fn markers_bench_key_loop(n: u64);
        pub(crate) fn markers_bench_tp_loop(n: u64);
        pub(crate) fn markers_bench_ev_loop(n: u64);
        pub(crate) fn markers_bench_event_set(
            system: *const c_char,
            event: *const c_char,
            set: c_int,
        ) -> c_int;
        pub(crate) fn markers_bench_kp_loop(n: u64);

        pub(crate) fn markers_bench_tp_attach(nprobes: c_uint) -> c_int;
        pub(crate) fn markers_bench_tp_detach(nprobes: c_uint);
        pub(crate) fn markers_bench_kp_arm() -> c_int;
        pub(crate) fn markers_bench_kp_disarm();
        pub(crate) fn markers_bench_kp_flags() -> c_ulong;
        pub(crate) fn markers_bench_kp_hits() -> u64;

        pub(crate) fn markers_bench_attach_c(
            name: *const c_char,
            sig: *const c_char,
            nprobes: c_uint,
        ) -> c_int;
        pub(crate) fn markers_bench_detach_c(name: *const c_char, nprobes: c_uint);
        pub(crate) fn markers_bench_print_on(name: *const c_char) -> c_int;
        pub(crate) fn markers_bench_print_off(name: *const c_char);

        pub(crate) fn markers_bench_toggle_run(reps: c_uint) -> c_int;
    }
}

/// Probes on markers: every registration of the bench, one function per
/// subject, each returning a guard that detaches on drop. The C probes are
/// registered by `markers_bench_glue.c` (its section "Probes on markers").
mod probes {
    use super::*;
    use markers::probe::{Probe, NO_FLAGS};

    /// C probes on a marker, detached on drop.
    pub(crate) struct CProbes {
        name: &'static CStr,
        n: c_uint,
    }

    impl Drop for CProbes {
        fn drop(&mut self) {
            // SAFETY: the probes `attach_c` registered.
            unsafe { glue::markers_bench_detach_c(self.name.as_ptr(), self.n) };
        }
    }

    fn attach_c(name: &'static CStr, sig: &'static CStr, n: c_uint) -> Result<CProbes> {
        // SAFETY: NUL-terminated static strings.
        let r = unsafe { glue::markers_bench_attach_c(name.as_ptr(), sig.as_ptr(), n) };
        kernel::error::to_result(r)?;
        Ok(CProbes { name, n })
    }

    /// One empty C probe on `bench_site` (`u64`).
    pub(crate) fn one_c() -> Result<CProbes> {
        attach_c(c"bench_site", c"L", 1)
    }

    /// Three empty C probes on `bench_site`.
    pub(crate) fn three_c() -> Result<CProbes> {
        attach_c(c"bench_site", c"L", 3)
    }

    /// One empty C probe on `bench_ints` (`u8, i32, u64`).
    pub(crate) fn ints_c() -> Result<CProbes> {
        attach_c(c"bench_ints", c"HiL", 1)
    }

    /// One empty C probe on `bench_cstr` (`&CStr`).
    pub(crate) fn cstr_c() -> Result<CProbes> {
        attach_c(c"bench_cstr", c"c", 1)
    }

    /// One empty C probe on `bench_bytes` (`&[u8]`).
    pub(crate) fn bytes_c() -> Result<CProbes> {
        attach_c(c"bench_bytes", c"y", 1)
    }

    /// One empty C probe on `bench_user` (a [`Ticks`], which travels as
    /// `u64`).
    pub(crate) fn user_c() -> Result<CProbes> {
        attach_c(c"bench_user", c"L", 1)
    }

    fn empty_rust(_: &(), _: (u64,)) {}

    /// One empty typed Rust probe on `bench_site`.
    pub(crate) fn one_rust() -> Result<Probe<(u64,), ()>> {
        Probe::<(u64,), ()>::register(c"bench_site", empty_rust, (), NO_FLAGS)
    }

    /// The built-in print probe on `bench_print`, detached on drop.
    pub(crate) struct Print;

    impl Drop for Print {
        fn drop(&mut self) {
            // SAFETY: a NUL-terminated static string.
            unsafe { glue::markers_bench_print_off(c"bench_print".as_ptr()) };
        }
    }

    pub(crate) fn print() -> Result<Print> {
        // SAFETY: a NUL-terminated static string.
        kernel::error::to_result(unsafe { glue::markers_bench_print_on(c"bench_print".as_ptr()) })?;
        Ok(Print)
    }
}

/// A marker argument of the bench's own type, passed as its `u64`.
#[derive(Clone, Copy)]
struct Ticks(u64);

impl MarkerArg for Ticks {
    type Repr = u64;
    #[inline(always)]
    fn to_repr(&self) -> u64 {
        self.0
    }
}

/// The 2006 markers' guard: a global flag read by a volatile load, tested,
/// and a branch to an out-of-line call. Never set.
static FLAG: AtomicBool = AtomicBool::new(false);

#[inline(never)]
#[cold]
fn flag_hit(i: u64) {
    black_box(i);
}

#[inline(never)]
fn rust_empty(n: u64) {
    for i in 0..n {
        black_box(i);
    }
}

#[inline(never)]
fn flag_loop(n: u64) {
    for i in 0..n {
        // SAFETY: a valid, aligned `bool` (the flag's storage); volatile so
        // that the load is one instruction of its own, as in 2006.
        if unsafe { core::ptr::read_volatile(FLAG.as_ptr()) } {
            flag_hit(i);
        }
        black_box(i);
    }
}

/// A loop with one marker site: `site_loop!(fn_name, marker, "format",
/// |i| args...)`.
macro_rules! site_loop {
    ($f:ident, $name:ident, $fmt:literal, |$i:ident| $($arg:expr),*) => {
        #[inline(never)]
        fn $f(n: u64) {
            for $i in 0..n {
                mark!($name, $fmt, $($arg),*);
                black_box($i);
            }
        }
    };
}

site_loop!(site_loop, bench_site, "i={}", |i| i);
site_loop!(
    ints_loop,
    bench_ints,
    "a={} b={} c={}",
    |i| i as u8,
    i as i32,
    i
);
site_loop!(cstr_loop, bench_cstr, "dev={}", |i| c"eth0");
site_loop!(bytes_loop, bench_bytes, "data={}", |i| &b"payload"[..]);
site_loop!(user_loop, bench_user, "t={}", |i| Ticks(i));
site_loop!(print_loop, bench_print, "i={}", |i| i);

fn c_empty(n: u64) {
    // SAFETY: a plain loop.
    unsafe { glue::markers_bench_c_empty(n) }
}

fn key_loop(n: u64) {
    // SAFETY: a plain loop.
    unsafe { glue::markers_bench_key_loop(n) }
}

fn tp_loop(n: u64) {
    // SAFETY: a plain loop.
    unsafe { glue::markers_bench_tp_loop(n) }
}

fn ev_trace_event_loop(n: u64) {
    // SAFETY: a plain loop.
    unsafe { glue::markers_bench_ev_loop(n) }
}

fn ev_marker_loop(n: u64) {
    for i in 0..n {
        // CAST: the length wraps; both loops pass the same values.
        mark!(bench_ev, "len={} dev={}", i as u32, c"bench0");
    }
}

/// Enables or disables the trace event `system:event` (top instance).
fn event_set(system: &CStr, event: &CStr, on: bool) -> Result {
    // SAFETY: NUL-terminated names.
    kernel::error::to_result(unsafe {
        glue::markers_bench_event_set(system.as_ptr(), event.as_ptr(), c_int::from(on))
    })
}

fn kp_loop(n: u64) {
    // SAFETY: a plain loop.
    unsafe { glue::markers_bench_kp_loop(n) }
}

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

/// Runs `f(n)` with interrupts off and returns the TSC delta.
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

/// At most this many repetitions are kept.
const REPS_MAX: usize = 16;

/// A loop's ticks over `reps` runs.
struct Runs {
    ticks: [u64; REPS_MAX],
    reps: usize,
}

impl Runs {
    /// Runs `f(n)` once untimed (warming caches, and under plain TCG the
    /// translation of the loop), then `reps` times timed.
    fn take(f: fn(u64), n: u64, reps: usize) -> Self {
        f(n);
        let mut r = Runs {
            ticks: [0; REPS_MAX],
            reps,
        };
        for t in r.ticks[..reps].iter_mut() {
            *t = timed(f, n);
        }
        r.ticks[..reps].sort_unstable();
        r
    }

    fn median(&self) -> u64 {
        self.ticks[self.reps / 2]
    }
}

/// Thousandths of an instruction per iteration, as `[-]I.FFF`.
struct Milli(i64);

impl core::fmt::Display for Milli {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{}{}.{:03}", sign, a / 1000, a % 1000)
    }
}

fn per_iter(ticks: u64, base: u64, n: u64) -> Milli {
    // CAST: tick counts of these loops are far below i64::MAX.
    let d = ticks as i64 - base as i64;
    Milli(d.saturating_mul(1000) / n.max(1) as i64)
}

/// Iterations and repetitions, from the module parameters.
struct Meter {
    iters: u64,
    slow_iters: u64,
    reps: usize,
}

impl Meter {
    /// Prints a subject's line: its runs `s` above the baseline runs `b`.
    fn report(&self, name: &str, s: &Runs, base_name: &str, b: &Runs, n: u64) {
        let bm = b.median();
        pr_info!(
            "subject={} insns={} min={} max={} base={} base_insns={} iters={} reps={}\n",
            name,
            per_iter(s.median(), bm, n),
            per_iter(s.ticks[0], bm, n),
            per_iter(s.ticks[s.reps - 1], bm, n),
            base_name,
            per_iter(bm, 0, n),
            n,
            s.reps
        );
    }

    /// Measures `f` above `base` with `n` iterations and reports it.
    fn subject(&self, name: &str, f: fn(u64), base_name: &str, base: fn(u64), n: u64) {
        let b = Runs::take(base, n, self.reps);
        let s = Runs::take(f, n, self.reps);
        self.report(name, &s, base_name, &b, n);
    }

    fn rust(&self, name: &str, f: fn(u64)) {
        self.subject(name, f, "rust_empty", rust_empty, self.iters);
    }

    fn c(&self, name: &str, f: fn(u64)) {
        self.subject(name, f, "c_empty", c_empty, self.iters);
    }
}

fn enable(name: &CStr) -> Result {
    // SAFETY: a NUL-terminated name.
    kernel::error::to_result(unsafe { markers_enable(name.as_ptr().cast()) })
}

fn disable(name: &CStr) {
    // SAFETY: a NUL-terminated name.
    let r = unsafe { markers_disable(name.as_ptr().cast()) };
    if r != 0 {
        pr_err!("disabling {:?} failed: {}\n", name, r);
    }
}

/// A marker recording through its trace event, beside a kernel trace event
/// with the same fields, to the same ring buffer.
fn trace_events(m: &Meter) -> Result {
    event_set(c"markers", c"bench_ev", true)?;
    m.subject(
        "event_marker",
        ev_marker_loop,
        "rust_empty",
        rust_empty,
        m.slow_iters,
    );
    event_set(c"markers", c"bench_ev", false)?;
    event_set(c"markers_bench", c"markers_bench_ev", true)?;
    m.subject(
        "event_trace_event",
        ev_trace_event_loop,
        "c_empty",
        c_empty,
        m.slow_iters,
    );
    event_set(c"markers_bench", c"markers_bench_ev", false)?;
    Ok(())
}

/// An int3 kprobe on an instruction of a C loop, above the same loop.
fn kprobe(m: &Meter) -> Result {
    // The probed loop, unprobed, is the kprobe's baseline.
    let n = m.slow_iters;
    let b = Runs::take(kp_loop, n, m.reps);
    // SAFETY: disarmed below, before the module can go.
    kernel::error::to_result(unsafe { glue::markers_bench_kp_arm() })?;
    // SAFETY: reads the armed kprobe's flags.
    let flags = unsafe { glue::markers_bench_kp_flags() };
    let s = Runs::take(kp_loop, n, m.reps);
    // SAFETY: reads a counter.
    let hits = unsafe { glue::markers_bench_kp_hits() };
    // SAFETY: the kprobe armed above.
    unsafe { glue::markers_bench_kp_disarm() };
    m.report("kprobe_hit", &s, "kp_loop", &b, n);
    pr_info!("kprobe flags={:#x} hits={}\n", flags, hits);
    Ok(())
}

/// The instruction counts, in the order `scripts/bench.sh` prints them.
fn instructions(m: &Meter) -> Result {
    m.rust("disabled", site_loop);
    m.rust("flag", flag_loop);
    m.c("static_key", key_loop);
    m.c("tracepoint_disabled", tp_loop);

    enable(c"bench_site")?;
    m.rust("enabled_no_probe", site_loop);
    {
        let _p = probes::one_c()?;
        m.rust("enabled_one_probe", site_loop);
    }
    {
        let _p = probes::one_rust()?;
        m.rust("enabled_one_rust_probe", site_loop);
    }
    {
        let _p = probes::three_c()?;
        m.rust("enabled_three_probes", site_loop);
    }
    disable(c"bench_site");
    {
        let _p = probes::ints_c()?;
        m.rust("args_ints", ints_loop);
    }
    {
        let _p = probes::cstr_c()?;
        m.rust("args_cstr", cstr_loop);
    }
    {
        let _p = probes::bytes_c()?;
        m.rust("args_bytes", bytes_loop);
    }
    {
        let _p = probes::user_c()?;
        m.rust("args_user", user_loop);
    }

    for (name, n) in [("tracepoint_one_probe", 1), ("tracepoint_three_probes", 3)] {
        // SAFETY: detached below, before the module can go.
        kernel::error::to_result(unsafe { glue::markers_bench_tp_attach(n) })?;
        m.c(name, tp_loop);
        // SAFETY: the probes attached above.
        unsafe { glue::markers_bench_tp_detach(n) };
    }

    trace_events(m)?;

    kprobe(m)?;

    {
        let _p = probes::print()?;
        m.subject(
            "print_probe",
            print_loop,
            "rust_empty",
            rust_empty,
            m.slow_iters,
        );
    }
    Ok(())
}

struct Bench;

impl kernel::Module for Bench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: module parameters, written only before init.
        let (iters, slow, reps, toggle) = unsafe {
            (
                glue::markers_bench_iters,
                glue::markers_bench_slow_iters,
                glue::markers_bench_reps,
                glue::markers_bench_toggle,
            )
        };
        let reps = (reps as usize).clamp(1, REPS_MAX);
        if toggle {
            pr_info!("begin toggle reps={}\n", reps);
            // SAFETY: runs the glue's toggle measurement; it needs nothing
            // but markers.ko. CAST: `reps` is at most REPS_MAX.
            let r = unsafe { glue::markers_bench_toggle_run(reps as c_uint) };
            pr_info!("end rc={}\n", r);
            return Ok(Bench);
        }
        let iters = iters.max(1);
        let slow = if slow == 0 { iters / 10 } else { slow }.max(1);
        let m = Meter {
            iters,
            slow_iters: slow,
            reps,
        };
        pr_info!("begin iters={} slow_iters={} reps={}\n", iters, slow, reps);
        let r = instructions(&m);
        if let Err(e) = &r {
            pr_err!("failed: {}\n", e.to_errno());
        }
        pr_info!("end rc={}\n", r.map_or_else(|e| e.to_errno(), |()| 0));
        // The flag is never set; this keeps the compiler from assuming so.
        black_box(&FLAG).load(Ordering::Relaxed);
        Ok(Bench)
    }
}
