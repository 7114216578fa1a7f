// SPDX-License-Identifier: GPL-2.0

//! Trampolines: the 5-byte `jmp` each `mark!` invocation's enabled block
//! calls. Disabled (in the patcher's terms) it jumps to
//! `markers_dispatch_<n>`, which calls the dispatch the block passed;
//! enabled, it jumps straight to the function of the marker's current
//! dispatch: its only probe, or the marker's own dispatcher (which runs the
//! probe array, none or several).
//!
//! # The rule
//!
//! A trampoline jumps to a function only while its invocation's dispatch is
//! exactly that function with its data: the enabled block loads the
//! dispatch's data into the first parameter before calling the trampoline,
//! so a trampoline pointing at probe A while the block loaded B's dispatch
//! would run A with B's data. Hence:
//!
//! 1. before a marker's dispatch changes away from the function its
//!    trampolines jump to, they go back to the indirect path ([`leave`]),
//!    and the change is made only if every one of them did (a trampoline
//!    that could not be rewritten still jumps to the old function: the old
//!    dispatch then stays published and the change fails);
//! 2. after a new dispatch is published, a grace period passes (no task
//!    still holds the previous dispatch, even preempted) before the
//!    trampolines are pointed at it ([`point`]); one that cannot be
//!    rewritten stays indirect, which is slower but always correct. A
//!    dispatch that did not change needs no grace period (the trampolines
//!    of a module that just loaded).
//!
//! The patcher's `ENABLED` bit of a trampoline says what it does, even after
//! a failed write (see "When a write fails" in `patcher.rs`).

use kernel::prelude::*;

use crate::patcher;
use crate::text::{Site, BROKEN, RETIRED};
use core::sync::atomic::Ordering;

extern "C" {
    /// Where a direct jump to the function at `addr` may land: past its
    /// `ENDBR64`, if any (`markers_glue.c`).
    fn markers_skip_endbr(addr: usize) -> usize;
}

/// Whether trampoline `t` may jump to a probe directly.
pub(crate) fn is_direct(t: &Site) -> bool {
    t.enabled() && t.state.load(Ordering::Relaxed) & RETIRED == 0
}

/// Sends every trampoline of `tramps` that jumps to a probe back to the
/// indirect path, in one pass (one pass per trampoline, allocating nothing,
/// when there is no memory for a batch). The caller checks [`is_direct`]
/// afterwards: a trampoline whose rewrite failed still jumps to its probe.
pub(crate) fn leave<'a>(tramps: impl Iterator<Item = &'a Site> + Clone) {
    let n = tramps.clone().filter(|t| is_direct(t)).count();
    if n == 0 {
        return;
    }
    let mut batch = KVec::new();
    if batch.reserve(n, GFP_KERNEL).is_ok() {
        for t in tramps.filter(|t| is_direct(t)) {
            // Capacity reserved: cannot fail.
            let _ = batch.push((t, false), GFP_KERNEL);
        }
        patcher::apply(&batch);
    } else {
        for t in tramps.filter(|t| is_direct(t)) {
            patcher::apply(&[(t, false)]);
        }
    }
}

/// Whether trampoline `t` is indirect and may be pointed at a function.
pub(crate) fn pointable(t: &Site) -> bool {
    !t.enabled() && t.state.load(Ordering::Relaxed) & (BROKEN | RETIRED) == 0
}

/// The patch of trampoline `t` that points it at the function `func`, for
/// a batch: the caller guarantees that no task still holds another dispatch
/// of its marker (rule 2).
pub(crate) fn aim(t: &Site, func: usize) -> (&Site, bool) {
    // Before the pass: a trap emulates the new target. While the
    // trampoline is not enabled the target is unused.
    // SAFETY: reads the function's first bytes without trusting them.
    let to = unsafe { markers_skip_endbr(func) };
    t.target.store(to, Ordering::Release);
    (t, true)
}
