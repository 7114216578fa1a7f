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
//!  0. check every site's bytes against its current state;
//!     refuse a site with foreign bytes (0xcc: a kprobe)
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
//! A trap may still arrive after step 7 ("late trap": seen only under
//! multi-threaded TCG, most likely a vCPU running a stale translation). The
//! handler looks every trap up among all registered sites, not only the
//! batch, and a site whose state is not PATCHING is emulated the same way:
//! its state then equals its bytes, so emulating it equals re-executing it.
//! Late traps are counted and reported in the statistics.
//!
//! The handler runs in NMI-like context: it takes no lock, allocates
//! nothing, calls no function that may be traced or probed (everything it
//! uses is `#[inline(always)]` or an atomic), and is on the kprobe blacklist
//! (`NOKPROBE_SYMBOL` in `markers_glue.c`).

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use kernel::bindings;
use kernel::prelude::*;

use crate::registry::Marker;

/// The disabled site: Intel's recommended 5-byte NOP, `nopl 0x0(%rax,%rax,1)`.
pub(crate) const NOP5: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];
const INT3: u8 = 0xcc;
const JMP32: u8 = 0xe9;

/// Site state: the site jumps (or, while PATCHING, is being made to jump).
pub(crate) const ENABLED: u8 = 1 << 0;
/// Site state: a pass is rewriting the site; traps emulate the new state.
pub(crate) const PATCHING: u8 = 1 << 1;
/// Site state: the site's bytes were not what they should be; never patched
/// again.
pub(crate) const BROKEN: u8 = 1 << 2;
/// Site state: the site is in init text that has been freed; never patched.
pub(crate) const RETIRED: u8 = 1 << 3;

/// `jmp rel32` at `from` to `to`.
pub(crate) fn jmp(from: usize, to: usize) -> [u8; 5] {
    // CAST: both addresses are in the module area, within +-2 GiB of each
    // other; the registry checked them.
    let rel = (to as i64 - (from as i64 + 5)) as i32;
    let r = rel.to_le_bytes();
    [JMP32, r[0], r[1], r[2], r[3]]
}

/// One site as the registry and the patcher know it.
///
/// # Invariants
///
/// `addr` is the address of a 5-byte site in the text of a live module, and
/// `target` the address of its enabled block, for as long as the site is in
/// the registry. Outside a pass, the bytes at `addr` are [`NOP5`] when
/// `state` lacks [`ENABLED`] and `jmp target` when it has it, unless the
/// site is [`BROKEN`] or [`RETIRED`].
pub(crate) struct Site {
    pub(crate) addr: usize,
    /// Where the enabled site jumps. Fixed for a marker site (its block);
    /// for a trampoline, the probe it calls directly, set before a pass
    /// enables it.
    pub(crate) target: AtomicUsize,
    /// 0 for a marker site (disabled: the NOP). For a trampoline (see
    /// `probes.rs`), where it jumps while disabled: `markers_call_indirect`.
    pub(crate) alt: usize,
    pub(crate) state: AtomicU8,
    /// The site is in the module's init text.
    pub(crate) init: bool,
    /// The marker the site belongs to; it outlives the site.
    pub(crate) marker: *const Marker,
}

impl Site {
    /// The bytes of the site in state `enabled`.
    pub(crate) fn bytes_for(&self, enabled: bool) -> [u8; 5] {
        match (enabled, self.alt) {
            (false, 0) => NOP5,
            (false, alt) => jmp(self.addr, alt),
            (true, _) => jmp(self.addr, self.target.load(Ordering::Relaxed)),
        }
    }

    /// Where the instruction at the site goes in state `state`, for the
    /// int3 handler's emulation.
    #[inline(always)]
    fn next_ip(&self, state: u8) -> usize {
        if state & ENABLED != 0 {
            self.target.load(Ordering::Acquire)
        } else if self.alt != 0 {
            self.alt
        } else {
            self.addr + 5
        }
    }

    /// The site's bytes as they are in memory.
    pub(crate) fn read(&self) -> [u8; 5] {
        let mut b = [0u8; 5];
        for (i, x) in b.iter_mut().enumerate() {
            // SAFETY: by the type invariant `addr..addr + 5` is mapped,
            // readable module text.
            *x = unsafe { core::ptr::read_volatile((self.addr + i) as *const u8) };
        }
        b
    }
}

/// The sites the int3 handler knows, sorted by address.
pub(crate) struct SiteTable {
    pub(crate) sites: KVec<*const Site>,
}

/// The published table, read by the int3 handler.
///
/// Published with release stores and read with an acquire load (the
/// `rcu_assign_pointer`/`rcu_dereference` pair); a table that has been
/// replaced is freed only after `synchronize_rcu()`, which waits for every
/// int3 handler that could have loaded it (the handler runs with interrupts
/// disabled, an RCU read-side critical section).
static TABLE: AtomicPtr<SiteTable> = AtomicPtr::new(core::ptr::null_mut());

