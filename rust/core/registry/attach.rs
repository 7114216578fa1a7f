// SPDX-License-Identifier: GPL-2.0

//! Probe changes: registering and unregistering probes, the print probe,
//! and what every change does to a marker's probe array, its dispatch and
//! its trampolines (the rules of `tramps.rs`). A child of `registry.rs`,
//! whose state it works on.

use core::ffi::c_void;
use core::sync::atomic::Ordering;

use kernel::prelude::*;
use kernel::str::BStr;

use super::{swap_remove, truncate, Client, Registry};
use crate::marker::Marker;
use crate::probes::{self, Probe, ProbeArray, ProbeFn, ProbeState};
use crate::section::{self, valid_name};
use crate::text::Site;
use crate::tramps;

extern "C" {
    /// Whether `func` has the kCFI type of `reference` (`markers_glue.c`;
    /// always true without CFI).
    fn markers_cfi_same_type(func: ProbeFn, reference: ProbeFn) -> core::ffi::c_int;
}

/// A probe as registration and unregistration name it.
pub(crate) struct ProbeSpec<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) sig: &'a [u8],
    pub(crate) func: ProbeFn,
    pub(crate) data: *mut c_void,
    pub(crate) enable: bool,
}

impl ProbeSpec<'_> {
    /// Whether registered probe `q` is the one this names: same name, same
    /// handler address, same data.
    fn names(&self, q: &Probe) -> bool {
        // Handlers are compared by address, which is what identifies
        // a registration.
        q.name.as_slice() == self.name && core::ptr::eq(q.func, self.func) && q.data == self.data
    }
}

/// A probe change in progress (see [`Registry::refresh`]).
struct Change {
    /// Replaced arrays, freed after a grace period.
    old: KVec<KBox<ProbeArray>>,
    /// Some marker with a new dispatch wants its trampolines pointed at
    /// it: after a grace period (rule 2 of `tramps.rs`).
    direct: bool,
}

impl Registry {
    /// The trampolines of the marker at index `i`, in every module.
    fn tramps_of(&self, i: usize) -> impl Iterator<Item = &Site> + Clone {
        let mp = &*self.markers[i] as *const Marker;
        self.clients
            .iter()
            .flat_map(|c| c.tramps.iter())
            .filter(move |t| t.marker == mp)
            .map(|t| &t.site)
    }

    /// Sends the trampolines of the markers `sel` selects back to the
    /// indirect path, in one pass. Returns whether all of them left; a
    /// marker all of whose trampolines left is no longer direct.
    fn leave_direct(&mut self, sel: impl Fn(&Marker) -> bool) -> bool {
        tramps::leave(
            self.clients
                .iter()
                .flat_map(|c| c.tramps.iter())
                // SAFETY: the marker outlives its trampolines (invariant).
                .filter(|t| sel(unsafe { &*t.marker }))
                .map(|t| &t.site),
        );
        let mut all = true;
        for i in 0..self.markers.len() {
            if !sel(&self.markers[i]) {
                continue;
            }
            if self.tramps_of(i).any(tramps::is_direct) {
                all = false;
            } else {
                self.markers[i].direct = None;
            }
        }
        all
    }

    /// Sends the trampolines of the markers marked `leaving` back to the
    /// indirect path (rule 1 of `tramps.rs`) and clears the marks; `EIO`
    /// when one could not be rewritten.
    fn leave_marked(&mut self) -> Result {
        let all = self.leave_direct(|m| m.leaving);
        for m in self.markers.iter_mut() {
            m.leaving = false;
        }
        if !all {
            pr_err!(
                "a trampoline cannot leave its probe (text write failed): the change is refused\n"
            );
            return Err(EIO);
        }
        Ok(())
    }

    /// The trampolines to point at their marker's current dispatch (its only
    /// probe, its own dispatcher, or its stub), with the function: those
    /// still indirect, of markers not direct to another function (those
    /// must leave first, which every change does before publishing).
    /// Pointing them is safe whenever no dispatch was published without a
    /// grace period since (rule 2 of `tramps.rs`): outside a change, or for
    /// the states of a module that just loaded.
    pub(super) fn tramps_to_point(&self) -> impl Iterator<Item = (&Site, usize)> + Clone {
        self.clients
            .iter()
            .flat_map(|c| c.tramps.iter())
            .filter(|t| tramps::pointable(&t.site))
            .filter_map(|t| {
                // SAFETY: the marker outlives its trampolines.
                let m = unsafe { &*t.marker };
                let want = m.wanted_direct();
                (m.direct.is_none() || m.direct == Some(want)).then_some((&t.site, want.0))
            })
    }

