// SPDX-License-Identifier: GPL-2.0

//! Typed probes for Rust tracer modules.
//!
//! ```no_run
//! use core::sync::atomic::{AtomicU64, Ordering};
//! use kernel::prelude::*;
//! use markers::probe::{Probe, ENABLE};
//!
//! struct Counter(AtomicU64);
//!
//! fn on_rx(c: &Counter, (len, _dev): (u32, &CStr)) {
//!     c.0.fetch_add(u64::from(len), Ordering::Relaxed);
//! }
//!
//! let p = Probe::<(u32, &'static CStr), Counter>::register(
//!     c"net_rx",
//!     on_rx,
//!     Counter(AtomicU64::new(0)),
//!     ENABLE,
//! )?;
//! // ... dropping `p` unregisters the probe and waits for running handlers.
//! drop(p);
//! # Ok::<(), Error>(())
//! ```
//!
//! The type parameter is the signature, checked against the marker's
//! compile-time signature when the probe attaches: `-EINVAL` at once if the
//! marker is loaded with another signature; if it loads later with another
//! signature, the probe stays unattached and its [`Probe::state`] says so.
//! Reference kinds are written with `'static` in the signature type
//! (`&'static CStr`, `&'static str`, `&'static [u8]`); the handler receives
//! them with the lifetime of the call. `CStr` may be `core::ffi::CStr` or
//! the kernel's `kernel::str::CStr` (that of `kernel::prelude`): both are the
//! same kind, whichever of the two the marker's sites pass.
//!
//! The registration is a guard: dropping it unregisters the handler and waits
//! for a grace period, after which the handler no longer runs and its data is
//! dropped. Keep the guard in the module's state, so that the module's exit
//! drops it; a module that goes away with probes still registered has them
//! unregistered by `markers.ko` (with a warning).
//!
//! Handlers run where the marked code runs, in its context: they may be
//! preempted where that code may be, and must not sleep. A handler that
//! needs to stay on one CPU disables preemption itself. Nothing cuts off a
//! handler that hits its own marker: it must bound that recursion itself.
//!
//! A handler costs what a function call costs: the registration
//! monomorphizes a `extern "C"` entry point for the signature and the
//! handler, which the marker's sites call directly while the probe is the
//! marker's only one, and which calls the handler directly (inlined, for a
//! `fn` item).

use core::ffi::{c_void, CStr};

use kernel::prelude::*;

use crate::args::{sig_of, Span};
use crate::section::ARGS_MAX;
use crate::sys::{
    markers_probe_register_many, markers_probe_state, markers_probe_unregister_many, RawProbe,
};

mod sealed {
    pub trait Sealed {}
}

/// An argument kind a probe receives, and the type its handler sees.
///
/// Implemented for the integers, `bool`, `*const c_void`, and, written with
/// `'static`, `&CStr` (both `core::ffi::CStr` and `kernel::str::CStr`),
/// `&str` and `&[u8]`.
///
/// # Examples
///
/// A probe kind has the signature byte of the site kind it receives:
///
/// ```no_run
/// use core::ffi::CStr;
/// use markers::{probe::ProbeArg, Primitive};
///
/// assert_eq!(<u32 as ProbeArg>::KIND, <u32 as Primitive>::KIND);
/// assert_eq!(<&'static CStr as ProbeArg>::KIND, <&CStr as Primitive>::KIND);
/// assert_eq!(<&'static kernel::str::CStr as ProbeArg>::KIND, b'c');
/// ```
pub trait ProbeArg: sealed::Sealed {
    /// The signature byte.
    const KIND: u8;
    /// What the handler receives.
    type Out<'a>;
    /// Reads the argument from its probe parameter.
    ///
    /// # Safety
    ///
    /// `v` must be an argument of this kind passed by a site, whose
    /// referents are valid for `'a`.
    ///
    /// # Examples
    ///
    /// A site passes an `i16` sign-extended to 64 bits:
    ///
    /// ```no_run
    /// use markers::probe::ProbeArg;
    ///
    /// // SAFETY: an `i16` as a site passes it; an integer has no referent.
    /// let v = unsafe { <i16 as ProbeArg>::load(u64::MAX) };
    /// assert_eq!(v, -1);
    /// ```
    unsafe fn load<'a>(v: u64) -> Self::Out<'a>;
}

