// SPDX-License-Identifier: GPL-2.0

//! Operator changes: batches of marker and site switches made all or
//! nothing, pending enables, hit resets and the re-validation of broken
//! sites. A child of `registry.rs`, whose state it works on; the control
//! file (`control.rs`) resolves its commands into these calls.
//!
//! A batch is: [`Registry::snapshot`], then any number of
//! [`Registry::set_explicit`], [`Registry::add_pending`] and site switches
//! (`MarkedSite::over`), which patch nothing; then either
//! [`Registry::commit`], which applies them in one patch pass, or
//! [`Registry::restore`], which undoes them.

use core::ffi::c_void;
use core::sync::atomic::Ordering;

use kernel::prelude::*;
use kernel::str::BStr;

use super::{truncate, MarkedSite, Registry};
use crate::marker::Marker;
use crate::text::{BROKEN, ENABLED, RETIRED};

extern "C" {
    fn markers_hits_reset(p: *mut u64);
}

/// The switches of every marker and site before a batch.
pub(crate) struct Snapshot {
    explicit: KVec<bool>,
    over: KVec<u8>,
    markers: usize,
}

impl Registry {
    /// Records the switches a batch may change; `ENOMEM` before anything
    /// changed.
    pub(crate) fn snapshot(&self) -> Result<Snapshot> {
        let mut explicit = KVec::with_capacity(self.markers.len(), GFP_KERNEL)?;
        for m in self.markers.iter() {
            // Capacity reserved: cannot fail.
            explicit.push(m.explicit, GFP_KERNEL)?;
        }
        let n = self.sites().count();
        let mut over = KVec::with_capacity(n, GFP_KERNEL)?;
        for (_, s) in self.sites() {
            // Capacity reserved: cannot fail.
            over.push(s.over.get(), GFP_KERNEL)?;
        }
        Ok(Snapshot {
            explicit,
            over,
            markers: self.markers.len(),
        })
    }

    /// Undoes a batch not committed: the switches are as recorded, the
    /// pending markers it added are gone. Patches nothing (nothing was).
    pub(crate) fn restore(&mut self, snap: Snapshot) {
        // A batch only appends markers (no module event runs meanwhile: we
        // hold the mutex).
        truncate(&mut self.markers, snap.markers);
        for (m, &e) in self.markers.iter_mut().zip(snap.explicit.iter()) {
            m.explicit = e;
            m.want_print = None;
        }
        for ((_, s), &o) in self.sites().zip(snap.over.iter()) {
            s.over.set(o);
        }
    }

    /// Applies a batch: attaches or detaches the print probes of the
    /// markers whose `want_print` it set (if not already so), and patches
    /// every site whose switch changed, in one pass (plus one when print
    /// probes are both attached and detached). Pending markers disabled by
    /// the batch go.
    ///
    /// On an error before or from attaching (`ENOMEM`, `EIO`) the batch is
    /// undone to `snap` and nothing has changed; on `EIO` from detaching,
    /// the rest of the batch is applied. Returns the number of sites that
    /// could not be patched.
    pub(crate) fn commit(&mut self, snap: Snapshot) -> Result<usize> {
        let lists = self
            .print_names(true)
            .and_then(|on| Ok((on, self.print_names(false)?)));
        for m in self.markers.iter_mut() {
            m.want_print = None;
        }
        let (on, off) = match lists {
            Ok(l) => l,
            Err(e) => {
                self.restore(snap);
                return Err(e);
            }
        };
        let (on, off) = match (names_of(&on), names_of(&off)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => {
                self.restore(snap);
                return Err(ENOMEM);
            }
        };
        if !on.is_empty() {
            if let Err(e) = self.set_print(&on, true) {
                self.restore(snap);
                return Err(e);
            }
        }
        drop(snap);
        // Detaching fails only when a trampoline cannot be rewritten; the
        // rest of the batch is applied all the same.
        let detached = if off.is_empty() {
            Ok(())
        } else {
            self.set_print(&off, false)
        };
        let refused = self.reconcile();
        self.drop_unused_markers();
        detached.map(|()| refused)
    }

    /// The names of the markers whose `want_print` is `on` and whose print
    /// probe is not in that state already.
    fn print_names(&self, on: bool) -> Result<KVec<KVec<u8>>> {
        let mut v: KVec<KVec<u8>> = KVec::new();
        for m in self.markers.iter() {
            if m.want_print != Some(on) || self.has_print(&m.name) == on {
                continue;
            }
            let mut n = KVec::new();
            n.extend_from_slice(&m.name, GFP_KERNEL)?;
            v.push(n, GFP_KERNEL)?;
        }
        Ok(v)
    }

    /// Whether the print probe of marker `name` is attached.
    pub(crate) fn has_print(&self, name: &[u8]) -> bool {
        self.prints
            .iter()
            .any(|c| &c.name[..c.name.len() - 1] == name)
    }

    /// The index of marker `m`.
    pub(crate) fn index_of(&self, m: *const Marker) -> Option<usize> {
        self.markers.iter().position(|b| core::ptr::eq(&**b, m))
    }

    /// Resets the hits of marker `m` (a hit racing with it may be lost).
    pub(crate) fn reset_hits(&mut self, i: usize) {
        let mp = &*self.markers[i] as *const Marker as *mut c_void;
        for c in self.clients.iter() {
            for &st in c.states.iter() {
                // SAFETY: the states of registered clients are alive.
                let st = unsafe { &*st };
                if st.marker.load(Ordering::Relaxed) == mp {
                    let p = st.hits.load(Ordering::Relaxed);
                    if !p.is_null() {
                        // SAFETY: a counter of a live client.
                        unsafe { markers_hits_reset(p) };
                    }
                }
            }
        }
        self.markers[i].gone_hits = 0;
    }

    /// Makes a broken site usable again if its bytes are what markers would
    /// have written (a NOP, or the jump to its block): `EIO`, logging the
    /// bytes, if not; `EBUSY` for a retired site.
    pub(crate) fn revalidate(&self, s: &MarkedSite) -> Result {
        let site = &s.site;
        let st = site.state.load(Ordering::Relaxed);
        if st & RETIRED != 0 {
            return Err(EBUSY);
        }
        if st & BROKEN == 0 {
            return Ok(());
        }
        // SAFETY: the marker outlives its sites.
        let name = BStr::from_bytes(unsafe { &(*s.marker).name });
        let b = site.read();
        let state = if Some(b) == site.bytes_for(false) {
            0
        } else if Some(b) == site.bytes_for(true) {
            ENABLED
        } else {
            pr_err!(
                "marker {} site {}: still broken: its bytes {:02x} {:02x} {:02x} {:02x} {:02x} are neither a NOP nor its jump\n",
                name,
                s.id,
                b[0],
                b[1],
                b[2],
                b[3],
                b[4]
            );
            return Err(EIO);
        };
        // The handler ignores a site without PATCHING; the patcher runs
        // under the registry mutex, which we hold.
        site.state.store(state, Ordering::Release);
        pr_info!(
            "marker {} site {}: re-validated ({})\n",
            name,
            s.id,
            if state == 0 { "off" } else { "on" }
        );
        Ok(())
    }
}

fn names_of(v: &KVec<KVec<u8>>) -> Result<KVec<&[u8]>> {
    let mut n = KVec::with_capacity(v.len(), GFP_KERNEL)?;
    for x in v.iter() {
        n.push(x.as_slice(), GFP_KERNEL)?;
    }
    Ok(n)
}
