// SPDX-License-Identifier: GPL-2.0

//! The registry: every marker site of every loaded client module, every
//! marker and every probe.
//!
//! # Lifecycle
//!
//! - `MODULE_STATE_COMING` (the module is formed, its text read-only, its
//!   init not yet run): [`Registry::module_coming`] takes the entries that
//!   `section::validate` accepts, groups the sites by marker name, points
//!   each invocation's `SiteState` at its marker's dispatch, publishes a new
//!   int3 table, attaches pending probes and arms the new sites of armed
//!   markers. Every failure undoes the load: the module's load fails.
//! - `MODULE_STATE_LIVE` (init has run; init memory is about to be freed):
//!   sites in init text are retired, and never patched again.
//! - `MODULE_STATE_GOING` (after `exit()`, or after a failed init): probes
//!   the module left registered are detached, its sites are retired, and
//!   they are freed only after a table without them is published and a
//!   grace period has passed. This allocates nothing that can fail it: when
//!   no memory is left for a smaller table, the old one stays (the handler
//!   ignores retired sites) and the module's sites are parked until a later
//!   rebuild succeeds.
//!
//! Everything here runs under the registry mutex. A module without a
//! `__markers` section never takes it on its way in.
//!
//! # Failure model
//!
//! Each operation either completes or returns an error having changed
//! nothing, with two deliberate exceptions: enabling sites whose text write
//! fails (the others are patched, the failed ones logged, `-EIO`), and
//! unregistration, which never fails for lack of memory (a removed probe is
//! replaced in place by a stub) and fails only when a trampoline that jumps
//! to it cannot be rewritten: then the probe stays registered and is still
//! called with its own data (`-EIO`), and the caller must not free it.

use core::cell::Cell;
use core::ffi::{c_int, c_void};
use core::sync::atomic::Ordering;

use kernel::bindings;
use kernel::prelude::*;
use kernel::str::BStr;

use markers::section::SiteState;

use crate::hits;
use crate::marker::Marker;
use crate::nodes::{self, Node};
use crate::patcher;
use crate::probes::{self, Probe};
use crate::section::{self, module_name, Regions};
use crate::table::{self, SiteTable};
use crate::text::{Site, BROKEN, RETIRED, TORN};
use crate::tramps;

mod attach;
mod batch;

pub(crate) use crate::section::valid_name;
pub(crate) use attach::ProbeSpec;

/// A site or trampoline with the marker it belongs to.
pub(crate) struct MarkedSite {
    pub(crate) site: Site,
    /// The marker; it outlives the site's registration.
    pub(crate) marker: *const Marker,
    /// Its number among its marker's sites (`sites/<id>/`); 0 for a
    /// trampoline.
    pub(crate) id: u32,
    /// Its directory (null for a trampoline, or while being set up).
    node: *mut Node,
    /// Switched on its own: [`FOLLOW`] its marker, [`ON`] or [`OFF`].
    pub(crate) over: Cell<u8>,
    /// The recorder of the marker's trace event in the site's module (its
    /// descriptor's); 0 for a trampoline.
    recorder: usize,
}

/// [`MarkedSite::over`]: the site follows its marker.
pub(crate) const FOLLOW: u8 = 0;
/// [`MarkedSite::over`]: the site is switched on on its own.
pub(crate) const ON: u8 = 1;
/// [`MarkedSite::over`]: the site is switched off on its own.
pub(crate) const OFF: u8 = 2;

impl MarkedSite {
    fn new(site: Site, marker: *const Marker, id: u32, recorder: usize) -> Self {
        Self {
            site,
            marker,
            id,
            node: core::ptr::null_mut(),
            over: Cell::new(FOLLOW),
            recorder,
        }
    }

    /// Whether the site should jump: its own switch, or its marker's.
    pub(crate) fn wanted(&self) -> bool {
        match self.over.get() {
            ON => true,
            OFF => false,
            // SAFETY: the marker outlives its sites (registry invariant).
            _ => unsafe { (*self.marker).armed() },
        }
    }
}