macro_rules! int_probe_arg {
    ($($t:ty => $kind:literal),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl ProbeArg for $t {
            const KIND: u8 = $kind;
            type Out<'a> = $t;
            #[inline(always)]
            unsafe fn load<'a>(v: u64) -> Self::Out<'a> {
                // CAST: the site passed the value widened; narrowing it back
                // recovers it.
                v as $t
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
    type Out<'a> = bool;
    #[inline(always)]
    unsafe fn load<'a>(v: u64) -> Self::Out<'a> {
        v != 0
    }
}

impl sealed::Sealed for *const c_void {}
impl ProbeArg for *const c_void {
    const KIND: u8 = b'p';
    type Out<'a> = *const c_void;
    #[inline(always)]
    unsafe fn load<'a>(v: u64) -> Self::Out<'a> {
        v as usize as *const c_void
    }
}

impl sealed::Sealed for &'static CStr {}
impl ProbeArg for &'static CStr {
    const KIND: u8 = b'c';
    type Out<'a> = &'a CStr;
    #[inline(always)]
    unsafe fn load<'a>(v: u64) -> Self::Out<'a> {
        // SAFETY: `v` is the address of a NUL-terminated string valid for
        // `'a` (the caller's contract).
        unsafe { CStr::from_ptr(v as usize as *const core::ffi::c_char) }
    }
}

impl sealed::Sealed for &'static kernel::str::CStr {}
/// The kernel's C string, the `CStr` of `kernel::prelude`: the same kind as
/// `core::ffi::CStr`, so a probe written with either attaches to a marker
/// whose sites pass either.
impl ProbeArg for &'static kernel::str::CStr {
    const KIND: u8 = <&'static CStr as ProbeArg>::KIND;
    type Out<'a> = &'a kernel::str::CStr;
    #[inline(always)]
    unsafe fn load<'a>(v: u64) -> Self::Out<'a> {
        // SAFETY: `v` is the address of a NUL-terminated string valid for
        // `'a` (the caller's contract).
        unsafe { kernel::str::CStr::from_char_ptr(v as usize as *const kernel::ffi::c_char) }
    }
}

/// The bytes of a span parameter.
///
/// # Safety
///
/// `v` is the address of a [`Span`] whose bytes are valid for `'a`.
#[inline(always)]
unsafe fn span<'a>(v: u64) -> &'a [u8] {
    // SAFETY: see above.
    unsafe {
        let s = &*(v as usize as *const Span);
        core::slice::from_raw_parts(s.ptr, s.len)
    }
}

impl sealed::Sealed for &'static str {}
impl ProbeArg for &'static str {
    const KIND: u8 = b't';
    type Out<'a> = &'a str;
    #[inline(always)]
    unsafe fn load<'a>(v: u64) -> Self::Out<'a> {
        // SAFETY: the span of a `&str` valid for `'a` (the caller's
        // contract), so the bytes are UTF-8.
        unsafe { core::str::from_utf8_unchecked(span(v)) }
    }
}

impl sealed::Sealed for &'static [u8] {}
impl ProbeArg for &'static [u8] {
    const KIND: u8 = b'y';
    type Out<'a> = &'a [u8];
    #[inline(always)]
    unsafe fn load<'a>(v: u64) -> Self::Out<'a> {
        // SAFETY: the span of a `&[u8]` valid for `'a` (the caller's
        // contract).
        unsafe { span(v) }
    }
}

