// SPDX-License-Identifier: GPL-2.0

//! The registry: every marker site of every loaded client module.
//!
//! # Lifecycle
//!
//! - `MODULE_STATE_COMING` (the module is formed, its text read-only, its
//!   init not yet run): [`Registry::module_coming`] finds the module's
//!   `__markers_start`/`__markers_stop` in its symbol table (at COMING,
//!   `mod->kallsyms` still holds the full table; the bounds come from the
//!   client linker script), checks every entry and its descriptor, groups the
//!   sites by marker name, points each invocation's `SiteState` at its
//!   marker, publishes the new site table for the int3 handler, and enables
//!   the new sites of markers that are already enabled.
//! - `MODULE_STATE_LIVE` (init has run; init memory is about to be freed):
//!   sites in init text are retired, removed from the handler's table, and
//!   never patched again.
//! - `MODULE_STATE_GOING` (after `exit()`, or after a failed init): the
//!   module's sites leave the table, a grace period passes, and only then
//!   are they freed; the module's text is freed after the notifier returns,
//!   so no pass or trap can touch a freed site.
//!
//! Everything here runs under the registry mutex.
//!
//! # What is checked (a module's section is untrusted input)
//!
//! For every entry: it lies in the module, the site and its block lie in the
//! module's text (core or init), the site holds the 5-byte NOP, and the
//! descriptor lies in the module, has the right magic and layout, names this
//! module as its owner, and has a valid name (`[A-Za-z0-9_]`, 1 to 63
//! characters), format and signature. A bad entry is skipped with a log line
//! naming the module and the reason; the rest of the module's markers still
//! register, and the module still loads. A name used with two signatures
//! keeps the first; the sites of the other are refused with a log line.

use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use kernel::bindings;
use kernel::prelude::*;
use kernel::str::BStr;

use markers::section::{Dispatch, RawDesc, RawEntry, SiteState, DESC_LAYOUT, DESC_MAGIC, NAME_MAX};

use crate::patcher::{self, Site, SiteTable, ENABLED, NOP5, RETIRED};
use crate::probes::{self, Probe, ProbeArray, ProbeFn, ProbeState};

/// A marker: every site of one name, in every module.
pub(crate) struct Marker {
    /// The name, without NUL.
    pub(crate) name: KVec<u8>,
    /// The format string of the first descriptor seen, without NUL.
    pub(crate) format: KVec<u8>,
    /// The argument signature, NUL-padded.
    pub(crate) sig: [u8; 16],
    /// Enabled explicitly (`markers_enable()`, the control file).
    pub(crate) explicit: bool,
    /// Attached probes registered with `MARKERS_PROBE_ENABLE`.
    pub(crate) enable_refs: usize,
    /// The attached probes, published for the dispatchers (see `probes.rs`).
    pub(crate) probes: core::sync::atomic::AtomicPtr<ProbeArray>,
    /// The dispatch without probes: `count_hit` on this marker.
    count_disp: Dispatch,
    /// The dispatch for several probes: `fire_multi` on this marker.
    multi_disp: Dispatch,
    /// The probe (handler, data) the marker's trampolines jump to directly,
    /// or `None` while they jump to `markers_call_indirect`.
    direct: Option<(usize, usize)>,
    /// Number of registered sites.
    pub(crate) nsites: usize,
    /// Times an enabled site of this marker ran.
    pub(crate) hits: AtomicU64,
}

impl Drop for Marker {
    fn drop(&mut self) {
        // A marker is dropped only when its last site has gone, after the
        // grace period that unpublished the sites: no enabled block can
        // still read its array.
        drop(probes::publish(self, None));
    }
}

impl Marker {
    /// The dispatch its sites call now: the only attached probe, or one of
    /// the marker's own dispatchers. Valid until the next `publish` on this
    /// marker plus a grace period.
    pub(crate) fn current_disp(&self) -> *mut Dispatch {
        let d = match self.array() {
            Some(a) => a.single().unwrap_or(&self.multi_disp),
            None => &self.count_disp,
        };
        d as *const Dispatch as *mut Dispatch
    }

    /// The published probe array, if any.
    fn array(&self) -> Option<&ProbeArray> {
        let arr = self.probes.load(Ordering::Acquire);
        // SAFETY: a published array is alive until it is replaced, which
        // only the registry mutex holder (the caller) does.
        (!arr.is_null()).then(|| unsafe { &*arr })
    }

    /// The (handler, data) its trampolines should jump to directly: its only
    /// attached probe, if it has exactly one.
    fn wanted_direct(&self) -> Option<(usize, usize)> {
        self.array().and_then(ProbeArray::single).map(probes::key)
    }

    /// Whether the marker's sites jump (see "Arming" in `probes.rs`).
    pub(crate) fn armed(&self) -> bool {
        self.explicit || self.enable_refs > 0
    }

    /// The signature as text, without NULs.
    pub(crate) fn sig_str(&self) -> &[u8] {
        let n = self.sig.iter().position(|&b| b == 0).unwrap_or(16);
        &self.sig[..n]
    }
}

