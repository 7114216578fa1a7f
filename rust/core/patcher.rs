// SPDX-License-Identifier: GPL-2.0

//! The patcher: rewrites sites between the 5-byte NOP and `jmp rel32` while
//! other CPUs may be executing them, with the breakpoint protocol, and the
//! int3 handler that makes the protocol safe.
//!
//! `text_poke_bp()` is not exported to modules, so the patcher uses exported
//! APIs only: it writes through a temporary writable alias of the text page
//! (`vmalloc_to_page` + `vmap`, in `markers_glue.c`), serializes every CPU
//! with an IPI that runs `sync_core()`, and handles the traps of its int3
//! bytes in a die notifier.
//!
//! # The protocol, for a batch of any number of sites
//!
//! ```text
//!  patcher (under the registry mutex and cpus_read_lock)   other CPUs
//!  ------------------------------------------------------   ----------------------
//!  0. check every site: listed in the int3 table, bytes
//!     as its state says (or our int3, if TORN); refuse a
//!     site with foreign bytes and mark it BROKEN
//!  1. site.state = new | PATCHING           (store)
//!     write 0xcc at byte 0 of every site
//!  2. sync all CPUs (IPI + sync_core)                      may execute the int3:
//!  3. write bytes 1..4 of every site                       handler finds the site,
//!  4. sync all CPUs                                        reads state (new),
//!  5. write byte 0 of every site                           emulates the NEW insn
//!  6. sync all CPUs
//!  7. clear PATCHING, read every site back
//!  8. vm_unmap_aliases(): no writable alias of text survives the pass
//! ```
//!
//! Ordering: the state store of step 1 precedes the 0xcc store in program
//! order; x86 keeps stores in order (TSO), and the text write goes through a
//! `vmap` call that is a compiler barrier, so a CPU that traps on the 0xcc
//! (it observed the second store) observes the first. Each sync is an IPI
//! that every online CPU acknowledges after a serializing instruction, so
//! after it no CPU executes a stale copy of the bytes written before it;
//! `cpus_read_lock()` keeps the set of online CPUs fixed for the pass.
//!
//! The handler and its table are in `table.rs`.
//!
//! # When a write fails
//!
//! A text write needs a temporary mapping, so it can fail (`-ENOMEM`); it is
//! retried a few times, then the site's part of the pass fails:
//!
//! - at step 1, nothing was written: the site keeps its old bytes and
//!   state, is counted refused, and the next pass that wants it retries;
//! - at step 3 or 5, our int3 stays on byte 0 and the site stays PATCHING
//!   in its new state, marked [`TORN`]: the handler keeps emulating the new
//!   instruction, which is what the site does, and the next pass that
//!   touches it finishes the write towards whatever state it then wants
//!   (its steps 3 and 5; step 1 is already done).
//!
//! Either way the site's [`ENABLED`] bit says what the site does: callers
//! rely on that (a trampoline that still jumps to a probe). A site whose
//! bytes are neither its state nor our int3 (a foreign writer) is marked
//! [`BROKEN`] and never written again.

use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use kernel::bindings;
use kernel::prelude::*;

use crate::table;
use crate::text::INT3;
use crate::text::{Site, BROKEN, ENABLED, NOP5, PATCHING, RETIRED, STATS, TORN};

/// Test-mode fault injection: text writes at the protocol steps in `steps`
/// (bit `n` for step `n`: 1, 3, 5) fail with `-ENOMEM`, `left` more times,
/// once `skip` more passes have gone through untouched. Set through
/// `markers_test_fail_writes()`; `hit` counts injected failures. Passes run
/// under the registry mutex, one at a time: relaxed accesses suffice.
pub(crate) struct WriteFault {
    pub(crate) steps: AtomicU32,
    pub(crate) left: AtomicU32,
    pub(crate) hit: AtomicU32,
    pub(crate) skip: AtomicU32,
    /// The pass in progress is one of the `skip` passes.
    exempt: AtomicBool,
}

pub(crate) static WRITE_FAULT: WriteFault = WriteFault {
    steps: AtomicU32::new(0),
    left: AtomicU32::new(0),
    hit: AtomicU32::new(0),
    skip: AtomicU32::new(0),
    exempt: AtomicBool::new(false),
};

/// A pass begins: it is exempt from injection while passes are skipped.
fn fault_pass_begins() {
    let f = &WRITE_FAULT;
    let skipped = f
        .skip
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    f.exempt.store(skipped.is_ok(), Ordering::Relaxed);
}

extern "C" {
    fn markers_text_write(addr: *mut c_void, src: *const c_void, len: usize) -> i32;
    fn markers_sync_all_cpus();
    fn markers_text_flush();
}

/// Times a failed text write is tried again before the site's part of the
/// pass fails: the write fails only when its temporary mapping cannot be
/// allocated, which is usually transient.
const WRITE_TRIES: usize = 3;