/// Replaces the table the handler uses and returns the old one, which the
/// caller frees after `synchronize_rcu()`. Called under the registry mutex.
pub(crate) fn publish(new: Option<KBox<SiteTable>>) -> Option<KBox<SiteTable>> {
    let new = new.map_or(core::ptr::null_mut(), KBox::into_raw);
    let old = TABLE.swap(new, Ordering::AcqRel);
    if old.is_null() {
        None
    } else {
        // SAFETY: `old` came from `KBox::into_raw` in an earlier `publish`,
        // and the swap removed the only other copy of the pointer.
        Some(unsafe { KBox::from_raw(old) })
    }
}

/// Counters, readable in `/sys/kernel/markers/status`.
pub(crate) struct Stats {
    /// int3 traps handled.
    pub(crate) int3: AtomicU64,
    /// Traps on a site not being patched (see the module documentation).
    pub(crate) late: AtomicU64,
    /// Patch passes.
    pub(crate) passes: AtomicU64,
    /// Site rewrites.
    pub(crate) rewrites: AtomicU64,
    /// Sites refused (foreign or corrupt bytes, failed writes).
    pub(crate) refused: AtomicU64,
    /// CPU serialization rounds.
    pub(crate) syncs: AtomicU64,
}

pub(crate) static STATS: Stats = Stats {
    int3: AtomicU64::new(0),
    late: AtomicU64::new(0),
    passes: AtomicU64::new(0),
    rewrites: AtomicU64::new(0),
    refused: AtomicU64::new(0),
    syncs: AtomicU64::new(0),
};

extern "C" {
    fn markers_text_write(addr: *mut c_void, src: *const c_void, len: usize) -> i32;
    fn markers_sync_all_cpus();
    fn markers_text_flush();
}

