// SPDX-License-Identifier: GPL-2.0

//! markers_torture: a torture test of markers in the style of rcutorture.
//!
//! This file holds what must be Rust: the marked code the readers run (one
//! function per context, each hitting the four torture markers, whose
//! signatures differ), the typed Rust probes that probe churn registers and
//! drops, and the module's entry points. The threads, timers, togglers,
//! checks and parameters are in `markers_torture_glue.c`; see the comment
//! at its top and `Documentation/testing.rst`.

use core::ffi::{c_int, c_void};
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::prelude::*;
use markers::mark;
use markers::probe::{Probe, ENABLE, NO_FLAGS};

mod ktap;

module! {
    type: MarkersTorture,
    name: "markers_torture",
    author: "The markers developers",
    description: "Torture test of markers",
    license: "GPL",
}

/// Key of `tort_a`'s second argument.
const KEY_A: u64 = 0x5a5a_1234_8765_a5a5;
/// `tort_c`'s string argument.
const WORD: &str = "markers-torture";
/// Live probe data.
const LIVE: u64 = 0x4c49_5645_5052_4f42;
/// Probe data after its probe was dropped (what a handler must never see).
const DEAD: u64 = 0x6465_6164_6465_6164;
/// The owner of a Rust probe's data (`TORT_RUST` in the glue).
const OWNER_RUST: u32 = 2;

extern "C" {
    fn markers_torture_start(site_state: *const usize, nsites: u32) -> c_int;
    fn markers_torture_stop();
    fn markers_torture_seen(d: *const TData, owner: u32, marker: u32, ok: bool);
}

// --- The marked code --------------------------------------------------------

/// The four markers at one place: `seq` is the reader's sequence number;
/// every argument is a function of it that the handlers check.
#[inline(always)]
fn hit_all(seq: u64) {
    mark!(tort_a, "seq={} key={}", seq, seq ^ KEY_A);
    // CAST: the handlers check the truncation and the negation.
    mark!(tort_b, "seq={} neg={}", seq as u32, !(seq as u32 as i64));
    mark!(tort_c, "word={} seq={}", WORD, seq);
    mark!(
        tort_d,
        "{} {} {} {} {} {} {}",
        seq,
        seq + 1,
        seq + 2,
        seq + 3,
        seq + 4,
        seq + 5,
        seq + 6
    );
}

/// Process context (the glue's per-CPU reader threads).
#[no_mangle]
#[inline(never)]
extern "C" fn markers_torture_read_proc(seq: u64) {
    hit_all(black_box(seq));
    // Distinct bodies: identical functions would be merged into one.
    black_box(1u32);
}

/// Hard interrupt context (a per-CPU hrtimer).
#[no_mangle]
#[inline(never)]
extern "C" fn markers_torture_read_hard(seq: u64) {
    hit_all(black_box(seq));
    // Distinct bodies: identical functions would be merged into one.
    black_box(2u32);
}

/// Softirq context (a per-CPU softirq hrtimer).
#[no_mangle]
#[inline(never)]
extern "C" fn markers_torture_read_soft(seq: u64) {
    hit_all(black_box(seq));
    // Distinct bodies: identical functions would be merged into one.
    black_box(3u32);
}

// --- Rust probes --------------------------------------------------------------

/// A probe's data, laid out as the glue's `struct tort_data`: a handler
/// that receives data of another probe or data already dropped sees it.
#[repr(C)]
struct TData {
    magic: AtomicU64,
    owner: u32,
    marker: u32,
    calls: AtomicU64,
}

impl Drop for TData {
    fn drop(&mut self) {
        // Poisoned before the memory is freed: a handler still running
        // after its probe was dropped (a skipped grace period) sees DEAD.
        self.magic.store(DEAD, Ordering::Release);
    }
}

fn seen(d: &TData, marker: u32, ok: bool) {
    // SAFETY: `d` is valid for the call, as every probe's data is.
    unsafe { markers_torture_seen(d, OWNER_RUST, marker, ok) };
}

fn on_a(d: &TData, (s, k): (u64, u64)) {
    seen(d, 0, k == s ^ KEY_A);
}

fn on_b(d: &TData, (s, n): (u32, i64)) {
    seen(d, 1, n == !(s as i64));
}

fn on_c(d: &TData, (w, _s): (&str, u64)) {
    seen(d, 2, w == WORD);
}

