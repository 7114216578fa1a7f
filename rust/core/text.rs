// SPDX-License-Identifier: GPL-2.0

//! Sites as text: the five bytes of a site or trampoline, the two
//! instructions they can hold, the state word the patcher writes and the
//! int3 handler reads, and the patcher's counters. Shared by the patcher
//! (`patcher.rs`), which writes sites, and the handler (`table.rs`), which
//! emulates them; it imports neither.

use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// The disabled site: Intel's recommended 5-byte NOP, `nopl 0x0(%rax,%rax,1)`.
pub(crate) const NOP5: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];
pub(crate) const INT3: u8 = 0xcc;
const JMP32: u8 = 0xe9;

/// Site state: the site jumps (or, while PATCHING, is being made to jump).
pub(crate) const ENABLED: u8 = 1 << 0;
/// Site state: our int3 is on byte 0; traps emulate the state.
pub(crate) const PATCHING: u8 = 1 << 1;
/// Site state: the site's bytes were not what they should be (a foreign
/// writer); never written again.
pub(crate) const BROKEN: u8 = 1 << 2;
/// Site state: the site is gone (freed init text, or its module is going);
/// never written again, and the handler does not handle it.
pub(crate) const RETIRED: u8 = 1 << 3;
/// Site state: a write failed after step 1; our int3 stays (with
/// PATCHING) until a later pass finishes the rewrite.
pub(crate) const TORN: u8 = 1 << 4;

/// `jmp rel32` at `from` to `to`, or `None` when `to` is out of reach.
pub(crate) fn jmp(from: usize, to: usize) -> Option<[u8; 5]> {
    // CAST: two's complement distance between kernel addresses.
    let rel = i32::try_from((to as i64).wrapping_sub(from as i64 + 5)).ok()?;
    let r = rel.to_le_bytes();
    Some([JMP32, r[0], r[1], r[2], r[3]])
}

/// One site as the patcher knows it: five bytes of text that are one of two
/// instructions.
///
/// # Invariants
///
/// `addr` is the address of a 5-byte site in the text of a live module, and
/// `target` the address the enabled site jumps to, for as long as the site
/// is in the registry. Outside a pass, the bytes at `addr` are
/// `bytes_for(false)` when `state` lacks [`ENABLED`] and `bytes_for(true)`
/// when it has it, unless the site is [`TORN`] (our int3 on byte 0, the
/// handler emulating `state`), [`BROKEN`] or [`RETIRED`].
pub(crate) struct Site {
    pub(crate) addr: usize,
    /// Where the enabled site jumps. Fixed for a marker site (its block);
    /// for a trampoline, the function it calls directly (a probe or the
    /// marker's dispatcher), set before a pass enables it.
    pub(crate) target: AtomicUsize,
    /// 0 for a marker site (disabled: the NOP). For a trampoline (see
    /// `tramps.rs`), where it jumps while disabled: `markers_dispatch_<n>`.
    pub(crate) alt: usize,
    pub(crate) state: AtomicU8,
    /// The site is in the module's init text.
    pub(crate) init: bool,
}

impl Site {
    /// A disabled site at `addr` jumping to `target` when enabled, and to
    /// `alt` (if not 0) when disabled.
    pub(crate) fn new(addr: usize, target: usize, alt: usize, init: bool) -> Self {
        Self {
            addr,
            target: AtomicUsize::new(target),
            alt,
            state: AtomicU8::new(0),
            init,
        }
    }

    /// The bytes of the site in state `enabled`, if its target is in reach.
    pub(crate) fn bytes_for(&self, enabled: bool) -> Option<[u8; 5]> {
        match (enabled, self.alt) {
            (false, 0) => Some(NOP5),
            (false, alt) => jmp(self.addr, alt),
            (true, _) => jmp(self.addr, self.target.load(Ordering::Relaxed)),
        }
    }

    /// Where the instruction at the site goes in state `state`, for the
    /// int3 handler's emulation.
    #[inline(always)]
    pub(crate) fn next_ip(&self, state: u8) -> usize {
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

    /// Whether the site is enabled (jumps), as far as the patcher knows.
    pub(crate) fn enabled(&self) -> bool {
        self.state.load(Ordering::Relaxed) & ENABLED != 0
    }
}

/// Counters, readable in `/sys/kernel/markers/control`.
pub(crate) struct Stats {
    /// int3 traps handled.
    pub(crate) int3: AtomicU64,
    /// Traps on a site not being patched (see `table.rs`).
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
