// SPDX-License-Identifier: GPL-2.0

//! Hit counters: one per-CPU `u64` for each `mark!` invocation of a client
//! module, which its enabled block increments with one `incq %gs:(ctr)`
//! (`rust/markers/site.rs`). They are allocated when the module loads, in
//! chunks of at most [`CHUNK`] counters (the per-CPU allocator serves at
//! most 32 KiB at a time), and freed with the module's registration.

use kernel::prelude::*;

extern "C" {
    fn markers_hits_alloc(n: usize) -> *mut u64;
    fn markers_hits_free(p: *mut u64);
    fn markers_hits_sum(p: *const u64) -> u64;
}

/// Counters per chunk: 32 KiB of `u64`.
const CHUNK: usize = 4096;

/// The hit counters of one client module.
///
/// # Invariants
///
/// Every element of `chunks` came from `markers_hits_alloc` and is freed
/// only by `drop`; all but the last hold [`CHUNK`] counters.
pub(crate) struct Counters {
    chunks: KVec<*mut u64>,
}

impl Counters {
    /// `n` zeroed counters; `ENOMEM` when they cannot all be allocated.
    pub(crate) fn new(n: usize) -> Result<Self> {
        let mut c = Counters {
            chunks: KVec::with_capacity(n.div_ceil(CHUNK), GFP_KERNEL)?,
        };
        let mut left = n;
        while left > 0 {
            let k = left.min(CHUNK);
            // SAFETY: a plain allocation; null on failure.
            let p = unsafe { markers_hits_alloc(k) };
            if p.is_null() {
                // `c` frees the chunks allocated so far.
                return Err(ENOMEM);
            }
            // Capacity reserved: cannot fail.
            c.chunks.push(p, GFP_KERNEL)?;
            left -= k;
        }
        Ok(c)
    }

    /// Counter `i`, a per-CPU address; `i` is below the `n` of `new`.
    pub(crate) fn get(&self, i: usize) -> *mut u64 {
        // SAFETY: within the chunk (invariant: full chunks before the last,
        // and `i < n`).
        unsafe { self.chunks[i / CHUNK].add(i % CHUNK) }
    }
}

impl Drop for Counters {
    fn drop(&mut self) {
        for &p in self.chunks.iter() {
            // SAFETY: allocated by `markers_hits_alloc` (invariant), freed
            // once, here.
            unsafe { markers_hits_free(p) };
        }
    }
}

/// The sum over every CPU of the per-CPU counter `p` (0 for null).
pub(crate) fn sum(p: *const u64) -> u64 {
    if p.is_null() {
        return 0;
    }
    // SAFETY: `p` is a counter of a live `Counters`.
    unsafe { markers_hits_sum(p) }
}
