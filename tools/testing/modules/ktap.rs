// SPDX-License-Identifier: GPL-2.0

//! Helpers shared by the in-guest test modules (`mod ktap;` in each): a KTAP
//! printer and access to the module's own marker sites.

// Each test module uses a different part of these helpers.
#![allow(dead_code)]

use core::ffi::CStr;

use kernel::prelude::*;
use markers::section::{RawDesc, RawEntry};
use markers::sys::{markers_get_stats, Stats};

/// The disabled site.
pub(crate) const NOP5: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];

/// One KTAP document, printed through printk as the tests run.
pub(crate) struct Ktap {
    pub(crate) n: u32,
    pub(crate) failed: u32,
}

impl Ktap {
    /// Prints the header and the plan.
    pub(crate) fn begin(name: &str, plan: u32) -> Self {
        pr_info!("KTAP version 1\n");
        pr_info!("# {}\n", name);
        pr_info!("1..{}\n", plan);
        Self { n: 0, failed: 0 }
    }

    /// Records one result.
    pub(crate) fn check(&mut self, name: &str, ok: bool) {
        self.n += 1;
        if ok {
            pr_info!("ok {} {}\n", self.n, name);
        } else {
            pr_info!("not ok {} {}\n", self.n, name);
            self.failed += 1;
        }
    }

    /// Records a skipped test.
    pub(crate) fn skip(&mut self, name: &str, why: &str) {
        self.n += 1;
        pr_info!("ok {} {} # SKIP {}\n", self.n, name, why);
    }
}

extern "C" {
    static __markers_start: RawEntry;
    static __markers_stop: RawEntry;
}

/// This module's own `__markers` entries.
pub(crate) fn entries() -> &'static [RawEntry] {
    // SAFETY: the linker script puts the module's entries between the two
    // symbols; the section is part of the loaded module.
    unsafe {
        let start = core::ptr::addr_of!(__markers_start);
        let stop = core::ptr::addr_of!(__markers_stop);
        let n = (stop as usize - start as usize) / core::mem::size_of::<RawEntry>();
        core::slice::from_raw_parts(start, n)
    }
}

/// The marker name of an entry of this module.
pub(crate) fn entry_name(e: &RawEntry) -> &'static [u8] {
    // SAFETY: the registry validated every entry of this module at load.
    unsafe {
        let d = &*(e.desc_addr() as *const RawDesc);
        CStr::from_ptr(d.name.cast()).to_bytes()
    }
}

/// The trampoline of an entry's invocation.
pub(crate) fn tramp_of(e: &RawEntry) -> usize {
    // SAFETY: the registry validated every entry of this module at load.
    unsafe { (*(e.desc_addr() as *const RawDesc)).tramp as usize }
}

/// The sites of marker `name` in this module.
pub(crate) fn sites_of(name: &[u8]) -> KVec<&'static RawEntry> {
    let mut v = KVec::new();
    for e in entries() {
        if entry_name(e) == name {
            let _ = v.push(e, GFP_KERNEL);
        }
    }
    v
}

/// The five bytes at a site of this module.
pub(crate) fn bytes_at(addr: usize) -> [u8; 5] {
    let mut b = [0u8; 5];
    for (i, x) in b.iter_mut().enumerate() {
        // SAFETY: `addr` is a site in this module's text.
        *x = unsafe { core::ptr::read_volatile((addr + i) as *const u8) };
    }
    b
}

/// The bytes of the first site of marker `name`, or zeros.
pub(crate) fn site_bytes(name: &[u8]) -> [u8; 5] {
    sites_of(name)
        .first()
        .map_or([0; 5], |e| bytes_at(e.code_addr()))
}

/// The enabled bytes of an entry's site: `jmp rel32` to its block.
pub(crate) fn jmp_to(e: &RawEntry) -> [u8; 5] {
    // CAST: site and block are within one module.
    let rel = (e.target_addr() as i64 - (e.code_addr() as i64 + 5)) as i32;
    let r = rel.to_le_bytes();
    [0xe9, r[0], r[1], r[2], r[3]]
}

/// The patcher's counters.
pub(crate) fn stats() -> Stats {
    let mut s = Stats::default();
    // SAFETY: `s` is a writable `struct markers_stats`.
    unsafe { markers_get_stats(&mut s) };
    s
}

/// A short voluntary sleep, for test threads that hit sites in a loop: a
/// quiescent state for RCU-tasks, whose grace periods every probe change
/// waits for (a thread that never sleeps would hold them off forever, as it
/// would ftrace's and BPF's).
#[allow(dead_code)]
pub(crate) fn quiesce() {
    // SAFETY: a plain sleep in process context.
    unsafe { kernel::bindings::usleep_range_state(10, 20, kernel::bindings::TASK_UNINTERRUPTIBLE) };
}