type SigD = (u64, u64, u64, u64, u64, u64, u64);

fn on_d(d: &TData, a: SigD) {
    let ok = a.1 == a.0 + 1
        && a.2 == a.0 + 2
        && a.3 == a.0 + 3
        && a.4 == a.0 + 4
        && a.5 == a.0 + 5
        && a.6 == a.0 + 6;
    seen(d, 3, ok);
}

/// A registered Rust probe of one of the four markers.
enum RustProbe {
    A(#[allow(dead_code)] Probe<(u64, u64), TData>),
    B(#[allow(dead_code)] Probe<(u32, i64), TData>),
    C(#[allow(dead_code)] Probe<(&'static str, u64), TData>),
    D(#[allow(dead_code)] Probe<SigD, TData>),
}

fn tdata(marker: u32) -> TData {
    TData {
        magic: AtomicU64::new(LIVE),
        owner: OWNER_RUST,
        marker,
        calls: AtomicU64::new(0),
    }
}

fn rust_probe(marker: u32, flags: u32) -> Result<RustProbe> {
    let d = tdata(marker);
    Ok(match marker {
        0 => RustProbe::A(Probe::register(c"tort_a", on_a, d, flags)?),
        1 => RustProbe::B(Probe::register(c"tort_b", on_b, d, flags)?),
        2 => RustProbe::C(Probe::register(c"tort_c", on_c, d, flags)?),
        _ => RustProbe::D(Probe::register(c"tort_d", on_d, d, flags)?),
    })
}

/// Registers a Rust probe on marker `marker` (0-3), with
/// `MARKERS_PROBE_ENABLE` if `enable`; stores an opaque handle in `*out`.
///
/// # Safety
///
/// `out` is writable.
#[no_mangle]
unsafe extern "C" fn markers_torture_rust_probe(
    marker: u32,
    enable: bool,
    out: *mut *mut c_void,
) -> c_int {
    let flags = if enable { ENABLE } else { NO_FLAGS };
    match rust_probe(marker, flags).and_then(|p| Ok(KBox::new(p, GFP_KERNEL)?)) {
        Ok(b) => {
            // SAFETY: `out` is writable (the caller's contract).
            unsafe { *out = KBox::into_raw(b).cast() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// Unregisters and frees a probe made by [`markers_torture_rust_probe`].
///
/// # Safety
///
/// `p` came from `markers_torture_rust_probe` and is not used afterwards.
#[no_mangle]
unsafe extern "C" fn markers_torture_rust_unprobe(p: *mut c_void) {
    // SAFETY: the caller's contract: a leaked `KBox<RustProbe>`.
    drop(unsafe { KBox::from_raw(p.cast::<RustProbe>()) });
}

// --- The module -----------------------------------------------------------------

struct MarkersTorture;

/// The markers in the glue's order.
const NAMES: [&[u8]; 4] = [b"tort_a", b"tort_b", b"tort_c", b"tort_d"];

impl kernel::Module for MarkersTorture {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // Each site's address, by marker and context (proc, hard, soft):
        // a site belongs to the nearest reader function below it.
        let readers = [
            markers_torture_read_proc as *const () as usize,
            markers_torture_read_hard as *const () as usize,
            markers_torture_read_soft as *const () as usize,
        ];
        let mut table = [0usize; 12];
        for (m, name) in NAMES.iter().enumerate() {
            for e in ktap::sites_of(name).iter() {
                let a = e.code_addr();
                let owner = readers
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| **f <= a)
                    .max_by_key(|(_, f)| **f)
                    .map(|(c, _)| c);
                match owner {
                    Some(c) if table[m * 3 + c] == 0 => table[m * 3 + c] = a,
                    _ => {
                        pr_err!("cannot place a site of {:?}\n", name);
                        return Err(EINVAL);
                    }
                }
            }
        }
        if table.contains(&0) {
            pr_err!("a reader lacks a site\n");
            return Err(EINVAL);
        }
        // SAFETY: 12 addresses, read during the call.
        let r = unsafe { markers_torture_start(table.as_ptr(), 12) };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        Ok(MarkersTorture)
    }
}

impl Drop for MarkersTorture {
    fn drop(&mut self) {
        // SAFETY: started by init.
        unsafe { markers_torture_stop() };
    }
}
