// SPDX-License-Identifier: GPL-2.0

//! A marker: every site of one name, in every module, with its probes and
//! the dispatch its sites call.

use kernel::prelude::*;

use crate::nodes::{self, Node};
use crate::probes::{self, Dispatch, Hub, ProbeArray};

/// A marker.
///
/// # Invariants
///
/// Boxed, so `hub` and `multi_disp` keep their addresses: the dispatcher's
/// data points at `hub`, and site states point at `multi_disp`. `direct` is `Some(key)` whenever one of the marker's
/// trampolines may jump straight to the probe `key` (see `tramps.rs`).
pub(crate) struct Marker {
    /// The name, without NUL.
    pub(crate) name: KVec<u8>,
    /// The format string of the first descriptor seen, without NUL.
    pub(crate) format: KVec<u8>,
    /// The argument signature, NUL-padded.
    pub(crate) sig: [u8; 16],
    /// Number of arguments.
    pub(crate) nargs: usize,
    /// Enabled explicitly (`markers_enable()`, the control file).
    pub(crate) explicit: bool,
    /// Attached probes registered with `MARKERS_PROBE_ENABLE`.
    pub(crate) enable_refs: usize,
    /// The attached probes, for the dispatcher.
    pub(crate) hub: Hub,
    /// The dispatch for several probes or none: the dispatcher of the
    /// marker's arity on `hub` (without probes it finds no array and
    /// returns; the hit is counted in the enabled block).
    multi_disp: Dispatch,
    /// Hits of the sites of modules gone since (the others are counted in
    /// their modules' per-CPU counters).
    pub(crate) gone_hits: u64,
    /// The probe (handler, data) some trampolines may jump to directly.
    pub(crate) direct: Option<(usize, usize)>,
    /// Number of registered sites.
    pub(crate) nsites: usize,
    /// Its directory in `/sys/kernel/markers` (null while being set up).
    pub(crate) node: *mut Node,
    /// The number the next site registered gets (`sites/<id>/`).
    pub(crate) next_id: u32,
    /// Scratch of a batch of the control file: attach (`Some(true)`) or
    /// detach its print probe when the batch commits.
    pub(crate) want_print: Option<bool>,
    /// Selected by the registry operation in progress.
    pub(crate) touched: bool,
    /// Scratch: its trampolines must leave their probe in this operation.
    pub(crate) leaving: bool,
}

impl Drop for Marker {
    fn drop(&mut self) {
        // A marker is dropped only when its last site has gone, after the
        // grace period that unpublished the sites: no enabled block can
        // still read its array.
        drop(self.hub.publish(None));
        if !self.node.is_null() {
            // SAFETY: the node is live (it is removed only here) and its
            // site nodes went with the sites; markers are dropped under the
            // registry mutex.
            unsafe { nodes::remove(self.node) };
        }
    }
}

impl Marker {
    /// A marker without sites or probes.
    pub(crate) fn new(name: &[u8], format: &[u8], sig: &[u8; 16]) -> Result<KBox<Self>> {
        let mut n = KVec::new();
        n.extend_from_slice(name, GFP_KERNEL)?;
        let mut f = KVec::new();
        f.extend_from_slice(format, GFP_KERNEL)?;
        let nargs = sig.iter().position(|&b| b == 0).unwrap_or(16);
        let mut b = KBox::new(
            Self {
                name: n,
                format: f,
                sig: *sig,
                nargs,
                explicit: false,
                enable_refs: 0,
                hub: Hub::new(),
                multi_disp: Dispatch {
                    func: probes::fns(nargs).multi,
                    data: core::ptr::null_mut(),
                },
                gone_hits: 0,
                direct: None,
                nsites: 0,
                node: core::ptr::null_mut(),
                next_id: 0,
                want_print: None,
                touched: false,
                leaving: false,
            },
            GFP_KERNEL,
        )?;
        // INVARIANT: the dispatcher gets the hub's final (boxed) address.
        b.multi_disp.data = core::ptr::addr_of!(b.hub) as *mut core::ffi::c_void;
        Ok(b)
    }

    /// The dispatch its sites call now: the only attached probe, or the
    /// marker's own dispatcher for several or none. Valid until the next
    /// `publish` on this marker plus a grace period.
    pub(crate) fn current_disp(&self) -> *mut Dispatch {
        self.disp_for(self.hub.array()).cast_mut()
    }

    /// The dispatch for probe array `a`.
    fn disp_for(&self, a: Option<&ProbeArray>) -> *const Dispatch {
        a.and_then(ProbeArray::single).unwrap_or(&self.multi_disp)
    }

    /// The published probe array, if any.
    pub(crate) fn array(&self) -> Option<&ProbeArray> {
        self.hub.array()
    }

    /// The (handler, data) its trampolines should jump to directly: its
    /// current dispatch, which is its only attached probe, or its own
    /// dispatcher for several or none (which reads the probe array itself,
    /// so it stays direct across changes between such counts).
    pub(crate) fn wanted_direct(&self) -> (usize, usize) {
        self.key_for(self.hub.array())
    }

    /// The (handler, data) its trampolines should jump to once probe array
    /// `a` is published.
    pub(crate) fn key_for(&self, a: Option<&ProbeArray>) -> (usize, usize) {
        // SAFETY: the dispatch lives in `a` or in the marker.
        unsafe { probes::key(self.disp_for(a)) }
    }

    /// Whether the marker's sites jump (see "Arming" in `probes.rs`),
    /// unless switched on their own.
    pub(crate) fn armed(&self) -> bool {
        self.explicit || self.enable_refs > 0
    }

    /// Whether a loaded module defines it; if not, it is pending: kept only
    /// for its enable, with no signature, no format and no probe array.
    pub(crate) fn loaded(&self) -> bool {
        self.nsites > 0
    }

    /// Takes the signature and format of its first site, while pending.
    pub(crate) fn adopt(&mut self, format: &[u8], sig: &[u8; 16]) -> Result {
        let mut f = KVec::new();
        f.extend_from_slice(format, GFP_KERNEL)?;
        self.format = f;
        self.sig = *sig;
        self.nargs = sig.iter().position(|&b| b == 0).unwrap_or(16);
        self.multi_disp.func = probes::fns(self.nargs).multi;
        Ok(())
    }

    /// Is pending: its last site went. Its sites' blocks no longer run
    /// (the same grace period as for dropping it has passed), so its probe
    /// array goes, with its signature and format. Idempotent.
    pub(crate) fn unload(&mut self) {
        drop(self.hub.publish(None));
        self.direct = None;
        self.enable_refs = 0;
        self.sig = [0; 16];
        self.nargs = 0;
        self.format = KVec::new();
    }

    /// The signature as text, without NULs.
    pub(crate) fn sig_str(&self) -> &[u8] {
        let n = self.sig.iter().position(|&b| b == 0).unwrap_or(16);
        &self.sig[..n]
    }
}