    /// Records which markers are direct after a pass that pointed
    /// trampolines.
    pub(super) fn note_direct(&mut self) {
        for i in 0..self.markers.len() {
            let m = &self.markers[i];
            let want = Some(m.wanted_direct());
            if (m.direct.is_none() || m.direct == want) && self.tramps_of(i).any(tramps::is_direct)
            {
                self.markers[i].direct = want;
            }
        }
    }

    fn untouch(&mut self) {
        for m in self.markers.iter_mut() {
            m.touched = false;
        }
    }

    /// Rebuilds the probe arrays and enabling counts of the touched markers.
    /// All allocations happen first: on `ENOMEM` nothing changed. Then
    /// trampolines that jump to a probe whose dispatch changes go back to
    /// the indirect path; if one cannot, `EIO` and nothing is published.
    /// Then the arrays are published and the site states repointed.
    fn refresh(&mut self) -> Result<Change> {
        let n = self.markers.iter().filter(|m| m.touched).count();
        let mut built = KVec::with_capacity(n, GFP_KERNEL)?;
        for m in self.markers.iter().filter(|m| m.touched) {
            // Capacity reserved: the push cannot fail.
            built.push(probes::build(&m.name, &m.sig, &self.probes)?, GFP_KERNEL)?;
        }
        let old = KVec::with_capacity(n, GFP_KERNEL)?;
        // Rule 1 of `tramps.rs`: leave before the dispatch changes.
        let mut leaving = false;
        for (m, new) in self
            .markers
            .iter_mut()
            .filter(|m| m.touched)
            .zip(built.iter())
        {
            let want = Some(m.key_for(new.as_deref()));
            m.leaving = m.direct.is_some() && m.direct != want;
            leaving |= m.leaving;
        }
        if leaving {
            self.leave_marked()?;
        }
        let mut change = Change { old, direct: false };
        let mut it = built.into_iter();
        for i in 0..self.markers.len() {
            if !self.markers[i].touched {
                continue;
            }
            let new = it.next().flatten();
            let m = &mut self.markers[i];
            m.enable_refs = probes::enable_refs(&m.name, &m.sig, &self.probes);
            let before = m.current_disp();
            if let Some(o) = m.hub.publish(new) {
                // Capacity reserved: cannot fail.
                let _ = change.old.push(o, GFP_KERNEL);
            }
            let m = &self.markers[i];
            push_dispatch(&self.clients, m);
            change.direct |= m.direct != Some(m.wanted_direct()) && m.current_disp() != before;
        }
        Ok(change)
    }

    /// Completes a change: one grace period (the replaced arrays and
    /// dispatches are unused after it), then one pass that points
    /// trampolines at their markers' dispatch and arms or disarms sites.
    fn finish(&mut self, change: Change) {
        if probes::gp_skipped() && !change.direct {
            // Broken on purpose (test mode): no grace period before the
            // caller may free its data. The replaced arrays may still be
            // in use; they are kept until exit. A change of direct
            // trampolines keeps its grace period: without it a trampoline
            // could hand one probe's data to another (or to a dispatcher),
            // breaking markers.ko itself rather than what the torture test
            // checks.
            for a in change.old {
                if self.graveyard.reserve(1, GFP_KERNEL).is_ok() {
                    // Room reserved: cannot fail.
                    let _ = self.graveyard.push(a, GFP_KERNEL);
                } else {
                    // Leaked rather than freed while in use.
                    core::mem::forget(a);
                }
            }
            self.untouch();
            self.reconcile();
            return;
        }
        if change.direct || !change.old.is_empty() {
            probes::synchronize();
        }
        drop(change.old);
        self.untouch();
        self.reconcile();
    }

    /// Applies a probe change to the touched markers: `refresh`, then
    /// `finish`; on error nothing changed and the marks are cleared.
    fn change_touched(&mut self) -> Result {
        match self.refresh() {
            Ok(c) => {
                self.finish(c);
                Ok(())
            }
            Err(e) => {
                self.untouch();
                Err(e)
            }
        }
    }

    /// Attaches pending probes to markers that have none attached yet (the
    /// markers of a module that just loaded), logging mismatches.
    pub(super) fn attach_new(&mut self) -> Result {
        for m in self.markers.iter_mut() {
            // A pending marker has no signature yet: nothing attaches.
            m.touched = m.loaded() && m.array().is_none();
            if m.touched {
                probes::log_mismatches(&m.name, m.sig_str(), &self.probes);
            }
        }
        self.change_touched()
    }