/// A probe's signature: a tuple of [`ProbeArg`]s.
///
/// # Examples
///
/// The signature of a probe on `mark!(net_rx, "len={} dev={}", len, dev)`,
/// with `len: u32` and `dev: &CStr`:
///
/// ```no_run
/// use core::ffi::CStr;
/// use markers::probe::ProbeArgs;
///
/// assert_eq!(&<(u32, &'static CStr) as ProbeArgs>::SIG[..3], b"Ic\0");
/// ```
pub trait ProbeArgs {
    /// The signature as the C API takes it, NUL-terminated.
    const SIG: [u8; ARGS_MAX + 1];
    /// What the handler receives.
    type Out<'a>;
    /// The C entry point of a probe with data `Inner<D, F>`: a function
    /// `void (*)(void *data, u64 a0, ..., u64 an-1)` that decodes the
    /// parameters and calls the handler `F`.
    // Hidden: only `Probe::register` builds the data it expects.
    #[doc(hidden)]
    fn entry<D, F>() -> *const c_void
    where
        F: for<'a> Fn(&'a D, Self::Out<'a>);
}

macro_rules! probe_args {
    ($($t:ident $v:ident),*) => {
        impl<$($t: ProbeArg),*> ProbeArgs for ($($t,)*) {
            const SIG: [u8; ARGS_MAX + 1] = sig_of(&[$($t::KIND),*]);
            type Out<'a> = ($($t::Out<'a>,)*);
            fn entry<Data, Hdl>() -> *const c_void
            where
                Hdl: for<'a> Fn(&'a Data, Self::Out<'a>),
            {
                /// # Safety
                ///
                /// `data` is a registered probe's `Inner<Data, Hdl>`; the
                /// parameters are the arguments of a site of this signature.
                unsafe extern "C" fn entry<Data, Hdl, $($t: ProbeArg),*>(data: *mut c_void, $($v: u64),*)
                where
                    Hdl: for<'a> Fn(&'a Data, ($($t::Out<'a>,)*)),
                {
                    // SAFETY: see above; the probe's data outlives its
                    // registration.
                    let inner = unsafe { &*(data as *const Inner<Data, Hdl>) };
                    (inner.handler)(
                        &inner.data,
                        // SAFETY: see above; the referents live during the call.
                        ($(unsafe { $t::load($v) },)*),
                    );
                }
                entry::<Data, Hdl, $($t),*> as *const c_void
            }
        }
    };
}

probe_args!();
probe_args!(A a);
probe_args!(A a, B b);
probe_args!(A a, B b, C c);
probe_args!(A a, B b, C c, D d);
probe_args!(A a, B b, C c, D d, E e);
probe_args!(A a, B b, C c, D d, E e, F f);
probe_args!(A a, B b, C c, D d, E e, F f, G g);
probe_args!(A a, B b, C c, D d, E e, F f, G g, H h);
probe_args!(A a, B b, C c, D d, E e, F f, G g, H h, I i);
probe_args!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j);
probe_args!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k);
probe_args!(A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l);

/// Register flags: none. The probe runs only while something else arms its
/// marker (another probe, `markers_enable()`, the marker's control file).
///
/// # Examples
///
/// ```no_run
/// use kernel::prelude::*;
/// use markers::probe::{Probe, NO_FLAGS};
///
/// fn on_state(_: &(), (_parity, _ok): (&str, bool)) {}
///
/// let p = Probe::<(&'static str, bool), ()>::register(c"sample_state", on_state, (), NO_FLAGS)?;
/// # Ok::<(), Error>(())
/// ```
pub const NO_FLAGS: u32 = 0;
/// Register flag: the probe arms its marker while attached
/// (`MARKERS_PROBE_ENABLE`).
///
/// # Examples
///
/// ```no_run
/// use kernel::prelude::*;
/// use markers::probe::{Probe, ENABLE};
///
/// fn on_loop(_: &(), (_i, _sum): (u32, u32)) {}
///
/// // `sample_loop`'s sites jump while this probe is attached.
/// let p = Probe::<(u32, u32), ()>::register(c"sample_loop", on_loop, (), ENABLE)?;
/// # Ok::<(), Error>(())
/// ```
pub const ENABLE: u32 = 1;