/// A client module and its sites.
struct Client {
    module: *mut bindings::module,
    /// Never resized after the module is registered: the int3 table points
    /// into it.
    sites: KVec<MarkedSite>,
    /// The module's site states, cleared when it goes.
    states: KVec<*const SiteState>,
    /// The trampolines of its invocations; never resized.
    tramps: KVec<MarkedSite>,
    /// The per-CPU hit counters of its invocations, one for each of
    /// `states`, in order; freed with the client, when the module's blocks
    /// no longer run (its exit has returned, or its init never ran).
    _hits: hits::Counters,
}

impl Client {
    fn all(&self) -> impl Iterator<Item = &Site> + Clone {
        Iterator::chain(self.sites.iter(), self.tramps.iter()).map(|s| &s.site)
    }
}

/// All registered modules, markers and probes.
///
/// # Invariants
///
/// Every `MarkedSite::marker` of a client points into a box of `markers`.
/// The published int3 table lists exactly the non-retired sites of
/// `clients`, plus possibly retired sites of `clients` and `zombies`.
/// `zombies.capacity() >= zombies.len() + clients.len()`, so a going client
/// can always be parked without allocating.
pub(crate) struct Registry {
    clients: KVec<Client>,
    /// Gone clients still listed (retired) by the published table.
    zombies: KVec<Client>,
    pub(crate) markers: KVec<KBox<Marker>>,
    pub(crate) probes: KVec<Probe>,
    /// Contexts of the built-in print probes, by marker name.
    prints: KVec<KBox<probes::PrintCtx>>,
    /// Arrays replaced without a grace period in test mode's broken mode
    /// (`probes::gp_skipped`), freed only with the registry.
    graveyard: KVec<KBox<probes::ProbeArray>>,
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

/// Drops the elements of `v` from `len` on.
fn truncate<T>(v: &mut KVec<T>, len: usize) {
    while v.len() > len {
        let last = v.len() - 1;
        drop(swap_remove(v, last));
    }
}

fn synchronize_rcu() {
    // SAFETY: plain call from process context.
    unsafe { bindings::synchronize_rcu() };
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            clients: KVec::new(),
            zombies: KVec::new(),
            markers: KVec::new(),
            probes: KVec::new(),
            prints: KVec::new(),
            graveyard: KVec::new(),
        }
    }

    /// Times an enabled site of marker `m` ran, in every module, loaded or
    /// gone.
    pub(crate) fn hits(&self, m: &Marker) -> u64 {
        let mp = m as *const Marker as *mut core::ffi::c_void;
        let live: u64 = self
            .clients
            .iter()
            .flat_map(|c| c.states.iter())
            // SAFETY: the states of registered clients are alive.
            .map(|&st| unsafe { &*st })
            .filter(|st| st.marker.load(Ordering::Relaxed) == mp)
            .map(|st| hits::sum(st.hits.load(Ordering::Relaxed)))
            .sum();
        m.gone_hits.wrapping_add(live)
    }

    /// Finds a marker that a loaded module defines, by name.
    pub(crate) fn find(&self, name: &[u8]) -> Option<&Marker> {
        self.find_known(name).filter(|m| m.loaded())
    }

    /// Finds a marker by name, loaded or pending.
    pub(crate) fn find_known(&self, name: &[u8]) -> Option<&Marker> {
        self.markers
            .iter()
            .find(|m| m.name.as_slice() == name)
            .map(|m| &**m)
    }

    fn find_or_add(
        &mut self,
        name: &[u8],
        format: &[u8],
        sig: &[u8; 16],
    ) -> Result<(*mut Marker, bool)> {
        if let Some(m) = self.markers.iter_mut().find(|m| m.name.as_slice() == name) {
            if !m.loaded() {
                m.adopt(format, sig)?;
            }
            return Ok((&mut **m, false));
        }
        Ok((self.add_marker(name, format, sig)?, true))
    }

    /// Adds a marker without sites, with its directory.
    fn add_marker(&mut self, name: &[u8], format: &[u8], sig: &[u8; 16]) -> Result<*mut Marker> {
        self.markers.reserve(1, GFP_KERNEL)?;
        let mut b = Marker::new(name, format, sig)?;
        let p: *mut Marker = &mut *b;
        // SAFETY: the marker is boxed and outlives its node (`Marker::drop`
        // removes it); we hold the registry mutex.
        b.node = unsafe { nodes::add_marker(name, p.cast_const().cast()) }.inspect_err(|e| {
            pr_err!(
                "marker {}: cannot create its sysfs directory: {}\n",
                BStr::from_bytes(name),
                e.to_errno()
            )
        })?;
        // Capacity reserved: cannot fail.
        self.markers.push(b, GFP_KERNEL)?;
        Ok(p)
    }

    /// Adds the pending marker `name` (see `Marker::loaded`), explicitly
    /// enabled. Returns its index.
    pub(crate) fn add_pending(&mut self, name: &[u8]) -> Result<usize> {
        let m = self.add_marker(name, b"", &[0; 16])?;
        // SAFETY: just added, in a box of `self.markers`.
        unsafe { (*m).explicit = true };
        pr_info!(
            "marker {}: pending: enabled when a module defining it loads\n",
            BStr::from_bytes(name)
        );
        Ok(self.markers.len() - 1)
    }

    /// Every site of every module, with its module's name.
    pub(crate) fn sites(&self) -> impl Iterator<Item = (&'static CStr, &MarkedSite)> {
        self.clients
            .iter()
            .flat_map(|c| c.sites.iter().map(move |s| (module_name(c.module), s)))
    }

    /// Builds and publishes the handler's table from the registered,
    /// non-retired sites; waits a grace period, then frees the old table
    /// and the parked clients it listed.
    fn republish(&mut self) -> Result {
        let live = self
            .clients
            .iter()
            .flat_map(Client::all)
            .filter(|s| s.state.load(Ordering::Relaxed) & RETIRED == 0);
        // SAFETY: the registry frees a site only after a table without it is
        // published and a grace period has passed (here, or in `retire`).
        let t = unsafe { SiteTable::build(live) }?;
        let old = table::publish(t);
        synchronize_rcu();
        drop(old);
        truncate(&mut self.zombies, 0);
        Ok(())
    }

    /// Registers a loading module's sites (`bounds` of its `__markers`,
    /// checked against `expect`). An error fails the module's load and
    /// leaves nothing of it registered.
    pub(crate) fn module_coming(
        &mut self,
        m: *mut bindings::module,
        bounds: (usize, usize),
        expect: &section::Expect,
    ) -> Result {
        let entries = section::validate(m, &Regions::of(m), bounds, expect)?;
        if entries.is_empty() {
            return Ok(());
        }
        let n = entries.len();
        self.clients.reserve(1, GFP_KERNEL)?;
        let need = self.zombies.len() + self.clients.len() + 1;
        self.zombies
            .reserve(need.saturating_sub(self.zombies.len()), GFP_KERNEL)?;
        // The invocations, each with its counter.
        let mut states = KVec::with_capacity(n, GFP_KERNEL)?;
        for e in entries.iter() {
            if !states.contains(&e.state) {
                // Capacity reserved: cannot fail.
                states.push(e.state, GFP_KERNEL)?;
            }
        }
        let counters = hits::Counters::new(states.len()).inspect_err(|_| {
            pr_err!(
                "module {}: no memory for the hit counters of {} invocations\n",
                module_name(m),
                states.len()
            )
        })?;
        for (i, &st) in states.iter().enumerate() {
            // SAFETY: the state lies in the module's writable data (checked
            // by `section::validate`); no site of it is enabled yet.
            unsafe { (*st).hits.store(counters.get(i), Ordering::Release) };
        }
        let mut client = Client {
            module: m,
            sites: KVec::with_capacity(n, GFP_KERNEL)?,
            states,
            tramps: KVec::with_capacity(n, GFP_KERNEL)?,
            _hits: counters,
        };
        let mut new_markers = 0;
        for e in entries.iter() {
            if section::reserved_name(e.name) {
                pr_err!(
                    "module {}: marker name '{}' is reserved (a file of /sys/kernel/markers); these sites are refused\n",
                    module_name(m),
                    BStr::from_bytes(e.name)
                );
                continue;
            }
            let (mk, new) = match self.find_or_add(e.name, e.format, &e.sig) {
                Ok(x) => x,
                Err(err) => {
                    self.forget(client);
                    return Err(err);
                }
            };
            new_markers += usize::from(new);
            // SAFETY: `mk` points into a box of `self.markers`.
            let mk_ref = unsafe { &mut *mk };
            if mk_ref.sig != e.sig {
                pr_err!(
                    "module {}: marker {} has signature \"{}\" here but \"{}\" elsewhere; these sites are refused\n",
                    module_name(m),
                    BStr::from_bytes(e.name),
                    BStr::from_bytes(&e.sig[..e.nargs as usize]),
                    BStr::from_bytes(mk_ref.sig_str())
                );
                continue;
            }
            mk_ref.nsites += 1;
            let site = Site::new(e.addr, e.target, 0, e.init);
            let id = mk_ref.next_id;
            mk_ref.next_id = id.wrapping_add(1);
            // Capacity reserved above: the pushes cannot fail.
            let _ = client
                .sites
                .push(MarkedSite::new(site, mk, id, e.recorder), GFP_KERNEL);
            if !client.tramps.iter().any(|t| t.site.addr == e.tramp) {
                let indirect = expect.indirect[usize::from(e.nargs)];
                let site = Site::new(e.tramp, indirect, indirect, false);
                let _ = client
                    .tramps
                    .push(MarkedSite::new(site, mk, 0, 0), GFP_KERNEL);
            }
            // Release: the marker and its dispatch are fully built before an
            // enabled block can see them (the block loads with acquire).
            // SAFETY: the state lies in the module's writable data (checked
            // by `section::validate`); `mk` is a live marker.
            unsafe {
                (*e.state)
                    .disp
                    .store(mk_ref.current_disp(), Ordering::Release);
                (*e.state).marker.store(mk.cast(), Ordering::Release);
            }
        }
        drop(entries);
        let nsites = client.sites.len();
        if nsites == 0 {
            self.forget(client);
            return Ok(());
        }
        if let Err(e) = add_site_nodes(&mut client) {
            pr_err!(
                "module {}: cannot create the sysfs directories of its sites: {}\n",
                module_name(m),
                e.to_errno()
            );
            self.forget(client);
            return Err(e);
        }
        if let Err(e) = add_events(m, &client) {
            self.forget(client);
            return Err(e);
        }
        // Capacity reserved: cannot fail.
        let _ = self.clients.push(client, GFP_KERNEL);
        if let Err(e) = self.republish() {
            // The published table never listed the new sites.
            // SAFETY: the kernel has not seen the module's events yet (its
            // notifier runs after ours).
            unsafe { markers_events_abort(m.cast()) };
            let last = self.clients.len() - 1;
            let c = swap_remove(&mut self.clients, last);
            self.forget(c);
            return Err(e);
        }
        if let Err(e) = self.attach_new() {
            // SAFETY: as above.
            unsafe { markers_events_abort(m.cast()) };
            let last = self.clients.len() - 1;
            let c = swap_remove(&mut self.clients, last);
            self.retire(c);
            return Err(e);
        }
        // The new module's trampolines are pointed at their markers'
        // dispatch (their states hold it from the start), with the sites.
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
        for s in c.sites.iter().filter(|s| s.site.init) {
            s.site.state.fetch_or(RETIRED, Ordering::Release);
            any = true;
        }
        if any && self.republish().is_err() {
            // The old table stays: its retired sites are still allocated (the
            // client lives) and the handler ignores them.
            pr_warn!(
                "module {}: no memory to shrink the int3 table; its init sites stay listed, retired\n",
                module_name(m)
            );
        }
    }

    /// The module is going: detach the probes it left registered, then
    /// forget its sites. Allocates nothing it depends on.
    pub(crate) fn module_going(&mut self, m: *mut bindings::module) {
        // A tracer that left probes registered: its handlers and data go with
        // it, so detach them now (and wait a grace period) instead of calling
        // into freed memory. Its exit() has run; its text is still mapped.
        let regions = Regions::of(m);
        let mark = |probes: &mut KVec<Probe>| {
            let mut n = 0;
            for p in probes.iter_mut() {
                if regions.contains(p.func as usize, 1) || regions.contains(p.data as usize, 1) {
                    p.dying = true;
                    n += 1;
                }
            }
            n
        };
        let leaked = mark(&mut self.probes);
        if leaked > 0 {
            pr_warn!(
                "module {} is going with {} probes registered; unregistering them\n",
                module_name(m),
                leaked
            );
            // Only a trampoline that cannot be rewritten fails this; the
            // module's text is about to be freed, so try for a second.
            let mut tries = 0;
            while self.remove_dying().is_err() {
                tries += 1;
                if tries == 50 {
                    pr_crit!(
                        "module {}: a trampoline still jumps into it and cannot be rewritten; its probes stay attached\n",
                        module_name(m)
                    );
                    break;
                }
                // SAFETY: plain sleep in process context.
                unsafe { bindings::msleep(20) };
                mark(&mut self.probes);
            }
        }
        if let Some(i) = self.clients.iter().position(|c| c.module == m) {
            let c = swap_remove(&mut self.clients, i);
            self.retire(c);
        }
    }

    /// Removes a client whose sites the published table may list, without
    /// depending on memory: retires its sites, clears its states, and frees
    /// it after a table without it is published and a grace period has
    /// passed, or parks it until a later rebuild can do so.
    fn retire(&mut self, client: Client) {
        for s in client.all() {
            s.state.fetch_or(RETIRED, Ordering::Release);
        }
        let republished = self.republish().is_ok();
        if !republished {
            pr_warn!(
                "module {}: no memory to shrink the int3 table; its sites stay listed, retired\n",
                module_name(client.module)
            );
            synchronize_rcu();
        }
        self.unlink(&client);
        if !republished {
            // INVARIANT: capacity was reserved when the client registered.
            let _ = self.zombies.push(client, GFP_KERNEL);
        }
        self.drop_unused_markers();
    }

    /// Clears a removed client's states and its share of its markers; its
    /// hits go to its markers' count of gone sites.
    fn unlink(&mut self, client: &Client) {
        for &st in client.states.iter() {
            // SAFETY: the module is still in memory during its notifiers.
            let mk = unsafe { (*st).marker.load(Ordering::Relaxed) }.cast::<Marker>();
            if !mk.is_null() {
                // SAFETY: a state's marker outlives the client's sites.
                unsafe { (*mk).gone_hits += hits::sum((*st).hits.load(Ordering::Relaxed)) };
            }
            // SAFETY: as above.
            unsafe {
                (*st).marker.store(core::ptr::null_mut(), Ordering::Release);
                (*st).disp.store(core::ptr::null_mut(), Ordering::Release);
            }
        }
        for s in client.sites.iter() {
            if !s.node.is_null() {
                // SAFETY: a live node of ours, removed only here; we hold
                // the registry mutex.
                unsafe { nodes::remove(s.node) };
            }
            // SAFETY: the marker outlives its sites (type invariant).
            unsafe { (*(s.marker as *mut Marker)).nsites -= 1 };
        }
    }

    /// Drops a client that no published table lists.
    fn forget(&mut self, client: Client) {
        self.unlink(&client);
        drop(client);
        self.drop_unused_markers();
    }

    /// Drops the markers no module defines any more, except those
    /// explicitly enabled, which stay pending (see `Marker::loaded`).
    pub(crate) fn drop_unused_markers(&mut self) {
        let mut i = 0;
        while i < self.markers.len() {
            let m = &mut self.markers[i];
            if m.loaded() {
                i += 1;
            } else if m.explicit {
                m.unload();
                i += 1;
            } else {
                drop(swap_remove(&mut self.markers, i));
            }
        }
    }

    /// Enables or disables the named markers, all in one patch pass.
    ///
    /// A malformed name fails the call with `EINVAL`, an unknown one with
    /// `ENOENT`, before anything changes. Returns the number of sites that
    /// could not be patched: they are logged, the others are patched, and
    /// the next pass retries those whose write failed (a site refused for
    /// foreign bytes is never written again). A marker disabled here stays
    /// armed while an enabling probe is attached.
    pub(crate) fn set_enabled(&mut self, names: &[&[u8]], enable: bool) -> Result<usize> {
        for name in names {
            if !valid_name(name) {
                return Err(EINVAL);
            }
            if self.find(name).is_none() {
                return Err(ENOENT);
            }
        }
        for i in 0..self.markers.len() {
            if names.contains(&self.markers[i].name.as_slice()) {
                self.set_explicit(i, enable);
            }
        }
        Ok(self.reconcile())
    }

    /// Sets the explicit enable of the marker at index `i` and sends its
    /// sites back to following it. Patches nothing: see `reconcile`.
    pub(crate) fn set_explicit(&mut self, i: usize, enable: bool) {
        self.markers[i].explicit = enable;
        let mp = &*self.markers[i] as *const Marker;
        for c in self.clients.iter() {
            for s in c.sites.iter().filter(|s| s.marker == mp) {
                s.over.set(FOLLOW);
            }
        }
    }

    /// Patches every site whose state differs from its marker's arming (or
    /// that a failed write left torn), and points every trampoline that can
    /// be at its marker's dispatch ([`Registry::tramps_to_point`]), in one
    /// pass. Without memory for a batch: one pass per site, allocating
    /// nothing, and the trampolines stay indirect. Returns the number of
    /// sites refused.
    pub(crate) fn reconcile(&mut self) -> usize {
        let armed = MarkedSite::wanted;
        let differ = |s: &&MarkedSite| {
            let st = s.site.state.load(Ordering::Relaxed);
            // A torn site is repaired by the next pass that includes it; a
            // broken one is left alone.
            (s.site.enabled() != armed(s) || st & TORN != 0) && st & (RETIRED | BROKEN) == 0
        };
        let nsites = self.sites().map(|(_, s)| s).filter(differ).count();
        let ntramps = self.tramps_to_point().count();
        if nsites + ntramps == 0 {
            return 0;
        }
        let mut batch = KVec::new();
        if batch.reserve(nsites + ntramps, GFP_KERNEL).is_err() {
            pr_warn!(
                "no memory for a patch batch of {} sites: one pass each; {} trampolines stay indirect\n",
                nsites,
                ntramps
            );
            return self
                .sites()
                .map(|(_, s)| s)
                .filter(differ)
                .map(|s| patcher::apply(&[(&s.site, armed(s))]).refused)
                .sum();
        }
        for (t, func) in self.tramps_to_point() {
            // Capacity reserved: cannot fail.
            let _ = batch.push(tramps::aim(t, func), GFP_KERNEL);
        }
        for (_, s) in self.sites().filter(|(_, s)| differ(s)) {
            // Capacity reserved: cannot fail.
            let _ = batch.push((&s.site, armed(s)), GFP_KERNEL);
        }
        patcher::apply(&batch);
        // The sites refused now, or whose rewrite failed (a trampoline that
        // could not be pointed just stays indirect).
        let refused = batch[ntramps..]
            .iter()
            .filter(|(s, want)| {
                s.enabled() != *want || s.state.load(Ordering::Relaxed) & (BROKEN | TORN) != 0
            })
            .count();
        drop(batch);
        if ntramps > 0 {
            self.note_direct();
        }
        refused
    }

    /// The registered, non-retired site whose address is `addr`.
    pub(crate) fn site_at(&self, addr: usize) -> Option<&Site> {
        self.sites()
            .map(|(_, s)| &s.site)
            .find(|s| s.addr == addr && s.state.load(Ordering::Relaxed) & RETIRED == 0)
    }

    /// Clients plus probes (see `INTEREST` in `markers_core.rs`); parked
    /// clients hold nothing a module event needs.
    pub(crate) fn interest(&self) -> usize {
        self.clients.len() + self.probes.len()
    }

    /// Drops every marker, at module exit, when no client is left (all
    /// are pending).
    pub(crate) fn forget_markers(&mut self) {
        truncate(&mut self.markers, 0);
    }

    /// Number of registered client modules.
    pub(crate) fn nclients(&self) -> usize {
        self.clients.len()
    }
}