    /// Registers a batch of probes: all or nothing, one patch pass, one
    /// grace period.
    pub(crate) fn probes_register(&mut self, batch: &[ProbeSpec<'_>]) -> Result {
        for (i, p) in batch.iter().enumerate() {
            if !valid_name(p.name) || !section::valid_sig_str(p.sig) {
                pr_err!(
                    "probe on '{}': malformed name or signature \"{}\"\n",
                    BStr::from_bytes(p.name),
                    BStr::from_bytes(p.sig)
                );
                return Err(EINVAL);
            }
            // SAFETY: reads the bytes before both functions without trusting
            // them.
            if unsafe { markers_cfi_same_type(p.func, probes::fns(p.sig.len()).stub) } == 0 {
                pr_err!(
                    "probe on {}: the handler is not a function of the probe type for \"{}\" (void (*)(void *, {} x u64)): kCFI would refuse the call\n",
                    BStr::from_bytes(p.name),
                    BStr::from_bytes(p.sig),
                    p.sig.len()
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
                q.name == p.name && core::ptr::eq(q.func, p.func) && q.data == p.data
            };
            if self.probes.iter().any(|q| p.names(q)) || batch[..i].iter().any(dup) {
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
                truncate(&mut self.probes, added);
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
                    dying: false,
                },
                GFP_KERNEL,
            );
        }
        for m in self.markers.iter_mut() {
            m.touched = m.loaded() && batch.iter().any(|p| p.name == m.name.as_slice());
        }
        self.change_touched()
            .inspect_err(|_| truncate(&mut self.probes, added))
    }

    /// Unregisters a batch of `n` probes, entry `i` given by `entry(i)`: all
    /// or nothing (`ENOENT` if one is not registered), one patch pass, one
    /// grace period; never fails for lack of memory. When it returns 0, no
    /// handler of the batch runs or will run.
    pub(crate) fn probes_unregister<'a>(
        &mut self,
        n: usize,
        entry: impl Fn(usize) -> Result<ProbeSpec<'a>>,
    ) -> Result {
        for i in 0..n {
            let found = entry(i).and_then(|p| {
                self.probes
                    .iter()
                    .position(|q| !q.dying && p.names(q))
                    .ok_or(ENOENT)
            });
            match found {
                Ok(j) => self.probes[j].dying = true,
                Err(e) => {
                    for q in self.probes.iter_mut() {
                        q.dying = false;
                    }
                    return Err(e);
                }
            }
        }
        self.remove_dying()
    }

    /// Removes the probes marked dying. Never fails for lack of memory;
    /// fails with `EIO`, removing nothing, when a trampoline that jumps to
    /// one of them cannot be rewritten.
    pub(super) fn remove_dying(&mut self) -> Result {
        for m in self.markers.iter_mut() {
            m.touched = m.loaded()
                && self
                    .probes
                    .iter()
                    .any(|p| p.dying && p.name.as_slice() == m.name.as_slice() && p.sig == m.sig);
        }
        let r = match self.refresh() {
            Ok(c) => {
                self.drop_dying();
                self.finish(c);
                return Ok(());
            }
            Err(e) if e == ENOMEM => self.remove_dying_in_place(),
            Err(e) => Err(e),
        };
        if r.is_err() {
            for p in self.probes.iter_mut() {
                p.dying = false;
            }
        }
        self.untouch();
        r
    }

    /// `remove_dying` without memory: the dying probes' entries are stubbed
    /// out in place (their trampolines leave them first), the rest of the
    /// arrays stay.
    fn remove_dying_in_place(&mut self) -> Result {
        pr_warn!(
            "no memory to rebuild probe arrays: replacing the removed probes by stubs in place\n"
        );
        let mut leaving = false;
        for i in 0..self.markers.len() {
            let m = &self.markers[i];
            let l = m.touched
                && m.direct.is_some_and(|k| {
                    self.probes
                        .iter()
                        .any(|p| p.dying && p.key() == k && p.name.as_slice() == m.name.as_slice())
                });
            self.markers[i].leaving = l;
            leaving |= l;
        }
        if leaving {
            self.leave_marked()?;
        }
        let probes = &self.probes;
        for m in self.markers.iter().filter(|m| m.touched) {
            if let Some(a) = m.array() {
                a.stub_out(m.nargs, |k| {
                    probes
                        .iter()
                        .any(|p| p.dying && p.key() == k && p.name.as_slice() == m.name.as_slice())
                });
            }
        }
        self.drop_dying();
        for i in 0..self.markers.len() {
            let m = &self.markers[i];
            if !m.loaded() {
                continue;
            }
            let refs = probes::enable_refs(&m.name, &m.sig, &self.probes);
            self.markers[i].enable_refs = refs;
        }
        // After this no CPU runs a stubbed-out handler.
        probes::synchronize();
        self.reconcile();
        Ok(())
    }

