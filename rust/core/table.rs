// SPDX-License-Identifier: GPL-2.0

//! The int3 table and handler: every site whose byte 0 may hold one of our
//! int3s, and the die-notifier callback that emulates the instruction a
//! trapping site is being rewritten to.
//!
//! # Rules
//!
//! - A table is immutable once published: sorted by address, built by the
//!   registry from its sites, published with a release store and read by the
//!   handler with an acquire load (`rcu_assign_pointer`/`rcu_dereference`).
//!   A replaced table is freed only after `synchronize_rcu()`, which waits
//!   for every handler that could have loaded it (kernel-mode int3 runs
//!   NMI-like, with interrupts off: a read-side critical section).
//! - Once a client has registered, a table is always published: nothing
//!   unpublishes it while any site can trap. Shrinking it needs memory;
//!   when there is none, the registry marks the sites that go
//!   [`RETIRED`] and keeps them (and the memory the table points at) until a
//!   later rebuild succeeds. The handler refuses retired sites.
//! - The patcher writes an int3 only on a site this table lists
//!   ([`contains`]), so no trap of ours can miss the handler.
//!
//! The handler takes no lock, allocates nothing and calls nothing out of
//! line: the lookup is inline, and the function lives in `.kprobes.text`,
//! which the module loader puts on the kprobe blacklist as a whole (with
//! `NOKPROBE_SYMBOL` in `markers_glue.c` for good measure). Rust code is not
//! instrumented for ftrace on 6.12; the C notifier that calls it is
//! `notrace`.

use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::bindings;
use kernel::prelude::*;

use crate::text::{Site, BROKEN, PATCHING, RETIRED, STATS};

/// The sites the int3 handler knows, sorted by address.
pub(crate) struct SiteTable {
    sites: KVec<*const Site>,
}

/// The published table, or null before the first client registers.
static TABLE: AtomicPtr<SiteTable> = AtomicPtr::new(core::ptr::null_mut());

impl SiteTable {
    /// Builds a table of `sites` (the registry's non-retired sites).
    ///
    /// # Safety
    ///
    /// Every site must outlive every table that lists it: the registry frees
    /// a site only after a table without it is published and a grace period
    /// has passed.
    pub(crate) unsafe fn build<'a>(
        sites: impl Iterator<Item = &'a Site> + Clone,
    ) -> Result<KBox<Self>> {
        let mut v = KVec::with_capacity(sites.clone().count(), GFP_KERNEL)?;
        for s in sites {
            // Capacity reserved: cannot fail.
            v.push(s as *const Site, GFP_KERNEL)?;
        }
        // SAFETY: every pointer was just made from a live reference.
        v.sort_unstable_by_key(|&s| unsafe { (*s).addr });
        Ok(KBox::new(Self { sites: v }, GFP_KERNEL)?)
    }
}

/// Publishes `new` for the handler and returns the table it replaces, which
/// the caller frees after `synchronize_rcu()`. Called under the registry
/// mutex.
pub(crate) fn publish(new: KBox<SiteTable>) -> Option<KBox<SiteTable>> {
    // Release: the table is fully built before a handler can load it.
    let old = TABLE.swap(KBox::into_raw(new), Ordering::AcqRel);
    // SAFETY: a non-null `old` came from `KBox::into_raw` in an earlier
    // `publish`, and the swap removed the only other copy of the pointer.
    (!old.is_null()).then(|| unsafe { KBox::from_raw(old) })
}

/// Unpublishes the table when `markers.ko` unloads, after its die notifier
/// is gone and a grace period has passed: no site is left and no handler
/// can run.
pub(crate) fn unpublish_at_exit() -> Option<KBox<SiteTable>> {
    let old = TABLE.swap(core::ptr::null_mut(), Ordering::AcqRel);
    // SAFETY: as in `publish`.
    (!old.is_null()).then(|| unsafe { KBox::from_raw(old) })
}

/// The site at `addr` in `sites`, by binary search; no call that could be
/// probed or traced.
#[inline(always)]
fn lookup(sites: &[*const Site], addr: usize) -> Option<&Site> {
    let (mut lo, mut hi) = (0usize, sites.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // SAFETY: `mid < sites.len()`; a listed site outlives the table (see
        // `SiteTable::build`).
        let s = unsafe { &**sites.get_unchecked(mid) };
        if s.addr == addr {
            return Some(s);
        } else if s.addr < addr {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    None
}

/// Whether the published table lists the site at `addr`. Called by the
/// patcher under the registry mutex, which every publisher holds: the table
/// cannot change meanwhile.
pub(crate) fn contains(addr: usize) -> bool {
    let t = TABLE.load(Ordering::Acquire);
    // SAFETY: only the registry mutex holder (the caller) replaces the table.
    !t.is_null() && lookup(unsafe { (*t).sites.as_slice() }, addr).is_some()
}

/// The int3 handler, called by the die notifier in `markers_glue.c` for a
/// kernel-mode int3. Returns whether the trap was ours and has been handled.
///
/// A site being patched is emulated in its new state. A trap on a site no
/// pass is rewriting ("late": seen only under multi-threaded TCG, most
/// likely a vCPU running a stale translation) is emulated the same way: the
/// site's state then equals its bytes, so emulating it equals re-executing
/// it; such traps are counted. Retired sites (freed text, or a module going
/// while no memory was left to shrink the table) and sites refused for
/// foreign bytes are not ours to handle.
///
/// # Safety
///
/// `regs` must be the trapping context's registers, writable, as the die
/// notifier passes them.
#[no_mangle]
#[link_section = ".kprobes.text"]
pub(crate) unsafe extern "C" fn markers_int3(regs: *mut bindings::pt_regs) -> bool {
    // SAFETY: the caller passes valid registers.
    let addr = unsafe { (*regs).ip }.wrapping_sub(1);
    let table = TABLE.load(Ordering::Acquire);
    if table.is_null() {
        return false;
    }
    // SAFETY: a published table stays valid until a grace period after it is
    // replaced, and this handler is a read-side critical section.
    let Some(site) = lookup(unsafe { (*table).sites.as_slice() }, addr) else {
        return false;
    };
    let state = site.state.load(Ordering::Acquire);
    if state & RETIRED != 0 {
        return false;
    }
    if state & PATCHING == 0 {
        if state & BROKEN != 0 {
            // We never leave an int3 on a site refused for foreign bytes.
            return false;
        }
        STATS.late.fetch_add(1, Ordering::Relaxed);
    }
    STATS.int3.fetch_add(1, Ordering::Relaxed);
    let new_ip = site.next_ip(state);
    // SAFETY: the caller passes writable registers; resuming at the
    // emulated instruction's successor is what the instruction would do.
    unsafe { (*regs).ip = new_ip as _ };
    true
}