// The module is passed as `void *`: `bindings::module` holds types that are
// not FFI-safe in the lint's eyes (zero-sized lockdep maps).
extern "C" {
    fn markers_events_prepare(
        m: *mut c_void,
        name: *const u8,
        nlen: usize,
        sig: *const u8,
        nargs: usize,
        format: *const u8,
        flen: usize,
        recorder: *const c_void,
    ) -> c_int;
    fn markers_events_commit(m: *mut c_void) -> c_int;
    fn markers_events_abort(m: *mut c_void);
}

/// Gives each marker of a loading module's sites a trace event, unless
/// another module's event has it (`markers_events.c`): the events join the
/// module's `trace_events`, which the kernel's trace notifier, running after
/// ours, registers. Undone on failure.
fn add_events(m: *mut bindings::module, client: &Client) -> Result {
    for s in client.sites.iter() {
        // SAFETY: the marker outlives its sites (`MarkedSite::marker`).
        let mk = unsafe { &*s.marker };
        let sig = mk.sig_str();
        // SAFETY: `m` is the loading module; the slices are live for the
        // call, which copies them.
        let r = unsafe {
            markers_events_prepare(
                m.cast(),
                mk.name.as_ptr(),
                mk.name.len(),
                sig.as_ptr(),
                sig.len(),
                mk.format.as_ptr(),
                mk.format.len(),
                s.recorder as *const c_void,
            )
        };
        if let Err(e) = kernel::error::to_result(r) {
            // SAFETY: nothing of the module's events reached the kernel.
            unsafe { markers_events_abort(m.cast()) };
            return Err(e);
        }
    }
    // SAFETY: `m` is the loading module, at MODULE_STATE_COMING; commit
    // undoes its preparations itself when it fails.
    kernel::error::to_result(unsafe { markers_events_commit(m.cast()) })
}

/// Creates the directory of each of a loading client's sites; on error the
/// ones made are removed with the client (`Registry::unlink`).
fn add_site_nodes(client: &mut Client) -> Result {
    for s in client.sites.iter_mut() {
        let obj = (s as *const MarkedSite).cast();
        // SAFETY: the marker of a registered site is live, with its node;
        // `s` does not move (the vector is never resized) and its node is
        // removed before it is freed (`unlink`); we hold the registry mutex.
        s.node = unsafe { nodes::add_site((*s.marker).node, s.id, obj) }?;
    }
    Ok(())
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