/// The int3 handler, called by the die notifier in `markers_glue.c` for a
/// kernel-mode int3. Returns whether the trap was ours and has been handled.
///
/// # Safety
///
/// `regs` must be the trapping context's registers, writable, as the die
/// notifier passes them.
#[no_mangle]
pub(crate) unsafe extern "C" fn markers_int3(regs: *mut bindings::pt_regs) -> bool {
    // SAFETY: the caller passes valid registers.
    let ip = unsafe { (*regs).ip };
    let addr = ip.wrapping_sub(1);
    let table = TABLE.load(Ordering::Acquire);
    if table.is_null() {
        return false;
    }
    // SAFETY: a published table stays valid until a grace period after it is
    // replaced, and this handler is a read-side critical section.
    let sites = unsafe { (*table).sites.as_slice() };
    // Binary search by hand: no call that could be probed.
    let (mut lo, mut hi) = (0usize, sites.len());
    let mut found: *const Site = core::ptr::null();
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // SAFETY: the table holds sites that outlive it (the registry frees
        // sites only after replacing the table and a grace period).
        let s = unsafe { &*sites[mid] };
        if s.addr == addr {
            found = s;
            break;
        } else if s.addr < addr {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if found.is_null() {
        return false;
    }
    // SAFETY: as above.
    let site = unsafe { &*found };
    let state = site.state.load(Ordering::Acquire);
    if state & PATCHING == 0 {
        if state & BROKEN != 0 {
            // A site we gave up on keeps our int3 only if a write failed
            // mid-pass, in which case it is PATCHING; this int3 is not ours.
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

/// Writes `bytes` at `addr` in module text.
fn write(addr: usize, bytes: &[u8]) -> Result {
    // SAFETY: `addr` is a registered site (callers hold the registry mutex);
    // the glue maps only the pages the write touches and checks them.
    let r = unsafe { markers_text_write(addr as *mut c_void, bytes.as_ptr().cast(), bytes.len()) };
    if r < 0 {
        Err(Error::from_errno(r))
    } else {
        Ok(())
    }
}

fn sync_all() {
    STATS.syncs.fetch_add(1, Ordering::Relaxed);
    // SAFETY: called with cpus_read_lock held, from process context.
    unsafe { markers_sync_all_cpus() };
}

/// Logs a refused site with its address, module and bytes.
fn log_site(msg: &core::ffi::CStr, site: &Site, have: &[u8; 5], want: &[u8; 5]) {
    // SAFETY: a KERN_ERR format with a %s, a %pS and two %5ph, each given an
    // argument of the right type; the strings and buffers outlive the call.
    unsafe {
        bindings::_printk(
            c"\x013markers: %s: site %pS (%px): bytes %5ph, expected %5ph\n"
                .as_ptr()
                .cast(),
            msg.as_ptr(),
            site.addr as *const c_void,
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
    /// Sites refused or broken by this pass.
    pub(crate) refused: usize,
}

/// Sets each site of `batch` to its requested state, in one pass of three
/// CPU serializations however many sites and markers the batch holds.
///
/// A site whose bytes are not what its state says is refused, marked
/// [`BROKEN`] and logged; the rest of the batch still applies (no rollback:
/// the refused site is left exactly as found). Sites already in the
/// requested state, broken or retired are skipped.
///
/// Must be called under the registry mutex, from process context.
pub(crate) fn apply(batch: &[(&Site, bool)]) -> Report {
    let mut slots: KVec<Option<(&Site, [u8; 5])>> = KVec::new();
    if slots.extend_with(batch.len(), None, GFP_KERNEL).is_ok() {
        return run(batch, &mut slots);
    }
    // No memory for the batch: one pass per site, allocating nothing, so
    // that unpatching (a trampoline leaving a probe that goes away) never
    // fails for lack of memory.
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

/// One pass over `batch`; `slots` (as long as `batch`) holds the sites
/// being rewritten and their new bytes.
fn run<'a>(batch: &[(&'a Site, bool)], slots: &mut [Option<(&'a Site, [u8; 5])>]) -> Report {
    let mut report = Report::default();
    let mut n = 0;

    // SAFETY: plain lock of the CPU hotplug lock, released below.
    unsafe { bindings::cpus_read_lock() };

    // 0. Check every site.
    for &(site, enable) in batch {
        let state = site.state.load(Ordering::Relaxed);
        if state & (BROKEN | RETIRED) != 0 || (state & ENABLED != 0) == enable {
            continue;
        }
        let have = site.read();
        let want = site.bytes_for(state & ENABLED != 0);
        if have != want {
            let why = if have[0] == INT3 {
                c"refusing a site with a foreign int3 (a kprobe?)"
            } else {
                c"refusing a site with unexpected bytes"
            };
            log_site(why, site, &have, &want);
            site.state.fetch_or(BROKEN, Ordering::Relaxed);
            STATS.refused.fetch_add(1, Ordering::Relaxed);
            report.refused += 1;
            continue;
        }
        slots[n] = Some((site, site.bytes_for(enable)));
        n += 1;
        let new_state = if enable { ENABLED | PATCHING } else { PATCHING };
        // Release: ordered before the 0xcc store of step 1 (see above).
        site.state.store(
            new_state | (state & !(ENABLED | PATCHING)),
            Ordering::Release,
        );
    }

    let todo = &slots[..n];
    if !todo.is_empty() {
        STATS.passes.fetch_add(1, Ordering::Relaxed);
        // 1. int3 on byte 0 of every site.
        for &(site, ref new) in todo.iter().flatten() {
            if write(site.addr, &[INT3]).is_err() {
                // Nothing written: the site keeps its old bytes and state.
                log_site(c"cannot write the text of", site, &site.read(), new);
                let old = site.state.load(Ordering::Relaxed) ^ ENABLED;
                site.state
                    .store((old & !PATCHING) | BROKEN, Ordering::Release);
                report.refused += 1;
            }
        }
        sync_all();
        // 3. The rest of the new instruction.
        for &(site, ref new) in todo.iter().flatten() {
            if site.state.load(Ordering::Relaxed) & BROKEN != 0 {
                continue;
            }
            if write(site.addr + 1, &new[1..]).is_err() {
                // The int3 stays and the site stays PATCHING: the handler
                // keeps emulating the new instruction, which is correct.
                log_site(c"cannot complete the write of", site, &site.read(), new);
                site.state.fetch_or(BROKEN, Ordering::Release);
                report.refused += 1;
            }
        }
        sync_all();
        // 5. The first byte.
        for &(site, ref new) in todo.iter().flatten() {
            if site.state.load(Ordering::Relaxed) & BROKEN != 0 {
                continue;
            }
            if write(site.addr, &new[..1]).is_err() {
                log_site(c"cannot complete the write of", site, &site.read(), new);
                site.state.fetch_or(BROKEN, Ordering::Release);
                report.refused += 1;
            }
        }
        sync_all();
        // 7. Done: read back.
        for &(site, ref new) in todo.iter().flatten() {
            let state = site.state.load(Ordering::Relaxed);
            if state & BROKEN != 0 {
                continue;
            }
            let have = site.read();
            if have != *new {
                log_site(c"read-back mismatch at", site, &have, new);
                site.state.fetch_or(BROKEN, Ordering::Release);
                report.refused += 1;
                continue;
            }
            site.state.fetch_and(!PATCHING, Ordering::Release);
            report.applied += 1;
            STATS.rewrites.fetch_add(1, Ordering::Relaxed);
        }
        // 8. Purge the lazily freed aliases and their TLB entries.
        // SAFETY: process context, no locks that the purge needs are held.
        unsafe { markers_text_flush() };
    }

    // SAFETY: taken above.
    unsafe { bindings::cpus_read_unlock() };
    report
}
