// SPDX-License-Identifier: GPL-2.0

//! Reading a client module's `__markers` section: untrusted input.
//!
//! [`bounds`] finds the section in a loading module's symbol table (at
//! `MODULE_STATE_COMING`, `mod->kallsyms` still holds the full table; the
//! bounds come from the client linker script). [`validate`] checks every
//! entry against the module's memory regions and returns the entries that
//! pass, logging each refusal with the module, the entry's index and the
//! reason. A bad entry is skipped; the module's other markers still
//! register and the module still loads.
//!
//! What an entry must satisfy:
//!
//! - the section starts 8-byte aligned and holds whole entries;
//! - the site (5 bytes) and its block lie in the same text region of the
//!   module (core text, or init text), and the site holds the 5-byte NOP;
//!   no two entries name the same site;
//! - the descriptor lies in the module, aligned, with the right magic and
//!   layout, names this module as its owner and this `markers.ko` as its
//!   ABI, and has a valid name (`[A-Za-z0-9_]`, 1 to 63 characters), format
//!   (at most 255 bytes) and signature (at most 12 argument kinds, as many
//!   as `nargs`);
//! - its `SiteState` lies, aligned, in the module's writable data
//!   (`MOD_DATA`: not read-only, not read-only after init, not init data),
//!   because the registry writes it;
//! - its trampoline lies in the module's core text and is a `jmp` to
//!   `markers_dispatch_<nargs>`;
//! - its trace event recorder lies in the module's core text. (Its first
//!   bytes say nothing: with FineIBT the kernel rewrites a function's
//!   `endbr64` at load.)

use core::ffi::c_void;

use kernel::bindings;
use kernel::prelude::*;
use kernel::str::BStr;

use markers::section::{
    RawDesc, RawEntry, SiteState, ARGS_MAX, DESC_LAYOUT, DESC_MAGIC, FORMAT_MAX, NAME_MAX,
};

use crate::text::{jmp, NOP5};

/// A module's memory regions, as `[base, base + size)` pairs indexed by
/// `enum mod_mem_type`.
pub(crate) struct Regions {
    mem: [(usize, usize); bindings::mod_mem_type_MOD_MEM_NUM_TYPES as usize],
}

impl Regions {
    /// The regions of module `m`.
    pub(crate) fn of(m: *const bindings::module) -> Self {
        let mut mem = [(0, 0); bindings::mod_mem_type_MOD_MEM_NUM_TYPES as usize];
        for (t, r) in mem.iter_mut().enumerate() {
            // SAFETY: `m` is a module in one of its notifier states, valid
            // for the call; `t` is a valid index.
            let x = unsafe { &(*m).mem[t] };
            *r = (x.base as usize, x.size as usize);
        }
        Self { mem }
    }

    fn region(&self, t: bindings::mod_mem_type) -> (usize, usize) {
        self.mem[t as usize]
    }

    /// Whether `[addr, addr + len)` lies in region `t`.
    pub(crate) fn within(&self, t: bindings::mod_mem_type, addr: usize, len: usize) -> bool {
        let (base, size) = self.region(t);
        addr >= base && addr.checked_add(len).is_some_and(|end| end <= base + size)
    }

    /// Which text region holds `[addr, addr + len)`: `Some(false)` core,
    /// `Some(true)` init.
    pub(crate) fn text(&self, addr: usize, len: usize) -> Option<bool> {
        if self.within(bindings::mod_mem_type_MOD_TEXT, addr, len) {
            Some(false)
        } else if self.within(bindings::mod_mem_type_MOD_INIT_TEXT, addr, len) {
            Some(true)
        } else {
            None
        }
    }

    /// Whether `[addr, addr + len)` lies in any region of the module.
    pub(crate) fn contains(&self, addr: usize, len: usize) -> bool {
        (0..bindings::mod_mem_type_MOD_MEM_NUM_TYPES)
            .any(|t| self.within(t as bindings::mod_mem_type, addr, len))
    }

    /// Reads a NUL-terminated string of at most `max` bytes that must lie in
    /// the module.
    fn str_at(&self, addr: usize, max: usize) -> Option<&'static [u8]> {
        for len in 0..=max {
            if !self.contains(addr.checked_add(len)?, 1) {
                return None;
            }
            // SAFETY: `addr + len` lies in the module's memory, checked above.
            if unsafe { *((addr + len) as *const u8) } == 0 {
                // SAFETY: the `len` bytes were just read from module memory.
                return Some(unsafe { core::slice::from_raw_parts(addr as *const u8, len) });
            }
        }
        None
    }
}

/// The module's name.
pub(crate) fn module_name(m: *const bindings::module) -> &'static CStr {
    // SAFETY: `m` is a module being loaded or unloaded by the caller's
    // notifier; its `name` is a NUL-terminated array that lives as long.
    unsafe { CStr::from_char_ptr((*m).name.as_ptr()) }
}