fn injected(step: u32) -> bool {
    if WRITE_FAULT.steps.load(Ordering::Relaxed) & (1 << step) == 0
        || WRITE_FAULT.exempt.load(Ordering::Relaxed)
    {
        return false;
    }
    let took = WRITE_FAULT
        .left
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    if took.is_ok() {
        WRITE_FAULT.hit.fetch_add(1, Ordering::Relaxed);
    }
    took.is_ok()
}

/// Writes `bytes` at `addr` in module text, at protocol step `step`.
fn write(addr: usize, bytes: &[u8], step: u32) -> Result {
    let mut r = 0;
    for _ in 0..WRITE_TRIES {
        r = if injected(step) {
            ENOMEM.to_errno()
        } else {
            // SAFETY: `addr` is a registered site (callers hold the registry
            // mutex); the glue maps only the pages the write touches and
            // checks them.
            unsafe { markers_text_write(addr as *mut c_void, bytes.as_ptr().cast(), bytes.len()) }
        };
        if r == 0 {
            return Ok(());
        }
    }
    Err(Error::from_errno(r))
}

fn sync_all() {
    STATS.syncs.fetch_add(1, Ordering::Relaxed);
    // SAFETY: called with cpus_read_lock held, from process context.
    unsafe { markers_sync_all_cpus() };
}

/// Logs a refused site with its symbol and bytes (never its raw address).
fn log_site(msg: &core::ffi::CStr, site: &Site, have: &[u8; 5], want: &[u8; 5]) {
    // SAFETY: a KERN_ERR format with a %s, a %pS and two %5ph, each given an
    // argument of the right type; the strings and buffers outlive the call.
    unsafe {
        bindings::_printk(
            c"\x013markers: %s: site %pS: bytes %5ph, expected %5ph\n"
                .as_ptr()
                .cast(),
            msg.as_ptr(),
            site.addr as *const c_void,
            have.as_ptr(),
            want.as_ptr(),
        )
    };
}

/// The outcome of a pass.
#[derive(Default)]
pub(crate) struct Report {
    /// Sites rewritten.
    pub(crate) applied: usize,
    /// Sites refused, or whose rewrite failed (see "When a write fails").
    pub(crate) refused: usize,
}

/// One site's part of a pass.
#[derive(Clone, Copy)]
struct Slot<'a> {
    site: &'a Site,
    new: [u8; 5],
    enable: bool,
    /// A write of this pass failed: the site is done for this pass.
    failed: bool,
}

/// Sets each site of `batch` to its requested state, in one pass of three
/// CPU serializations however many sites the batch holds.
///
/// A site whose bytes are not what its state says is refused, marked
/// [`BROKEN`] and logged; the rest of the batch still applies (no rollback:
/// the refused site is left exactly as found). Sites already in the
/// requested state (and not torn), broken or retired are skipped.
///
/// Must be called under the registry mutex, from process context.
pub(crate) fn apply(batch: &[(&Site, bool)]) -> Report {
    let mut report = apply_once(batch);
    if report.refused == 0 {
        return report;
    }
    // A write failed mid-rewrite: try the torn sites once more at once, so
    // that our int3 outlives the operation only while writes keep failing
    // (a torn site is also what the kprobe reservation check must never
    // decode, see "Limits" in Documentation/markers.rst).
    for one in batch
        .iter()
        .filter(|(s, _)| s.state.load(Ordering::Relaxed) & TORN != 0)
    {
        let r = apply_once(core::slice::from_ref(one));
        report.applied += r.applied;
        report.refused -= r.applied.min(report.refused);
    }
    report
}

fn apply_once(batch: &[(&Site, bool)]) -> Report {
    let mut slots: KVec<Option<Slot<'_>>> = KVec::new();
    if slots.extend_with(batch.len(), None, GFP_KERNEL).is_ok() {
        return run(batch, &mut slots);
    }
    // No memory for the batch: one pass per site, allocating nothing here,
    // so that unpatching (a trampoline leaving a probe that goes away) does
    // not depend on memory for a batch.
    pr_warn!(
        "no memory for a patch batch of {} sites: one pass each\n",
        batch.len()
    );
    let mut report = Report::default();
    for one in batch {
        let r = run(core::slice::from_ref(one), &mut [None]);
        report.applied += r.applied;
        report.refused += r.refused;
    }
    report
}

/// Step 0 for one site: `Ok(Some(new bytes))` to rewrite it, `Ok(None)` to
/// skip it, `Err(())` when it is refused (already logged).
fn check(site: &Site, enable: bool) -> core::result::Result<Option<[u8; 5]>, ()> {
    let state = site.state.load(Ordering::Relaxed);
    if state & (BROKEN | RETIRED) != 0 {
        return Ok(None);
    }
    let torn = state & TORN != 0;
    if !torn && (state & ENABLED != 0) == enable {
        return Ok(None);
    }
    let (Some(want), Some(new)) = (site.bytes_for(state & ENABLED != 0), site.bytes_for(enable))
    else {
        log_site(
            c"refusing a jump out of reach at",
            site,
            &site.read(),
            &NOP5,
        );
        return Err(());
    };
    if !table::contains(site.addr) {
        // The handler would not find it: an int3 there would be fatal.
        log_site(
            c"refusing a site missing from the int3 table",
            site,
            &site.read(),
            &want,
        );
        return Err(());
    }
    let have = site.read();
    let ok = if torn { have[0] == INT3 } else { have == want };
    if !ok {
        let why = if have[0] == INT3 {
            c"refusing a site with a foreign int3 (a kprobe?)"
        } else {
            c"refusing a site with unexpected bytes"
        };
        log_site(why, site, &have, &want);
        site.state.fetch_or(BROKEN, Ordering::Relaxed);
        return Err(());
    }
    Ok(Some(new))
}

