// SPDX-License-Identifier: GPL-2.0

//! Typed probes for Rust tracer modules.
//!
//! ```ignore
//! use markers::probe::{Probe, ENABLE};
//!
//! struct Counter(AtomicU64);
//!
//! fn on_rx(c: &Counter, (len, dev): (u32, &CStr)) {
//!     c.0.fetch_add(len as u64, Ordering::Relaxed);
//! }
//!
//! let p = Probe::<(u32, &'static CStr), Counter>::register(
//!     c"net_rx", on_rx, Counter(AtomicU64::new(0)), ENABLE)?;
//! // ... dropping `p` unregisters the probe and waits for running handlers.
//! ```
//!
//! The type parameter is the signature, checked against the marker's
//! compile-time signature when the probe attaches: `-EINVAL` at once if the
//! marker is loaded with another signature; if it loads later with another
//! signature, the probe stays unattached and its [`Probe::state`] says so.
//! Reference kinds are written with `'static` in the signature type
//! (`&'static CStr`, `&'static str`, `&'static [u8]`); the handler receives
//! them with the lifetime of the call.
//!
//! The registration is a guard: dropping it unregisters the handler and waits
//! for a grace period, after which the handler no longer runs and its data is
//! dropped. Keep the guard in the module's state, so that the module's exit
//! drops it; a module that goes away with probes still registered has them
//! unregistered by `markers.ko` (with a warning).
//!
//! Handlers run where the marked code runs, with preemption disabled: they
//! must not sleep.

use core::ffi::{c_void, CStr};

use kernel::prelude::*;

use crate::section::ARGS_MAX;
use crate::sys::{
    markers_probe_register_many, markers_probe_state, markers_probe_unregister_many, RawProbe,
};

mod sealed {
    pub trait Sealed {}
}

/// An argument kind a probe receives, and the type its handler sees.
pub trait ProbeArg: sealed::Sealed {
    /// The signature byte.
    const KIND: u8;
    /// Number of `u64` slots.
    const SLOTS: usize;
    /// What the handler receives.
    type Out<'a>;
    /// Reads the argument from its slots.
    ///
    /// # Safety
    ///
    /// `slots` must hold an argument of this kind, encoded by a site, whose
    /// referents are valid for `'a`.
    unsafe fn load<'a>(slots: &'a [u64]) -> Self::Out<'a>;
}

macro_rules! int_probe_arg {
    ($($t:ty => $kind:literal),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl ProbeArg for $t {
            const KIND: u8 = $kind;
            const SLOTS: usize = 1;
            type Out<'a> = $t;
            #[inline(always)]
            unsafe fn load<'a>(slots: &'a [u64]) -> $t {
                // CAST: the site stored the value widened; narrowing it back
                // recovers it.
                slots[0] as $t
            }
        }
    )*};
}

int_probe_arg! {
    i8 => b'h', u8 => b'H', i16 => b's', u16 => b'S', i32 => b'i', u32 => b'I',
    i64 => b'l', u64 => b'L', isize => b'z', usize => b'Z',
}

impl sealed::Sealed for bool {}
impl ProbeArg for bool {
    const KIND: u8 = b'b';
    const SLOTS: usize = 1;
    type Out<'a> = bool;
    #[inline(always)]
    unsafe fn load<'a>(slots: &'a [u64]) -> bool {
        slots[0] != 0
    }
}

impl sealed::Sealed for *const c_void {}
impl ProbeArg for *const c_void {
    const KIND: u8 = b'p';
    const SLOTS: usize = 1;
    type Out<'a> = *const c_void;
    #[inline(always)]
    unsafe fn load<'a>(slots: &'a [u64]) -> *const c_void {
        slots[0] as usize as *const c_void
    }
}

impl sealed::Sealed for &'static CStr {}
impl ProbeArg for &'static CStr {
    const KIND: u8 = b'c';
    const SLOTS: usize = 1;
    type Out<'a> = &'a CStr;
    #[inline(always)]
    unsafe fn load<'a>(slots: &'a [u64]) -> &'a CStr {
        // SAFETY: the slot holds a pointer to a NUL-terminated string valid
        // for `'a` (the caller's contract).
        unsafe { CStr::from_ptr(slots[0] as usize as *const core::ffi::c_char) }
    }
}