/// Where a probe stands (`MARKERS_PROBE_*`).
///
/// # Examples
///
/// ```no_run
/// use kernel::prelude::*;
/// use markers::probe::{Probe, ProbeState, ENABLE};
///
/// fn on_tick(_: &(), (_n, _by, _ticks): (u64, &CStr, u64)) {}
///
/// let p = Probe::<(u64, &'static CStr, u64), ()>::register(c"sample_tick", on_tick, (), ENABLE)?;
/// match p.state() {
///     ProbeState::Attached => pr_info!("sample_tick is loaded\n"),
///     ProbeState::Pending => pr_info!("waiting for a module with sample_tick\n"),
///     ProbeState::Mismatch => pr_warn!("sample_tick has another signature\n"),
/// }
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeState {
    /// No loaded module defines the marker.
    Pending,
    /// Attached to the loaded marker.
    Attached,
    /// The loaded marker has another signature.
    Mismatch,
}

/// A registered probe's data and handler; what its entry point receives.
/// `data` first (`repr(C)`), so that [`Probe::data`] finds it without
/// knowing `F`.
#[repr(C)]
struct Inner<D, F> {
    data: D,
    handler: F,
}

/// Drops a leaked `KBox<Inner<D, F>>`.
///
/// # Safety
///
/// `p` came from `KBox::into_raw` of a `KBox<Inner<D, F>>`, not dropped yet.
unsafe fn drop_inner<D, F>(p: *mut c_void) {
    // SAFETY: see above.
    drop(unsafe { KBox::from_raw(p.cast::<Inner<D, F>>()) });
}

/// A registered typed probe; dropping it unregisters it.
///
/// `A` is the signature, a tuple of [`ProbeArg`]s, and `D` the data the
/// handler receives with the arguments.
///
/// # Examples
///
/// A tracer module that sums the lengths `net_rx` reports while it is
/// loaded; the module's exit drops the probe, which unregisters it:
///
/// ```no_run
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use kernel::prelude::*;
/// use markers::probe::{Probe, ENABLE};
///
/// struct Bytes(AtomicU64);
///
/// fn on_rx(b: &Bytes, (len, _dev): (u32, &CStr)) {
///     b.0.fetch_add(u64::from(len), Ordering::Relaxed);
/// }
///
/// struct Tracer {
///     rx: Probe<(u32, &'static CStr), Bytes>,
/// }
///
/// impl kernel::Module for Tracer {
///     fn init(_module: &'static ThisModule) -> Result<Self> {
///         let rx = Probe::register(c"net_rx", on_rx, Bytes(AtomicU64::new(0)), ENABLE)?;
///         Ok(Tracer { rx })
///     }
/// }
///
/// impl Drop for Tracer {
///     fn drop(&mut self) {
///         pr_info!("{} bytes\n", self.rx.data().0.load(Ordering::Relaxed));
///     }
/// }
/// ```
///
/// # Invariants
///
/// `inner` is a leaked `KBox<Inner<D, F>>`, registered with `markers.ko`
/// under `name` with the entry point `func` of `A`, `D` and `F` until drop;
/// `drop_inner` is `drop_inner::<D, F>`.
pub struct Probe<A: ProbeArgs, D> {
    name: &'static CStr,
    func: *const c_void,
    /// Dropped only once unregistered (leaked if that fails).
    inner: *mut c_void,
    drop_inner: unsafe fn(*mut c_void),
    _p: core::marker::PhantomData<(A, fn() -> D)>,
}

// SAFETY: the handler runs on any CPU with shared access to `D` and the
// handler (both `Send + Sync` by `register`'s bounds).
unsafe impl<A: ProbeArgs, D: Send + Sync> Send for Probe<A, D> {}
// SAFETY: as above.
unsafe impl<A: ProbeArgs, D: Send + Sync> Sync for Probe<A, D> {}