/// Finds `__markers_start` and `__markers_stop` in a loading module's
/// symbols. `None`: the module has no markers.
pub(crate) fn bounds(m: *const bindings::module) -> Option<(usize, usize)> {
    // SAFETY: at COMING, `kallsyms` points at the module's full symbol table,
    // which stays in place until the module is live; the loader is the only
    // writer and has finished.
    let ks = unsafe { (*m).kallsyms };
    if ks.is_null() {
        return None;
    }
    // SAFETY: `ks` is valid, see above.
    let (symtab, num, strtab) = unsafe { ((*ks).symtab, (*ks).num_symtab, (*ks).strtab) };
    let (mut start, mut stop) = (None, None);
    for i in 0..num as usize {
        // SAFETY: `i < num_symtab`.
        let sym = unsafe { &*symtab.add(i) };
        // SAFETY: `st_name` indexes the NUL-terminated string table.
        let name = unsafe { CStr::from_char_ptr(strtab.add(sym.st_name as usize)) };
        match name.as_bytes() {
            b"__markers_start" => start = Some(sym.st_value as usize),
            b"__markers_stop" => stop = Some(sym.st_value as usize),
            _ => {}
        }
    }
    Some((start?, stop?))
}

/// A marker name: 1 to 63 characters of `[A-Za-z0-9_]`.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Whether `name` is reserved: the name of a file of `/sys/kernel/markers`
/// itself, which a marker's directory there would clash with.
pub(crate) fn reserved_name(name: &[u8]) -> bool {
    name == b"control" || name == b"stats"
}

/// The argument kinds a signature may hold.
const KINDS: &[u8] = b"bhHsSiIlLzZpcty";

/// A signature as the probe API takes it: kind letters, at most 12.
pub(crate) fn valid_sig_str(sig: &[u8]) -> bool {
    sig.len() <= ARGS_MAX && sig.iter().all(|b| KINDS.contains(b))
}

fn valid_sig(sig: &[u8; 16], nargs: u16) -> bool {
    let n = sig.iter().position(|&b| b == 0).unwrap_or(16);
    n == nargs as usize
        && n <= ARGS_MAX
        && sig[n..].iter().all(|&b| b == 0)
        && valid_sig_str(&sig[..n])
}

/// An entry that passed every check.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    /// Its index in the section.
    pub(crate) index: usize,
    /// The site.
    pub(crate) addr: usize,
    /// Its enabled block.
    pub(crate) target: usize,
    /// The site is in init text.
    pub(crate) init: bool,
    pub(crate) name: &'static [u8],
    pub(crate) format: &'static [u8],
    /// NUL-padded.
    pub(crate) sig: [u8; 16],
    pub(crate) nargs: u16,
    /// The invocation's state, in the module's writable data.
    pub(crate) state: *const SiteState,
    /// The invocation's trampoline, in the module's core text.
    pub(crate) tramp: usize,
    /// The recorder of the marker's trace event, in the module's core text.
    pub(crate) recorder: usize,
}

/// What `validate` checks descriptors against.
pub(crate) struct Expect {
    /// `markers_abi_version` of this `markers.ko`.
    pub(crate) abi: *const u32,
    /// `markers_dispatch_<n>` for each arity `n`, where a fresh trampoline
    /// of a marker of `n` arguments jumps.
    pub(crate) indirect: [usize; ARGS_MAX + 1],
}

fn refuse(m: *const bindings::module, i: usize, why: &str) {
    pr_err!(
        "module {}: __markers entry {} refused: {}\n",
        module_name(m),
        i,
        why
    );
}