impl sealed::Sealed for &'static str {}
impl ProbeArg for &'static str {
    const KIND: u8 = b't';
    const SLOTS: usize = 2;
    type Out<'a> = &'a str;
    #[inline(always)]
    unsafe fn load<'a>(slots: &'a [u64]) -> &'a str {
        // SAFETY: the slots hold the pointer and length of a `&str` valid
        // for `'a` (the caller's contract), so the bytes are UTF-8.
        unsafe {
            core::str::from_utf8_unchecked(core::slice::from_raw_parts(
                slots[0] as usize as *const u8,
                slots[1] as usize,
            ))
        }
    }
}

impl sealed::Sealed for &'static [u8] {}
impl ProbeArg for &'static [u8] {
    const KIND: u8 = b'y';
    const SLOTS: usize = 2;
    type Out<'a> = &'a [u8];
    #[inline(always)]
    unsafe fn load<'a>(slots: &'a [u64]) -> &'a [u8] {
        // SAFETY: the slots hold the pointer and length of a `&[u8]` valid
        // for `'a` (the caller's contract).
        unsafe { core::slice::from_raw_parts(slots[0] as usize as *const u8, slots[1] as usize) }
    }
}

/// A probe's signature: a tuple of [`ProbeArg`]s.
pub trait ProbeArgs {
    /// The signature as the C API takes it, NUL-terminated.
    const SIG: [u8; ARGS_MAX + 1];
    /// Number of `u64` slots.
    const SLOTS: usize;
    /// What the handler receives.
    type Out<'a>;
    /// Decodes the arguments.
    ///
    /// # Safety
    ///
    /// `slots` must hold [`Self::SLOTS`] slots of a site of this signature,
    /// whose referents are valid for `'a`.
    unsafe fn decode<'a>(slots: &'a [u64]) -> Self::Out<'a>;
}

#[inline]
const fn sig_of(kinds: &[u8]) -> [u8; ARGS_MAX + 1] {
    let mut s = [0u8; ARGS_MAX + 1];
    let mut i = 0;
    while i < kinds.len() {
        s[i] = kinds[i];
        i += 1;
    }
    s
}

macro_rules! probe_args {
    ($($t:ident),*) => {
        impl<$($t: ProbeArg),*> ProbeArgs for ($($t,)*) {
            const SIG: [u8; ARGS_MAX + 1] = sig_of(&[$($t::KIND),*]);
            const SLOTS: usize = 0 $(+ $t::SLOTS)*;
            type Out<'a> = ($($t::Out<'a>,)*);
            #[inline(always)]
            #[allow(unused_variables, unused_mut, unused_assignments, clippy::unused_unit)]
            unsafe fn decode<'a>(slots: &'a [u64]) -> Self::Out<'a> {
                let mut at = 0;
                ($(
                    {
                        // SAFETY: forwarded from the caller.
                        let v = unsafe { $t::load(&slots[at..]) };
                        at += $t::SLOTS;
                        v
                    },
                )*)
            }
        }
    };
}

probe_args!();
probe_args!(A);
probe_args!(A, B);
probe_args!(A, B, C);
probe_args!(A, B, C, D);
probe_args!(A, B, C, D, E);
probe_args!(A, B, C, D, E, F);
probe_args!(A, B, C, D, E, F, G);
probe_args!(A, B, C, D, E, F, G, H);
probe_args!(A, B, C, D, E, F, G, H, I);
probe_args!(A, B, C, D, E, F, G, H, I, J);
probe_args!(A, B, C, D, E, F, G, H, I, J, K);
probe_args!(A, B, C, D, E, F, G, H, I, J, K, L);

/// A probe handler: the probe's data and the decoded arguments.
pub type Handler<A, D> = for<'a> fn(&'a D, <A as ProbeArgs>::Out<'a>);

/// Register flags: none.
pub const NO_FLAGS: u32 = 0;
/// Register flag: the probe arms its marker while attached
/// (`MARKERS_PROBE_ENABLE`).
pub const ENABLE: u32 = 1;

/// Where a probe stands (`MARKERS_PROBE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeState {
    /// No loaded module defines the marker.
    Pending,
    /// Attached to the loaded marker.
    Attached,
    /// The loaded marker has another signature.
    Mismatch,
}

struct Inner<A: ProbeArgs, D> {
    handler: Handler<A, D>,
    data: D,
}