impl<A: ProbeArgs, D: Send + Sync> Probe<A, D> {
    /// Registers `handler` with `data` on the marker `name`; `flags` is
    /// [`NO_FLAGS`] or [`ENABLE`]. The handler is usually a `fn` item: the
    /// entry point then calls it directly.
    ///
    /// Errors: `EINVAL` for a malformed name or a signature that differs
    /// from the loaded marker's; `ENOMEM`.
    ///
    /// # Examples
    ///
    /// A probe with a closure as its handler, and a pending one, on a marker
    /// that no module defines yet:
    ///
    /// ```no_run
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use kernel::prelude::*;
    /// use markers::probe::{Probe, ProbeState, ENABLE};
    ///
    /// let p = Probe::<(u64,), AtomicU64>::register(
    ///     c"later",
    ///     |max: &AtomicU64, (v,): (u64,)| {
    ///         max.fetch_max(v, Ordering::Relaxed);
    ///     },
    ///     AtomicU64::new(0),
    ///     ENABLE,
    /// )?;
    /// assert_eq!(p.state(), ProbeState::Pending);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn register<F>(name: &'static CStr, handler: F, data: D, flags: u32) -> Result<Self>
    where
        F: for<'a> Fn(&'a D, A::Out<'a>) + Send + Sync + 'static,
    {
        let inner = KBox::into_raw(KBox::new(Inner { data, handler }, GFP_KERNEL)?);
        let func = A::entry::<D, F>();
        let raw = RawProbe {
            name: name.as_ptr().cast(),
            sig: A::SIG.as_ptr(),
            func,
            data: inner.cast(),
            flags,
        };
        // SAFETY: one valid entry; the strings are NUL-terminated and
        // static; `inner` stays at its address until drop unregisters it.
        let r = unsafe { markers_probe_register_many(&raw, 1) };
        if r < 0 {
            // SAFETY: not registered: nothing else holds `inner`.
            unsafe { drop_inner::<D, F>(inner.cast()) };
            return Err(Error::from_errno(r));
        }
        // INVARIANT: registered above.
        Ok(Self {
            name,
            func,
            inner: inner.cast(),
            drop_inner: drop_inner::<D, F>,
            _p: core::marker::PhantomData,
        })
    }

    fn raw(&self, flags: u32) -> RawProbe {
        RawProbe {
            name: self.name.as_ptr().cast(),
            sig: A::SIG.as_ptr(),
            func: self.func,
            data: self.inner,
            flags,
        }
    }

    /// Whether the probe is attached, pending or mismatched.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use kernel::prelude::*;
    /// use markers::probe::{Probe, ProbeState, NO_FLAGS};
    ///
    /// fn on_generic(_: &(), (_v,): (u32,)) {}
    ///
    /// let p = Probe::<(u32,), ()>::register(c"sample_generic", on_generic, (), NO_FLAGS)?;
    /// if p.state() == ProbeState::Mismatch {
    ///     return Err(EINVAL);
    /// }
    /// # Ok::<(), Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use core::sync::atomic::{AtomicU64, Ordering};
    /// use kernel::prelude::*;
    /// use markers::probe::{Probe, ENABLE};
    ///
    /// fn on_init(hits: &AtomicU64, (_cpus,): (i32,)) {
    ///     hits.fetch_add(1, Ordering::Relaxed);
    /// }
    ///
    /// let hits = AtomicU64::new(0);
    /// let p = Probe::<(i32,), AtomicU64>::register(c"sample_init", on_init, hits, ENABLE)?;
    /// pr_info!("sample_init: {} hits\n", p.data().load(Ordering::Relaxed));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn data(&self) -> &D {
        // SAFETY: `inner` is an `Inner<D, _>` (invariant), whose first field
        // (`repr(C)`) is the data; alive until drop.
        unsafe { &*(self.inner as *const D) }
    }
}

impl<A: ProbeArgs, D> Drop for Probe<A, D> {
    fn drop(&mut self) {
        let raw = RawProbe {
            name: self.name.as_ptr().cast(),
            sig: core::ptr::null(),
            func: self.func,
            data: self.inner,
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
        // SAFETY: dropped once, here; the handler no longer runs
        // (invariant: `drop_inner` matches `inner`).
        unsafe { (self.drop_inner)(self.inner) };
    }
}