/// A client module and its sites.
struct Client {
    module: *mut bindings::module,
    /// Never resized after the module is registered: the table points into
    /// it.
    sites: KVec<Site>,
    /// The module's site states, cleared when it goes.
    states: KVec<*const SiteState>,
    /// The trampolines of its invocations (see `probes.rs`); never resized.
    tramps: KVec<Site>,
}

/// All registered modules and markers.
///
/// # Invariants
///
/// Every `Site::marker` points into a `KBox` of `markers`; a marker is
/// removed only once no site points at it. The table published by
/// [`patcher::publish`] holds exactly the non-retired sites of `clients`.
pub(crate) struct Registry {
    clients: KVec<Client>,
    pub(crate) markers: KVec<KBox<Marker>>,
    pub(crate) probes: KVec<Probe>,
    /// Contexts of the built-in print probes, by marker name.
    prints: KVec<KBox<probes::PrintCtx>>,
}

// SAFETY: the raw pointers in the registry point at module memory and at
// boxes owned by the registry; all access is under the registry mutex.
unsafe impl Send for Registry {}

/// Removes element `i` of `v` without allocating, by swapping in the last.
fn swap_remove<T>(v: &mut KVec<T>, i: usize) -> T {
    let last = v.len() - 1;
    v.as_mut_slice().swap(i, last);
    // SAFETY: `last < len`; the element is read out and the length lowered
    // so it is not dropped twice.
    unsafe {
        let x = core::ptr::read(v.as_ptr().add(last));
        v.set_len(last);
        x
    }
}

fn module_name(m: *const bindings::module) -> &'static CStr {
    // SAFETY: `m` is a module being loaded or unloaded by the caller's
    // notifier; its `name` is a NUL-terminated array that lives as long.
    unsafe { CStr::from_char_ptr((*m).name.as_ptr()) }
}

/// Memory region `t` of module `m`.
fn region(m: *const bindings::module, t: bindings::mod_mem_type) -> (usize, usize) {
    // SAFETY: `m` is valid (see `module_name`); `t` is a valid index.
    let mem = unsafe { &(*m).mem[t as usize] };
    (mem.base as usize, mem.size as usize)
}

fn within(addr: usize, len: usize, (base, size): (usize, usize)) -> bool {
    addr >= base && addr.checked_add(len).is_some_and(|end| end <= base + size)
}

fn in_text(m: *const bindings::module, addr: usize, len: usize) -> Option<bool> {
    if within(addr, len, region(m, bindings::mod_mem_type_MOD_TEXT)) {
        Some(false)
    } else if within(addr, len, region(m, bindings::mod_mem_type_MOD_INIT_TEXT)) {
        Some(true)
    } else {
        None
    }
}

fn in_module(m: *const bindings::module, addr: usize, len: usize) -> bool {
    (0..bindings::mod_mem_type_MOD_MEM_NUM_TYPES)
        .any(|t| within(addr, len, region(m, t as bindings::mod_mem_type)))
}