/// One pass over `batch`; `slots` (as long as `batch`) holds the sites
/// being rewritten.
fn run<'a>(batch: &[(&'a Site, bool)], slots: &mut [Option<Slot<'a>>]) -> Report {
    let mut report = Report::default();

    // SAFETY: plain lock of the CPU hotplug lock, released below.
    unsafe { bindings::cpus_read_lock() };

    let n = check_all(batch, slots, &mut report);
    let todo = &mut slots[..n];
    if !todo.is_empty() {
        STATS.passes.fetch_add(1, Ordering::Relaxed);
        fault_pass_begins();
        write_int3s(todo, &mut report);
        sync_all();
        // 3. The rest of the new instruction.
        for s in todo.iter_mut().flatten().filter(|s| !s.failed) {
            if write(s.site.addr + 1, &s.new[1..], 3).is_err() {
                tear(s, &mut report);
            }
        }
        sync_all();
        // 5. The first byte.
        for s in todo.iter_mut().flatten().filter(|s| !s.failed) {
            if write(s.site.addr, &s.new[..1], 5).is_err() {
                tear(s, &mut report);
            }
        }
        sync_all();
        read_back(todo, &mut report);
        // 8. Purge the lazily freed aliases and their TLB entries.
        // SAFETY: process context, no locks that the purge needs are held.
        unsafe { markers_text_flush() };
    }

    // SAFETY: taken above.
    unsafe { bindings::cpus_read_unlock() };
    report
}

/// Step 0: checks every site of `batch`, fills `slots` with those to
/// rewrite and returns how many.
fn check_all<'a>(
    batch: &[(&'a Site, bool)],
    slots: &mut [Option<Slot<'a>>],
    report: &mut Report,
) -> usize {
    let mut n = 0;
    for &(site, enable) in batch {
        match check(site, enable) {
            Ok(None) => {}
            Ok(Some(new)) => {
                slots[n] = Some(Slot {
                    site,
                    new,
                    enable,
                    failed: false,
                });
                n += 1;
            }
            Err(()) => fail(report),
        }
    }
    n
}

/// Step 1: the new state, then an int3 on byte 0 of every site (a torn
/// site has ours already).
fn write_int3s(todo: &mut [Option<Slot<'_>>], report: &mut Report) {
    for s in todo.iter_mut().flatten() {
        let old = s.site.state.load(Ordering::Relaxed);
        let new_state = (old & !ENABLED) | PATCHING | if s.enable { ENABLED } else { 0 };
        // Release: ordered before the 0xcc store (see above). A torn site
        // traps already and from here on is emulated in the new state.
        s.site.state.store(new_state, Ordering::Release);
        if old & TORN != 0 {
            continue;
        }
        if write(s.site.addr, &[INT3], 1).is_err() {
            // Nothing written: the site keeps its old bytes and state.
            log_site(c"cannot write the text of", s.site, &s.site.read(), &s.new);
            s.site.state.store(old, Ordering::Release);
            s.failed = true;
            fail(report);
        }
    }
}

/// Step 7: every rewritten site is read back and leaves PATCHING.
fn read_back(todo: &[Option<Slot<'_>>], report: &mut Report) {
    for s in todo.iter().flatten().filter(|s| !s.failed) {
        let have = s.site.read();
        if have != s.new {
            log_site(c"read-back mismatch at", s.site, &have, &s.new);
            s.site.state.fetch_or(BROKEN, Ordering::Release);
            fail(report);
            continue;
        }
        s.site
            .state
            .fetch_and(!(PATCHING | TORN), Ordering::Release);
        report.applied += 1;
        STATS.rewrites.fetch_add(1, Ordering::Relaxed);
    }
}

fn fail(report: &mut Report) {
    STATS.refused.fetch_add(1, Ordering::Relaxed);
    report.refused += 1;
}

/// A write after step 1 failed: our int3 stays on byte 0, the handler keeps
/// emulating the new state, and a later pass finishes the rewrite (step 3
/// wrote the whole body or nothing, and step 5 is not tried over a stale
/// body).
fn tear(s: &mut Slot<'_>, report: &mut Report) {
    log_site(
        c"cannot complete the write of",
        s.site,
        &s.site.read(),
        &s.new,
    );
    s.site.state.fetch_or(TORN, Ordering::Release);
    s.failed = true;
    fail(report);
}