/// Checks one entry; `Err` is the reason it is refused.
fn check(
    m: *const bindings::module,
    r: &Regions,
    e: &RawEntry,
    x: &Expect,
) -> core::result::Result<Entry, &'static str> {
    let (addr, target, daddr) = (e.code_addr(), e.target_addr(), e.desc_addr());
    let init = r.text(addr, 5).ok_or("site outside the module's text")?;
    if r.text(target, 1) != Some(init) {
        return Err("jump target not in the site's text region");
    }
    if !r.contains(daddr, core::mem::size_of::<RawDesc>()) || daddr % 8 != 0 {
        return Err("descriptor outside the module");
    }
    // SAFETY: the descriptor lies in the module, aligned (checked).
    let d = unsafe { &*(daddr as *const RawDesc) };
    if d.magic != DESC_MAGIC || d.layout != DESC_LAYOUT {
        return Err("descriptor with a bad magic or layout");
    }
    if d.owner != m as *const c_void {
        return Err("descriptor of another module");
    }
    if d.abi != x.abi {
        return Err("descriptor built for another markers.ko");
    }
    let st = d.state as usize;
    if !r.within(
        bindings::mod_mem_type_MOD_DATA,
        st,
        core::mem::size_of::<SiteState>(),
    ) || st % 8 != 0
    {
        return Err("site state not in the module's writable data");
    }
    let name = r
        .str_at(d.name as usize, NAME_MAX)
        .ok_or("name not a string in the module")?;
    if !valid_name(name) {
        return Err("name not 1-63 characters of [A-Za-z0-9_]");
    }
    let format = r
        .str_at(d.format as usize, FORMAT_MAX)
        .ok_or("format not a string in the module")?;
    if !valid_sig(&d.sig, d.nargs) {
        return Err("malformed signature (or more than 12 arguments)");
    }
    // SAFETY: the site lies in the module's text (checked above).
    let have = unsafe { core::ptr::read_unaligned(addr as *const [u8; 5]) };
    if have != NOP5 {
        return Err("site does not hold the 5-byte NOP");
    }
    let tramp = d.tramp as usize;
    if r.text(tramp, 5) != Some(false) {
        return Err("trampoline not in the module's core text");
    }
    // SAFETY: the trampoline lies in the module's text (checked above).
    let t = unsafe { core::ptr::read_unaligned(tramp as *const [u8; 5]) };
    // `nargs` is at most `ARGS_MAX` (checked with the signature).
    if Some(t) != jmp(tramp, x.indirect[d.nargs as usize]) {
        return Err("trampoline not a jmp to the dispatcher of its arity");
    }
    let recorder = d.recorder as usize;
    if r.text(recorder, 1) != Some(false) {
        return Err("trace event recorder not in the module's core text");
    }
    Ok(Entry {
        index: 0,
        addr,
        target,
        init,
        name,
        format,
        sig: d.sig,
        nargs: d.nargs,
        state: d.state,
        tramp,
        recorder,
    })
}

/// Checks every entry of the `__markers` section `[start, stop)` of module
/// `m` (regions `r`) and returns those that pass. A malformed section as a
/// whole is refused (no entries); bad entries are refused one by one. The
/// only error is `ENOMEM`.
pub(crate) fn validate(
    m: *const bindings::module,
    r: &Regions,
    (start, stop): (usize, usize),
    x: &Expect,
) -> Result<KVec<Entry>> {
    let esz = core::mem::size_of::<RawEntry>();
    if stop < start
        || (stop - start) % esz != 0
        || start % 8 != 0
        || !r.contains(start, stop - start)
    {
        pr_err!(
            "module {}: malformed __markers section (start {:#x}, {} bytes), markers ignored\n",
            module_name(m),
            start % 8,
            stop.wrapping_sub(start)
        );
        return Ok(KVec::new());
    }
    let n = (stop - start) / esz;
    let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
    for i in 0..n {
        // SAFETY: the entry lies in the module's memory and is 8-byte aligned
        // (both checked above).
        let e = unsafe { &*((start + i * esz) as *const RawEntry) };
        match check(m, r, e, x) {
            Ok(ent) => {
                // Capacity reserved: cannot fail.
                v.push(Entry { index: i, ..ent }, GFP_KERNEL)?;
            }
            Err(why) => {
                if why == "site does not hold the 5-byte NOP" {
                    pr_err!(
                        "module {}: marker {}: site {} does not hold the 5-byte NOP, refused\n",
                        module_name(m),
                        // The name is checked before the bytes.
                        BStr::from_bytes(name_of(r, e)),
                        i
                    );
                } else {
                    refuse(m, i, why);
                }
            }
        }
    }
    without_duplicates(m, v)
}

/// `v` without the entries whose site an earlier entry names (each refused
/// with a log line), in order. Sorts positions by site: O(n log n) for a
/// module of many sites.
fn without_duplicates(m: *const bindings::module, v: KVec<Entry>) -> Result<KVec<Entry>> {
    let mut order = KVec::with_capacity(v.len(), GFP_KERNEL)?;
    let mut dup = KVec::with_capacity(v.len(), GFP_KERNEL)?;
    for p in 0..v.len() {
        // Capacity reserved: cannot fail.
        order.push(p, GFP_KERNEL)?;
        dup.push(false, GFP_KERNEL)?;
    }
    order.sort_unstable_by_key(|&p| (v[p].addr, p));
    let mut ndup = 0;
    for w in order.windows(2) {
        if v[w[0]].addr == v[w[1]].addr {
            dup[w[1]] = true;
            ndup += 1;
        }
    }
    if ndup == 0 {
        return Ok(v);
    }
    let mut out = KVec::with_capacity(v.len() - ndup, GFP_KERNEL)?;
    for (e, &d) in v.iter().zip(dup.iter()) {
        if d {
            refuse(m, e.index, "duplicate of an earlier entry's site");
        } else {
            // Capacity reserved: cannot fail.
            out.push(*e, GFP_KERNEL)?;
        }
    }
    Ok(out)
}

/// The (already validated) name of an entry's descriptor, for a log line.
fn name_of(r: &Regions, e: &RawEntry) -> &'static [u8] {
    // SAFETY: only called once `check` validated the descriptor and name.
    let d = unsafe { &*(e.desc_addr() as *const RawDesc) };
    r.str_at(d.name as usize, NAME_MAX).unwrap_or(b"?")
}