/// Reads a NUL-terminated string of at most `max` bytes that must lie in
/// module `m`.
fn module_str(m: *const bindings::module, addr: usize, max: usize) -> Option<&'static [u8]> {
    for len in 0..=max {
        if !in_module(m, addr + len, 1) {
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

/// Finds `__markers_start` and `__markers_stop` in the module's symbols.
fn section_bounds(m: *const bindings::module) -> Option<(usize, usize)> {
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

pub(crate) fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

fn valid_sig(sig: &[u8; 16], nargs: u16) -> bool {
    let n = sig.iter().position(|&b| b == 0).unwrap_or(16);
    n == nargs as usize
        && sig[n..].iter().all(|&b| b == 0)
        && sig[..n].iter().all(|b| b"bhHsSiIlLzZpcty".contains(b))
}

/// A signature as the probe API takes it: kind letters, at most 12.
fn valid_sig_str(sig: &[u8]) -> bool {
    sig.len() <= markers::section::ARGS_MAX && sig.iter().all(|b| b"bhHsSiIlLzZpcty".contains(b))
}

/// A probe as registration and unregistration name it.
pub(crate) struct ProbeSpec<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) sig: &'a [u8],
    pub(crate) func: ProbeFn,
    pub(crate) data: *mut c_void,
    pub(crate) enable: bool,
}

/// Whether registered probe `q` is the one `p` names: same name, same
/// handler address, same data.
fn same_probe(q: &Probe, p: &ProbeSpec<'_>) -> bool {
    // CAST: handlers are compared by address, which is what identifies a
    // registration.
    q.name.as_slice() == p.name && q.func as usize == p.func as usize && q.data == p.data
}

/// Collects an iterator into a `KVec`.
trait CollectKVec<T> {
    fn collect_kvec(self) -> Result<KVec<T>>;
}

impl<T, I: Iterator<Item = T>> CollectKVec<T> for I {
    fn collect_kvec(self) -> Result<KVec<T>> {
        let mut v = KVec::new();
        for x in self {
            v.push(x, GFP_KERNEL)?;
        }
        Ok(v)
    }
}

/// Why an entry was refused.
fn refuse(m: *const bindings::module, i: usize, why: &str) {
    pr_err!(
        "module {}: __markers entry {} refused: {}\n",
        module_name(m),
        i,
        why
    );
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            clients: KVec::new(),
            markers: KVec::new(),
            probes: KVec::new(),
            prints: KVec::new(),
        }
    }

    /// Finds a marker by name.
    pub(crate) fn find(&self, name: &[u8]) -> Option<&Marker> {
        self.markers
            .iter()
            .find(|m| m.name.as_slice() == name)
            .map(|m| &**m)
    }

    fn find_or_add(&mut self, name: &[u8], format: &[u8], sig: &[u8; 16]) -> Result<*mut Marker> {
        if let Some(m) = self.markers.iter_mut().find(|m| m.name.as_slice() == name) {
            return Ok(&mut **m);
        }
        let mut n = KVec::new();
        n.extend_from_slice(name, GFP_KERNEL)?;
        let mut f = KVec::new();
        f.extend_from_slice(format, GFP_KERNEL)?;
        let mut b = KBox::new(
            Marker {
                name: n,
                format: f,
                sig: *sig,
                explicit: false,
                enable_refs: 0,
                probes: probes::no_probes(),
                count_disp: Dispatch {
                    func: probes::count_hit,
                    data: core::ptr::null_mut(),
                },
                multi_disp: Dispatch {
                    func: probes::fire_multi,
                    data: core::ptr::null_mut(),
                },
                direct: None,
                nsites: 0,
                hits: AtomicU64::new(0),
            },
            GFP_KERNEL,
        )?;
        let p: *mut Marker = &mut *b;
        // The dispatchers get the marker's final (boxed) address.
        b.count_disp.data = p.cast();
        b.multi_disp.data = p.cast();
        self.markers.push(b, GFP_KERNEL)?;
        Ok(p)
    }

    /// Every site of every module, for iteration.
    pub(crate) fn sites(&self) -> impl Iterator<Item = (&'static CStr, &Site)> {
        self.clients
            .iter()
            .flat_map(|c| c.sites.iter().map(move |s| (module_name(c.module), s)))
    }

    /// Builds and publishes the handler's table from the registered sites;
    /// waits a grace period and frees the old table.
    fn republish(&self) -> Result {
        let all = || {
            Iterator::chain(
                self.sites().map(|(_, s)| s),
                self.clients.iter().flat_map(|c| c.tramps.iter()),
            )
            .filter(|s| s.state.load(Ordering::Relaxed) & RETIRED == 0)
        };
        let mut v = KVec::with_capacity(all().count(), GFP_KERNEL)?;
        for s in all() {
            v.push(s as *const Site, GFP_KERNEL)?;
        }
        // SAFETY: every pointer is a live site (type invariant).
        v.sort_unstable_by_key(|&s| unsafe { (*s).addr });
        let t = KBox::new(SiteTable { sites: v }, GFP_KERNEL)?;
        let old = patcher::publish(Some(t));
        // SAFETY: plain call from process context.
        unsafe { bindings::synchronize_rcu() };
        drop(old);
        Ok(())
    }

    /// Registers a loading module's sites. An error fails the module's load
    /// (only for lack of memory: bad entries are refused one by one).
    pub(crate) fn module_coming(&mut self, m: *mut bindings::module) -> Result {
        let Some((start, stop)) = section_bounds(m) else {
            // Not a client: no __markers bounds.
            return Ok(());
        };
        let esz = core::mem::size_of::<RawEntry>();
        if stop < start || (stop - start) % esz != 0 || !in_module(m, start, stop - start) {
            pr_err!(
                "module {}: malformed __markers section ({:#x}..{:#x}), markers ignored\n",
                module_name(m),
                start,
                stop
            );
            return Ok(());
        }
        let n = (stop - start) / esz;
        if n == 0 {
            return Ok(());
        }
        let mut sites = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut states = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut tramps = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut new_markers = 0;

        for i in 0..n {
            // SAFETY: the entry lies in the module's memory (checked above)
            // and is 8-byte aligned by the linker script.
            let e = unsafe { &*((start + i * esz) as *const RawEntry) };
            let (addr, target, daddr) = (e.code_addr(), e.target_addr(), e.desc_addr());
            let Some(init) = in_text(m, addr, 5) else {
                refuse(m, i, "site outside the module's text");
                continue;
            };
            if in_text(m, target, 1).is_none() {
                refuse(m, i, "jump target outside the module's text");
                continue;
            }
            if !in_module(m, daddr, core::mem::size_of::<RawDesc>()) || daddr % 8 != 0 {
                refuse(m, i, "descriptor outside the module");
                continue;
            }
            // SAFETY: the descriptor lies in the module, aligned (checked).
            let d = unsafe { &*(daddr as *const RawDesc) };
            if d.magic != DESC_MAGIC || d.layout != DESC_LAYOUT {
                refuse(m, i, "descriptor with a bad magic or layout");
                continue;
            }
            if d.owner != m as *const c_void {
                refuse(m, i, "descriptor of another module");
                continue;
            }
            if d.abi != crate::abi_version_ptr() {
                refuse(m, i, "descriptor built for another markers.ko");
                continue;
            }
            let st = d.state as usize;
            if !in_module(m, st, core::mem::size_of::<SiteState>()) || st % 8 != 0 {
                refuse(m, i, "site state outside the module");
                continue;
            }
            let Some(name) = module_str(m, d.name as usize, NAME_MAX) else {
                refuse(m, i, "name not a string in the module");
                continue;
            };
            if !valid_name(name) {
                refuse(m, i, "name not 1-63 characters of [A-Za-z0-9_]");
                continue;
            }
            let Some(format) = module_str(m, d.format as usize, markers::section::FORMAT_MAX)
            else {
                refuse(m, i, "format not a string in the module");
                continue;
            };
            if !valid_sig(&d.sig, d.nargs) {
                refuse(m, i, "malformed signature");
                continue;
            }
            let s = Site {
                addr,
                target: AtomicUsize::new(target),
                alt: 0,
                state: core::sync::atomic::AtomicU8::new(0),
                init,
                marker: core::ptr::null(),
            };
            let have = s.read();
            if have != NOP5 {
                pr_err!(
                    "module {}: marker {}: site {} does not hold the 5-byte NOP ({:02x?}), refused\n",
                    module_name(m),
                    BStr::from_bytes(name),
                    i,
                    have
                );
                continue;
            }
            let tramp = d.tramp as usize;
            let indirect = call_indirect_addr();
            let t = Site {
                addr: tramp,
                target: AtomicUsize::new(indirect),
                alt: indirect,
                state: core::sync::atomic::AtomicU8::new(0),
                init: false,
                marker: core::ptr::null(),
            };
            if in_text(m, tramp, 5) != Some(false) || t.read() != t.bytes_for(false) {
                refuse(
                    m,
                    i,
                    "trampoline not a jmp to markers_call_indirect in the module's text",
                );
                continue;
            }
            let had = self.markers.len();
            let mk = match self.find_or_add(name, format, &d.sig) {
                Ok(mk) => mk,
                Err(e) => {
                    // Undo what this load did so far; the load fails.
                    self.forget(Client {
                        module: m,
                        sites,
                        states,
                        tramps,
                    });
                    return Err(e);
                }
            };
            if self.markers.len() != had {
                new_markers += 1;
            }
            // SAFETY: `mk` points into a box of `self.markers`.
            let mk_ref = unsafe { &mut *mk };
            if mk_ref.sig != d.sig {
                pr_err!(
                    "module {}: marker {} has signature \"{}\" here but \"{}\" elsewhere; these sites are refused\n",
                    module_name(m),
                    BStr::from_bytes(name),
                    BStr::from_bytes(&d.sig[..d.nargs as usize]),
                    BStr::from_bytes(mk_ref.sig_str())
                );
                continue;
            }
            mk_ref.nsites += 1;
            // Capacity reserved above: cannot fail.
            let _ = sites.push(Site { marker: mk, ..s }, GFP_KERNEL);
            let sp = d.state;
            if !states.contains(&sp) {
                let _ = states.push(sp, GFP_KERNEL);
            }
            if !tramps.iter().any(|x: &Site| x.addr == tramp) {
                // Capacity reserved above: cannot fail.
                let _ = tramps.push(Site { marker: mk, ..t }, GFP_KERNEL);
            }
            // Release: the marker and its dispatch are fully built before an
            // enabled block can see them (the block loads with acquire).
            // SAFETY: `sp` is the module's state, checked to lie in it; `mk`
            // is a live marker.
            unsafe {
                (*sp).disp.store((*mk).current_disp(), Ordering::Release);
                (*sp).marker.store(mk.cast(), Ordering::Release);
            }
        }

        let nsites = sites.len();
        if nsites == 0 {
            self.drop_unused_markers();
            return Ok(());
        }
        // Allocate everything that can fail before the module is published:
        // an error after this point would leave it half-registered, and a
        // failed COMING notifier gets no GOING call.
        let client = Client {
            module: m,
            sites,
            states,
            tramps,
        };
        if self.clients.reserve(1, GFP_KERNEL).is_err() {
            self.forget(client);
            return Err(ENOMEM);
        }
        // Capacity reserved: cannot fail.
        let _ = self.clients.push(client, GFP_KERNEL);
        if let Err(e) = self.republish() {
            // Undo: the module's load fails, nothing of it stays.
            let c = self.clients.len() - 1;
            let client = swap_remove(&mut self.clients, c);
            self.forget(client);
            return Err(e);
        }

        // Attach the pending probes of the new markers, then arm: sites of
        // armed markers (enabled in another module, or holding an enabling
        // probe) jump from the start.
        if let Err(e) = self.attach_new() {
            let c = self.clients.len() - 1;
            let client = swap_remove(&mut self.clients, c);
            if self.republish().is_err() {
                drop(patcher::publish(None));
                // SAFETY: plain call from process context.
                unsafe { bindings::synchronize_rcu() };
            }
            self.forget(client);
            return Err(e);
        }
        // The new module's trampolines follow markers already in direct mode.
        self.direct_tramps(|_| true);
        self.reconcile();
        pr_info!(
            "module {}: {} sites, {} new markers\n",
            module_name(m),
            nsites,
            new_markers
        );
        Ok(())
    }

    /// The module's init has run: retire its init-text sites.
    pub(crate) fn module_live(&mut self, m: *mut bindings::module) {
        let Some(c) = self.clients.iter().find(|c| c.module == m) else {
            return;
        };
        let mut any = false;
        for s in c.sites.iter().filter(|s| s.init) {
            s.state.fetch_or(RETIRED, Ordering::Release);
            any = true;
        }
        if any && self.republish().is_err() {
            // The old table stays: it still lists the retired sites, whose
            // memory stays allocated until the module goes, so the handler
            // remains safe; only an address reused by a later module could
            // match a retired site, and the table is rebuilt at every load.
            pr_warn!(
                "module {}: no memory to rebuild the site table\n",
                module_name(m)
            );
        }
    }

    /// The module is going: forget its sites, after the handler has.
    pub(crate) fn module_going(&mut self, m: *mut bindings::module) {
        // A tracer that left probes registered: its handlers and data go with
        // it, so detach them now (and wait a grace period) instead of calling
        // into freed memory. Its exit() has run; its text is still mapped.
        let leaked = self
            .probes
            .iter()
            .filter(|p| in_module(m, p.func as usize, 1) || in_module(m, p.data as usize, 1))
            .count();
        if leaked > 0 {
            pr_warn!(
                "module {} is going with {} probes registered; unregistering them\n",
                module_name(m),
                leaked
            );
            self.remove_probes(|p| {
                in_module(m, p.func as usize, 1) || in_module(m, p.data as usize, 1)
            });
        }
        let Some(i) = self.clients.iter().position(|c| c.module == m) else {
            return;
        };
        let client = swap_remove(&mut self.clients, i);
        // Unpublish before freeing. If no memory is left to build a smaller
        // table, publish none: sites of other modules then lose only the
        // late-trap safety net until the next rebuild, never correctness of
        // a pass (passes need a table, and the next load rebuilds it).
        if self.republish().is_err() {
            drop(patcher::publish(None));
            // SAFETY: plain call from process context.
            unsafe { bindings::synchronize_rcu() };
        }
        self.forget(client);
    }

    fn forget(&mut self, client: Client) {
        for &st in client.states.iter() {
            // SAFETY: the module is still in memory during its notifiers.
            unsafe {
                (*st).marker.store(core::ptr::null_mut(), Ordering::Release);
                (*st).disp.store(core::ptr::null_mut(), Ordering::Release);
            }
        }
        for s in client.sites.iter() {
            // SAFETY: the marker outlives its sites (type invariant).
            unsafe { (*(s.marker as *mut Marker)).nsites -= 1 };
        }
        drop(client);
        self.drop_unused_markers();
    }

    fn drop_unused_markers(&mut self) {
        let mut i = 0;
        while i < self.markers.len() {
            if self.markers[i].nsites == 0 {
                drop(swap_remove(&mut self.markers, i));
            } else {
                i += 1;
            }
        }
    }

    /// Enables or disables the named markers, all in one patch pass.
    ///
    /// Unknown names fail the whole call with `ENOENT` before anything
    /// changes. Returns the number of sites that could not be patched (they
    /// are logged and marked broken; the others are patched). A marker
    /// disabled here stays armed while an enabling probe is attached.
    pub(crate) fn set_enabled(&mut self, names: &[&[u8]], enable: bool) -> Result<usize> {
        let mut targets = KVec::with_capacity(names.len(), GFP_KERNEL)?;
        for name in names {
            if !valid_name(name) {
                return Err(EINVAL);
            }
            match self.markers.iter().position(|m| m.name.as_slice() == *name) {
                Some(i) => targets.push(i, GFP_KERNEL)?,
                None => return Err(ENOENT),
            }
        }
        for &i in targets.iter() {
            self.markers[i].explicit = enable;
        }
        Ok(self.reconcile())
    }

    /// Patches every site whose state differs from its marker's arming, in
    /// one pass. Returns the number of sites refused.
    pub(crate) fn reconcile(&mut self) -> usize {
        let mut n = 0;
        for (_, s) in self.sites() {
            // SAFETY: the marker outlives its sites (type invariant).
            if site_enabled(s) != unsafe { (*s.marker).armed() } {
                n += 1;
            }
        }
        if n == 0 {
            return 0;
        }
        let mut batch = match KVec::with_capacity(n, GFP_KERNEL) {
            Ok(b) => b,
            Err(_) => {
                pr_err!("no memory for a patch pass of {} sites\n", n);
                return n;
            }
        };
        for (_, s) in self.sites() {
            // SAFETY: as above.
            let armed = unsafe { (*s.marker).armed() };
            if site_enabled(s) != armed {
                // Capacity reserved: cannot fail.
                let _ = batch.push((s, armed), GFP_KERNEL);
            }
        }
        patcher::apply(&batch).refused
    }

    /// Rebuilds the probe arrays and enabling counts of the markers that
    /// `filter` selects. All allocations happen before anything is
    /// published: on error nothing changed. Returns the replaced arrays, to
    /// be freed after a grace period.
    fn refresh(&mut self, filter: impl Fn(&Marker) -> bool) -> Result<KVec<KBox<ProbeArray>>> {
        let n = self.markers.iter().filter(|m| filter(m)).count();
        let mut built = KVec::with_capacity(n, GFP_KERNEL)?;
        for m in self.markers.iter().filter(|m| filter(m)) {
            built.push(probes::build(m, &self.probes)?, GFP_KERNEL)?;
        }
        let mut old = KVec::with_capacity(n, GFP_KERNEL)?;
        // Trampolines that jump to a probe whose (handler, data) changes go
        // back to the indirect path first, in one pass: a CPU that loaded
        // the old dispatch then still calls its own handler with its own
        // data, through the dispatch in %rax.
        let leaving = |m: &Marker, new: &Option<KBox<ProbeArray>>| {
            let want = new.as_deref().and_then(ProbeArray::single).map(probes::key);
            m.direct.is_some() && m.direct != want
        };
        let mut batch = KVec::new();
        for (m, new) in self.markers.iter().filter(|m| filter(m)).zip(built.iter()) {
            if leaving(m, new) {
                for t in self.tramps_of(m) {
                    batch.push((t, false), GFP_KERNEL)?;
                }
            }
        }
        if !batch.is_empty() {
            patcher::apply(&batch);
        }
        drop(batch);
        let mut it = built.into_iter();
        for m in self.markers.iter_mut().filter(|m| filter(m)) {
            let new = it.next().flatten();
            if leaving(m, &new) {
                m.direct = None;
            }
            m.enable_refs = probes::enable_refs(m, &self.probes);
            if let Some(o) = probes::publish(m, new) {
                // Capacity reserved: cannot fail.
                let _ = old.push(o, GFP_KERNEL);
            }
            push_dispatch(&self.clients, m);
        }
        // Markers with a single probe now get direct trampolines, once no
        // CPU can still hold another dispatch (whose data the probe would
        // otherwise receive).
        if self
            .markers
            .iter()
            .any(|m| filter(m) && m.wanted_direct().is_some() && m.direct != m.wanted_direct())
        {
            // SAFETY: plain call from process context.
            unsafe { bindings::synchronize_rcu() };
            self.direct_tramps(&filter);
        }
        Ok(old)
    }

    /// The trampolines of marker `m`, in every module.
    fn tramps_of<'a>(&'a self, m: &'a Marker) -> impl Iterator<Item = &'a Site> + 'a {
        let mp = m as *const Marker;
        self.clients
            .iter()
            .flat_map(|c| c.tramps.iter())
            .filter(move |t| t.marker == mp)
    }

    /// Points the trampolines of the markers `filter` selects that have a
    /// single probe at it, in one pass. The caller guarantees that no CPU
    /// still holds another dispatch of those markers.
    fn direct_tramps(&mut self, filter: impl Fn(&Marker) -> bool) {
        let mut batch = KVec::new();
        for m in self.markers.iter().filter(|m| filter(m)) {
            let Some((func, _)) = m.wanted_direct() else {
                continue;
            };
            for t in self.tramps_of(m) {
                let on = t.state.load(Ordering::Relaxed) & ENABLED != 0;
                if on && t.target.load(Ordering::Relaxed) == func {
                    continue;
                }
                if on {
                    // Changing a direct target needs the indirect path in
                    // between (see `refresh`): never happens here.
                    continue;
                }
                // Before the pass: the handler emulates the new target.
                t.target.store(func, Ordering::Release);
                if batch.push((t, true), GFP_KERNEL).is_err() {
                    // Without memory the trampoline stays indirect: slower,
                    // still correct.
                    break;
                }
            }
        }
        if !batch.is_empty() {
            patcher::apply(&batch);
        }
        drop(batch);
        for m in self.markers.iter_mut().filter(|m| filter(m)) {
            let want = m.wanted_direct();
            if want.is_some() {
                m.direct = want;
            }
        }
    }

    /// Attaches pending probes to markers that have none attached yet (the
    /// markers of a module that just loaded), logging mismatches.
    fn attach_new(&mut self) -> Result {
        for m in self.markers.iter() {
            if m.probes.load(Ordering::Relaxed).is_null() {
                probes::log_mismatches(m, &self.probes);
            }
        }
        // Markers without an array have nothing to free.
        let old = self.refresh(|m| m.probes.load(Ordering::Relaxed).is_null())?;
        drop(old);
        Ok(())
    }

    /// Registers a batch of probes: all or nothing, one patch pass, one
    /// grace period.
    pub(crate) fn probes_register(&mut self, batch: &[ProbeSpec<'_>]) -> Result {
        for (i, p) in batch.iter().enumerate() {
            if !valid_name(p.name) || !valid_sig_str(p.sig) {
                pr_err!(
                    "probe on '{}': malformed name or signature \"{}\"\n",
                    BStr::from_bytes(p.name),
                    BStr::from_bytes(p.sig)
                );
                return Err(EINVAL);
            }
            if let Some(m) = self.find(p.name) {
                if m.sig_str() != p.sig {
                    pr_err!(
                        "probe on {}: signature \"{}\" does not match the marker's \"{}\"\n",
                        BStr::from_bytes(p.name),
                        BStr::from_bytes(p.sig),
                        BStr::from_bytes(m.sig_str())
                    );
                    return Err(EINVAL);
                }
            }
            let dup = |q: &ProbeSpec<'_>| {
                q.name == p.name && q.func as usize == p.func as usize && q.data == p.data
            };
            if self.probes.iter().any(|q| same_probe(q, p)) || batch[..i].iter().any(dup) {
                return Err(EEXIST);
            }
        }
        let added = self.probes.len();
        self.probes.reserve(batch.len(), GFP_KERNEL)?;
        for p in batch {
            let mut name = KVec::new();
            let mut sig = [0u8; 16];
            sig[..p.sig.len()].copy_from_slice(p.sig);
            if let Err(e) = name.extend_from_slice(p.name, GFP_KERNEL) {
                self.truncate_probes(added);
                return Err(e.into());
            }
            // Capacity reserved: cannot fail.
            let _ = self.probes.push(
                Probe {
                    name,
                    sig,
                    func: p.func,
                    data: p.data,
                    enable: p.enable,
                },
                GFP_KERNEL,
            );
        }
        let names: KVec<&[u8]> = match batch.iter().map(|p| p.name).collect_kvec() {
            Ok(v) => v,
            Err(e) => {
                self.truncate_probes(added);
                return Err(e);
            }
        };
        match self.refresh(|m| names.contains(&m.name.as_slice())) {
            Ok(old) => {
                self.reconcile();
                if !old.is_empty() {
                    // SAFETY: plain call from process context.
                    unsafe { bindings::synchronize_rcu() };
                }
                drop(old);
                Ok(())
            }
            Err(e) => {
                self.truncate_probes(added);
                Err(e)
            }
        }
    }

    fn truncate_probes(&mut self, len: usize) {
        while self.probes.len() > len {
            let last = self.probes.len() - 1;
            drop(swap_remove(&mut self.probes, last));
        }
    }

    /// Unregisters a batch of probes: all or nothing (`ENOENT` if one is not
    /// registered), one patch pass, one grace period. When it returns, no
    /// handler of the batch runs or will run.
    pub(crate) fn probes_unregister(&mut self, batch: &[ProbeSpec<'_>]) -> Result {
        for p in batch {
            if !self.probes.iter().any(|q| same_probe(q, p)) {
                return Err(ENOENT);
            }
        }
        self.remove_probes(|q| batch.iter().any(|p| same_probe(q, p)));
        Ok(())
    }

    /// Removes the probes `pred` selects; never fails. Republishes the
    /// affected arrays (or, without memory, unpublishes them), rearms, waits
    /// a grace period, and frees.
    fn remove_probes(&mut self, pred: impl Fn(&Probe) -> bool) -> usize {
        let mut removed: KVec<Probe> = KVec::new();
        let mut i = 0;
        while i < self.probes.len() {
            if pred(&self.probes[i]) {
                let p = swap_remove(&mut self.probes, i);
                // On failure the probe is dropped here, already out of the
                // list: probes own no memory that handlers use.
                let _ = removed.push(p, GFP_KERNEL);
            } else {
                i += 1;
            }
        }
        // Which markers change: those a removed probe was attached to. The
        // removed list may be short of some probes on allocation failure, so
        // fall back to all markers then.
        let all = removed.is_empty();
        let touched = |m: &Marker| {
            all || removed
                .iter()
                .any(|p| p.name.as_slice() == m.name.as_slice())
        };
        let n = removed.len();
        let old = match self.refresh(touched) {
            Ok(old) => old,
            Err(_) => {
                // No memory for smaller arrays: unpublish every array that
                // may hold a removed probe; the rest of their probes miss
                // hits until the next change. Logged, never unsafe.
                pr_err!("no memory to rebuild probe arrays; detaching all probes of the affected markers\n");
                let mut old = KVec::new();
                // Direct trampolines leave their probe first, one site per
                // pass (that needs no memory), as in `refresh`.
                for i in 0..self.markers.len() {
                    if self.markers[i].direct.is_none() {
                        continue;
                    }
                    let mp = &*self.markers[i] as *const Marker;
                    for t in self.clients.iter().flat_map(|c| c.tramps.iter()) {
                        if t.marker == mp {
                            patcher::apply(&[(t, false)]);
                        }
                    }
                    self.markers[i].direct = None;
                }
                for m in self.markers.iter_mut() {
                    if let Some(o) = probes::publish(m, None) {
                        if old.reserve(1, GFP_ATOMIC).is_ok() {
                            let _ = old.push(o, GFP_ATOMIC);
                        } else {
                            // Cannot even remember it: leak it rather than
                            // free it under a running handler.
                            pr_err!("leaking a probe array\n");
                            let _ = KBox::into_raw(o);
                        }
                    }
                    push_dispatch(&self.clients, m);
                    m.enable_refs = 0;
                }
                old
            }
        };
        self.reconcile();
        // SAFETY: plain call from process context.
        unsafe { bindings::synchronize_rcu() };
        drop(old);
        n
    }

    /// Attaches (`on`) or detaches the built-in print probe of the named,
    /// loaded markers. It arms the marker while attached.
    pub(crate) fn set_print(&mut self, name: &[u8], on: bool) -> Result {
        let idx = self
            .prints
            .iter()
            .position(|c| &c.name[..c.name.len() - 1] == name);
        if !on {
            let Some(i) = idx else {
                return Err(ENOENT);
            };
            let data = &*self.prints[i] as *const probes::PrintCtx as *mut c_void;
            let spec = ProbeSpec {
                name,
                sig: b"",
                func: probes::print_probe,
                data,
                enable: true,
            };
            self.probes_unregister(core::slice::from_ref(&spec))?;
            // Unregistering waited a grace period: the context is unused.
            drop(swap_remove(&mut self.prints, i));
            return Ok(());
        }
        if idx.is_some() {
            return Err(EEXIST);
        }
        let Some(m) = self.find(name) else {
            return Err(ENOENT);
        };
        let mut n = KVec::new();
        n.extend_from_slice(name, GFP_KERNEL)?;
        n.push(0, GFP_KERNEL)?;
        let mut f = KVec::new();
        f.extend_from_slice(&m.format, GFP_KERNEL)?;
        let sig = m.sig;
        let ctx = KBox::new(
            probes::PrintCtx {
                name: n,
                format: f,
                sig,
            },
            GFP_KERNEL,
        )?;
        let data = &*ctx as *const probes::PrintCtx as *mut c_void;
        self.prints.reserve(1, GFP_KERNEL)?;
        let sig_len = sig.iter().position(|&b| b == 0).unwrap_or(16);
        let spec = ProbeSpec {
            name,
            sig: &sig[..sig_len],
            func: probes::print_probe,
            data,
            enable: true,
        };
        self.probes_register(core::slice::from_ref(&spec))?;
        // Capacity reserved: cannot fail.
        let _ = self.prints.push(ctx, GFP_KERNEL);
        Ok(())
    }

    /// The state of a registered probe, or `ENOENT`.
    pub(crate) fn probe_state(&self, p: &ProbeSpec<'_>) -> Result<ProbeState> {
        self.probes
            .iter()
            .find(|q| same_probe(q, p))
            .map(|q| probes::state_of(q, &self.markers))
            .ok_or(ENOENT)
    }

    /// The site whose address is `addr`, if registered.
    pub(crate) fn site_at(&self, addr: usize) -> Option<&Site> {
        self.sites().map(|(_, s)| s).find(|s| s.addr == addr)
    }

    /// Number of registered client modules.
    pub(crate) fn nclients(&self) -> usize {
        self.clients.len()
    }
}