    fn drop_dying(&mut self) {
        let mut i = 0;
        while i < self.probes.len() {
            if self.probes[i].dying {
                drop(swap_remove(&mut self.probes, i));
            } else {
                i += 1;
            }
        }
    }

    /// Attaches (`on`) or detaches the built-in print probe of the named,
    /// loaded markers: all or nothing.
    pub(crate) fn set_print(&mut self, names: &[&[u8]], on: bool) -> Result {
        let ctx_of = |prints: &KVec<KBox<probes::PrintCtx>>, name: &[u8]| {
            prints
                .iter()
                .position(|c| &c.name[..c.name.len() - 1] == name)
        };
        for (i, name) in names.iter().enumerate() {
            if !valid_name(name) {
                return Err(EINVAL);
            }
            if names[..i].contains(name) {
                return Err(EINVAL);
            }
            match (on, ctx_of(&self.prints, name), self.find(name)) {
                (_, _, None) if on => return Err(ENOENT),
                (true, Some(_), _) => return Err(EEXIST),
                (false, None, _) => return Err(ENOENT),
                _ => {}
            }
        }
        // The contexts leave `self` while the probes are (un)registered, so
        // that the specs can borrow them.
        let mut prints = core::mem::take(&mut self.prints);
        let r = if on {
            self.print_on(&mut prints, names)
        } else {
            let r = self.probes_unregister(names.len(), |i| {
                let c = &prints[ctx_of(&prints, names[i]).ok_or(ENOENT)?];
                Ok(ProbeSpec {
                    name: names[i],
                    sig: b"",
                    func: probes::fns(c.nargs()).print,
                    data: &**c as *const probes::PrintCtx as *mut c_void,
                    enable: true,
                })
            });
            if r.is_ok() {
                // Unregistering waited a grace period: the contexts are unused.
                for name in names {
                    if let Some(i) = ctx_of(&prints, name) {
                        drop(swap_remove(&mut prints, i));
                    }
                }
            }
            r
        };
        self.prints = prints;
        r
    }

    /// Builds print contexts for `names` in `prints` and registers their
    /// probes; on error nothing is left of either.
    fn print_on(&mut self, prints: &mut KVec<KBox<probes::PrintCtx>>, names: &[&[u8]]) -> Result {
        let first = prints.len();
        let r = self.print_on_inner(prints, names);
        if r.is_err() {
            truncate(prints, first);
        }
        r
    }

    fn print_on_inner(
        &mut self,
        prints: &mut KVec<KBox<probes::PrintCtx>>,
        names: &[&[u8]],
    ) -> Result {
        let first = prints.len();
        prints.reserve(names.len(), GFP_KERNEL)?;
        for name in names {
            let m = self.find(name).ok_or(ENOENT)?;
            let mut n = KVec::new();
            n.extend_from_slice(name, GFP_KERNEL)?;
            n.push(0, GFP_KERNEL)?;
            let mut f = KVec::new();
            f.extend_from_slice(&m.format, GFP_KERNEL)?;
            let ctx = KBox::new(
                probes::PrintCtx {
                    name: n,
                    format: f,
                    sig: m.sig,
                },
                GFP_KERNEL,
            )?;
            // Capacity reserved: cannot fail.
            prints.push(ctx, GFP_KERNEL)?;
        }
        let mut specs = KVec::with_capacity(names.len(), GFP_KERNEL)?;
        for c in prints[first..].iter() {
            let sig_len = c.sig.iter().position(|&b| b == 0).unwrap_or(16);
            // Capacity reserved: cannot fail.
            specs.push(
                ProbeSpec {
                    name: &c.name[..c.name.len() - 1],
                    sig: &c.sig[..sig_len],
                    func: probes::fns(sig_len).print,
                    data: &**c as *const probes::PrintCtx as *mut c_void,
                    enable: true,
                },
                GFP_KERNEL,
            )?;
        }
        self.probes_register(&specs)
    }

    /// The state of a registered probe, or `ENOENT`.
    pub(crate) fn probe_state(&self, p: &ProbeSpec<'_>) -> Result<ProbeState> {
        self.probes
            .iter()
            .find(|q| p.names(q))
            .map(|q| q.state(self.find(&q.name).map(|m| &m.sig)))
            .ok_or(ENOENT)
    }
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