/// The C-ABI handler registered for a typed probe.
///
/// # Safety
///
/// `data` is the probe's `Inner<A, D>`, alive while registered; `slots`
/// holds `nslots` slots of a site of signature `A`.
unsafe extern "C" fn trampoline<A: ProbeArgs, D>(
    data: *mut c_void,
    slots: *const u64,
    nslots: u32,
) {
    if (nslots as usize) < A::SLOTS {
        return;
    }
    // SAFETY: see above.
    let inner = unsafe { &*(data as *const Inner<A, D>) };
    // SAFETY: see above; the slots are valid for the duration of the call.
    let args = unsafe { A::decode(core::slice::from_raw_parts(slots, nslots as usize)) };
    (inner.handler)(&inner.data, args);
}

/// A registered typed probe; dropping it unregisters it.
///
/// # Invariants
///
/// `inner` is registered with `markers.ko` under `name` with
/// `trampoline::<A, D>` until drop.
pub struct Probe<A: ProbeArgs, D> {
    name: &'static CStr,
    /// Dropped only once unregistered (leaked if that fails).
    inner: core::mem::ManuallyDrop<KBox<Inner<A, D>>>,
}

// SAFETY: the handler runs on any CPU with shared access to `D`.
unsafe impl<A: ProbeArgs, D: Send + Sync> Send for Probe<A, D> {}
// SAFETY: as above.
unsafe impl<A: ProbeArgs, D: Send + Sync> Sync for Probe<A, D> {}

impl<A: ProbeArgs, D: Send + Sync> Probe<A, D> {
    /// Registers `handler` with `data` on the marker `name`; `flags` is
    /// [`NO_FLAGS`] or [`ENABLE`].
    ///
    /// Errors: `EINVAL` for a malformed name or a signature that differs
    /// from the loaded marker's; `ENOMEM`.
    pub fn register(
        name: &'static CStr,
        handler: Handler<A, D>,
        data: D,
        flags: u32,
    ) -> Result<Self> {
        let inner = KBox::new(Inner { handler, data }, GFP_KERNEL)?;
        let raw = RawProbe {
            name: name.as_ptr().cast(),
            sig: A::SIG.as_ptr(),
            func: Some(trampoline::<A, D>),
            data: &*inner as *const Inner<A, D> as *mut c_void,
            flags,
        };
        // SAFETY: one valid entry; the strings are NUL-terminated and
        // static; `inner` stays at its address until drop unregisters it.
        let r = unsafe { markers_probe_register_many(&raw, 1) };
        if r < 0 {
            // Not registered: `inner` is dropped without unregistering.
            return Err(Error::from_errno(r));
        }
        // INVARIANT: registered above.
        Ok(Self {
            name,
            inner: core::mem::ManuallyDrop::new(inner),
        })
    }

    fn raw(&self, flags: u32) -> RawProbe {
        RawProbe {
            name: self.name.as_ptr().cast(),
            sig: A::SIG.as_ptr(),
            func: Some(trampoline::<A, D>),
            data: &**self.inner as *const Inner<A, D> as *mut c_void,
            flags,
        }
    }

    /// Whether the probe is attached, pending or mismatched.
    pub fn state(&self) -> ProbeState {
        let raw = self.raw(0);
        // SAFETY: one valid entry.
        match unsafe { markers_probe_state(&raw) } {
            1 => ProbeState::Attached,
            2 => ProbeState::Mismatch,
            _ => ProbeState::Pending,
        }
    }

    /// The probe's data.
    pub fn data(&self) -> &D {
        &self.inner.data
    }
}

impl<A: ProbeArgs, D> Drop for Probe<A, D> {
    fn drop(&mut self) {
        let raw = RawProbe {
            name: self.name.as_ptr().cast(),
            sig: core::ptr::null(),
            func: Some(trampoline::<A, D>),
            data: &**self.inner as *const Inner<A, D> as *mut c_void,
            flags: 0,
        };
        // SAFETY: one valid entry. Unregistering waits a grace period: after
        // it, the handler no longer runs and `inner` may be dropped.
        let r = unsafe { markers_probe_unregister_many(&raw, 1) };
        // `-ENOENT`: markers.ko already unregistered it (the unload safety
        // net, which waited a grace period too). Any other error means the
        // handler may still run with `inner`: leak it rather than free it.
        if r != 0 && r != kernel::error::code::ENOENT.to_errno() {
            pr_err!(
                "cannot unregister a probe on {} ({}); leaking its data\n",
                self.name.to_str().unwrap_or("?"),
                r
            );
            return;
        }
        // SAFETY: dropped once, here; the handler no longer runs.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.inner) };
    }
}