/// Address of `markers_call_indirect` (`markers_tramp.S`).
fn call_indirect_addr() -> usize {
    extern "C" {
        fn markers_call_indirect();
    }
    markers_call_indirect as *const () as usize
}

/// Points every site state of marker `m` at its current dispatch. The old
/// dispatch may still be in use until a grace period has passed.
fn push_dispatch(clients: &KVec<Client>, m: &Marker) {
    let d = m.current_disp();
    let mp = m as *const Marker as *mut c_void;
    for c in clients.iter() {
        for &st in c.states.iter() {
            // SAFETY: the states of registered clients are alive.
            let st = unsafe { &*st };
            if st.marker.load(Ordering::Relaxed) == mp {
                // Release: the dispatch is fully built (it is immutable).
                st.disp.store(d, Ordering::Release);
            }
        }
    }
}

/// `ENABLED` as a bool.
pub(crate) fn site_enabled(s: &Site) -> bool {
    s.state.load(Ordering::Relaxed) & ENABLED != 0
}

/// Reads a NUL-terminated C string passed to an exported function.
///
/// # Safety
///
/// `p` must be null or point at a NUL-terminated string.
pub(crate) unsafe fn c_name<'a>(p: *const u8) -> Result<&'a [u8]> {
    if p.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let s = unsafe { CStr::from_char_ptr(p) }.as_bytes();
    if !valid_name(s) {
        return Err(EINVAL);
    }
    Ok(s)
}
