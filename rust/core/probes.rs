// SPDX-License-Identifier: GPL-2.0

//! Probes: handlers attached to markers by name.
//!
//! A probe is a `(name, signature, handler, data)` registration, kept in the
//! registry whether or not a marker of that name is loaded:
//!
//! - *attached* while a loaded marker has that name and signature: the
//!   handler runs on every hit of the marker's enabled sites;
//! - *pending* while no loaded module defines the name: it attaches when one
//!   loads, and again after the module is unloaded and reloaded;
//! - *mismatched* while the loaded marker of that name has another
//!   signature: it stays unattached, and the mismatch is logged when the
//!   marker loads. (Registering against an already loaded marker of another
//!   signature fails at once with `-EINVAL`.)
//!
//! Each marker publishes an array of its attached probes (in a [`Hub`]),
//! immutable but for one thing: an entry's handler may be replaced in place
//! by [`stub`] when a probe must go and no memory is left to build a smaller
//! array (unregistration never fails for lack of memory). Each of its
//! sites' `SiteState` points at the marker's current *dispatch*: the only
//! attached probe itself, or the marker's `multi_<n>` for several or none.
//! The enabled block counts the hit and calls the invocation's trampoline,
//! which jumps to `markers_dispatch_<n>` (calls the dispatch) or, while the
//! marker has exactly one probe, to that probe directly; the
//! registry switches trampolines through the indirect path and a grace
//! period whenever the dispatch changes (`tramps.rs`), so a direct
//! trampoline never meets another probe's data. Arrays and
//! dispatches are rebuilt on every change, published with release stores,
//! read by the enabled block with acquire loads, and freed only after a
//! grace period of RCU and of RCU-tasks ([`synchronize`]), which waits for
//! enabled blocks and probes preempted anywhere. A batch
//! of registrations or unregistrations costs one patch pass and one grace
//! period whatever its size.
//!
//! # Arming
//!
//! A marker's sites jump exactly while the marker is *armed*: enabled
//! explicitly (`markers_enable()`, the control file), or holding at least one
//! attached probe registered with `MARKERS_PROBE_ENABLE`. A probe registered
//! without the flag sees hits only while the marker is armed for another
//! reason; that is what hit counting without any probe needs, too.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use kernel::prelude::*;
use kernel::str::BStr;

use markers::args::Span;

pub(crate) use markers::section::Dispatch;

/// A probe handler, by address: `void (*)(void *data, u64 a0, ...)` with as
/// many `u64` parameters as its marker has arguments.
pub(crate) type ProbeFn = *const c_void;

extern "C" {
    fn markers_synchronize_probes();
    fn markers_gp_skipped() -> bool;
}

/// Whether test mode's broken mode skips the grace period of probe changes
/// (`markers.test_skip_gp`, for the torture test; never set otherwise).
pub(crate) fn gp_skipped() -> bool {
    // SAFETY: reads a module parameter.
    unsafe { markers_gp_skipped() }
}

/// Waits until no enabled block or probe that may hold a dispatch, array or
/// probe replaced before the call is still running: an RCU grace period
/// (blocks in interrupts, NMIs, preemption-disabled code) and an RCU-tasks
/// one (a task preempted in a block or a probe), run concurrently.
pub(crate) fn synchronize() {
    // SAFETY: plain call from process context.
    unsafe { markers_synchronize_probes() };
}

/// The probes a marker calls.
///
/// # Invariants
///
/// Immutable once published, except that [`ProbeArray::stub_out`] may
/// replace an entry's `func` by a stub (an atomic store of one word; the
/// entry's `data` never changes), so a reader sees either the old handler
/// with its own data or the stub. `probes` ends with one terminator entry,
/// whose `func` is null, after at least one probe.
pub(crate) struct ProbeArray {
    probes: KVec<UnsafeCell<Dispatch>>,
}

// SAFETY: entries change only through atomic stores (see the invariant).
unsafe impl Sync for ProbeArray {}

impl ProbeArray {
    /// The only probe, if there is exactly one: what the marker's
    /// trampolines call directly, and its sites' dispatch.
    pub(crate) fn single(&self) -> Option<*const Dispatch> {
        match self.probes.as_slice() {
            [only, _end] => Some(only.get()),
            _ => None,
        }
    }

    /// The attached probes, without the terminator.
    fn entries(&self) -> &[UnsafeCell<Dispatch>] {
        &self.probes[..self.probes.len() - 1]
    }

    /// Replaces the handler of every entry `dead` selects by the stub of
    /// arity `nargs`, in place, allocating nothing. The caller then waits a
    /// grace period, after which the old handlers no longer run from this
    /// array.
    pub(crate) fn stub_out(&self, nargs: usize, dead: impl Fn((usize, usize)) -> bool) -> usize {
        let mut n = 0;
        for d in self.entries() {
            // SAFETY: the entry is alive with the array.
            if dead(unsafe { key(d.get()) }) {
                // SAFETY: `func` is an aligned word of a live entry; every
                // access to it after publication is atomic (see invariant).
                let f = unsafe {
                    AtomicUsize::from_ptr(core::ptr::addr_of_mut!((*d.get()).func).cast())
                };
                // CAST: a handler is stored by address.
                f.store(fns(nargs).stub as usize, Ordering::Release);
                n += 1;
            }
        }
        n
    }
}

/// The (handler, data) identity of a dispatch, by address.
///
/// # Safety
///
/// `d` must point at a live dispatch.
pub(crate) unsafe fn key(d: *const Dispatch) -> (usize, usize) {
    // SAFETY: the caller passes a live dispatch; `func` is read atomically
    // because `stub_out` may replace it.
    let f = unsafe { AtomicUsize::from_ptr(core::ptr::addr_of!((*d).func) as *mut usize) };
    // SAFETY: as above; `data` never changes.
    (f.load(Ordering::Acquire), unsafe { (*d).data } as usize)
}

/// What a marker's dispatcher reaches: its published probe array. Lives in
/// the marker, at a fixed address.
///
/// # Invariants
///
/// `first` is null or the first entry of the array `probes` points at,
/// published together (the array first).
pub(crate) struct Hub {
    pub(crate) probes: AtomicPtr<ProbeArray>,
    /// The first entry of the array, for the dispatcher's loop.
    first: AtomicPtr<UnsafeCell<Dispatch>>,
}

impl Hub {
    pub(crate) const fn new() -> Self {
        Self {
            probes: AtomicPtr::new(core::ptr::null_mut()),
            first: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// The published probe array, if any. Valid until the next `publish`
    /// plus a grace period.
    pub(crate) fn array(&self) -> Option<&ProbeArray> {
        let arr = self.probes.load(Ordering::Acquire);
        // SAFETY: a published array is alive until it is replaced, which
        // only the registry mutex holder (the caller) does.
        (!arr.is_null()).then(|| unsafe { &*arr })
    }

    /// Publishes `new`; returns the old array, which the caller frees after
    /// a grace period.
    pub(crate) fn publish(&self, new: Option<KBox<ProbeArray>>) -> Option<KBox<ProbeArray>> {
        let new = new.map_or(core::ptr::null_mut(), KBox::into_raw);
        let first = if new.is_null() {
            core::ptr::null_mut()
        } else {
            // SAFETY: `new` is the array just leaked, alive until a later
            // `publish` replaces it and a grace period passes.
            unsafe { (*new).probes.as_ptr().cast_mut() }
        };
        // Release: the array is fully built before a dispatcher loads it.
        let old = self.probes.swap(new, Ordering::AcqRel);
        // INVARIANT: published after the array it points into; a dispatcher
        // that still loads the old `first` reads the old array, alive until
        // the grace period that follows this call.
        self.first.store(first, Ordering::Release);
        // SAFETY: `old` came from `KBox::into_raw` in an earlier `publish`;
        // the swap removed the only other copy of the pointer.
        (!old.is_null()).then(|| unsafe { KBox::from_raw(old) })
    }
}

/// A registered probe.
pub(crate) struct Probe {
    pub(crate) name: KVec<u8>,
    pub(crate) sig: [u8; 16],
    pub(crate) func: ProbeFn,
    pub(crate) data: *mut c_void,
    /// The probe arms its marker while attached.
    pub(crate) enable: bool,
    /// Selected for removal by the unregistration in progress.
    pub(crate) dying: bool,
}

/// Where a probe stands.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeState {
    Pending = 0,
    Attached = 1,
    Mismatch = 2,
}

impl Probe {
    pub(crate) fn sig_str(&self) -> &[u8] {
        let n = self.sig.iter().position(|&b| b == 0).unwrap_or(16);
        &self.sig[..n]
    }

    /// The (handler, data) identity of the probe.
    pub(crate) fn key(&self) -> (usize, usize) {
        // CAST: handler and data are identified by address.
        (self.func as usize, self.data as usize)
    }

    /// Whether the probe attaches to a marker `name` of signature `sig`.
    pub(crate) fn attaches(&self, name: &[u8], sig: &[u8; 16]) -> bool {
        !self.dying && self.name.as_slice() == name && &self.sig == sig
    }

    /// The state of the probe given the signature of the loaded marker of
    /// its name, if any.
    pub(crate) fn state(&self, loaded: Option<&[u8; 16]>) -> ProbeState {
        match loaded {
            None => ProbeState::Pending,
            Some(sig) if *sig == self.sig => ProbeState::Attached,
            Some(_) => ProbeState::Mismatch,
        }
    }
}

/// Builds the probe array of marker `name`/`sig` from `probes`. `None` when
/// no probe is attached.
pub(crate) fn build(
    name: &[u8],
    sig: &[u8; 16],
    probes: &[Probe],
) -> Result<Option<KBox<ProbeArray>>> {
    let n = probes.iter().filter(|p| p.attaches(name, sig)).count();
    if n == 0 {
        return Ok(None);
    }
    let mut v = KVec::with_capacity(n + 1, GFP_KERNEL)?;
    for p in probes.iter().filter(|p| p.attaches(name, sig)) {
        // Capacity reserved: cannot fail.
        v.push(
            UnsafeCell::new(Dispatch {
                func: p.func,
                data: p.data,
            }),
            GFP_KERNEL,
        )?;
    }
    // INVARIANT: the terminator.
    v.push(
        UnsafeCell::new(Dispatch {
            func: core::ptr::null(),
            data: core::ptr::null_mut(),
        }),
        GFP_KERNEL,
    )?;
    Ok(Some(KBox::new(ProbeArray { probes: v }, GFP_KERNEL)?))
}

/// Number of enabling probes attached to marker `name`/`sig`.
pub(crate) fn enable_refs(name: &[u8], sig: &[u8; 16], probes: &[Probe]) -> usize {
    probes
        .iter()
        .filter(|p| p.enable && p.attaches(name, sig))
        .count()
}

/// Logs the probes of `name` that a newly loaded marker of signature `sig`
/// does not match.
pub(crate) fn log_mismatches(name: &[u8], sig: &[u8], probes: &[Probe]) {
    for p in probes
        .iter()
        .filter(|p| p.name.as_slice() == name && p.sig_str() != sig)
    {
        pr_err!(
            "marker {} loaded with signature \"{}\"; a probe registered for \"{}\" stays unattached\n",
            BStr::from_bytes(name),
            BStr::from_bytes(sig),
            BStr::from_bytes(p.sig_str())
        );
    }
}

/// The built-in print probe's context: what it needs to format a hit.
pub(crate) struct PrintCtx {
    /// NUL-terminated.
    pub(crate) name: KVec<u8>,
    pub(crate) format: KVec<u8>,
    pub(crate) sig: [u8; 16],
}

impl PrintCtx {
    /// Number of arguments of its marker.
    pub(crate) fn nargs(&self) -> usize {
        self.sig.iter().position(|&b| b == 0).unwrap_or(16)
    }
}

/// A fixed buffer that `fmt::Write` fills and silently truncates.
struct Line {
    buf: [u8; 256],
    len: usize,
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

impl Line {
    fn push(&mut self, b: &[u8]) {
        let n = b.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
    }
}

/// Appends argument `kind`, passed as `v`, to `out`.
///
/// # Safety
///
/// `v` is an argument of kind `kind` passed by a site, valid for the call.
unsafe fn format_arg(out: &mut Line, kind: u8, v: u64) {
    use core::fmt::Write;
    // CAST: each kind was passed widened to u64 (see the `markers` crate's
    // args.rs); narrowing back recovers it.
    let _ = match kind {
        b'b' => write!(out, "{}", v != 0),
        b'h' => write!(out, "{}", v as i8),
        b'H' => write!(out, "{}", v as u8),
        b's' => write!(out, "{}", v as i16),
        b'S' => write!(out, "{}", v as u16),
        b'i' => write!(out, "{}", v as i32),
        b'I' => write!(out, "{}", v as u32),
        b'l' | b'z' => write!(out, "{}", v as i64),
        b'L' | b'Z' => write!(out, "{}", v),
        b'p' => write!(out, "{:#x}", v),
        b'c' => {
            if v == 0 {
                out.push(b"(null)");
            } else {
                for i in 0..128 {
                    // SAFETY: a `c` argument is the address of a
                    // NUL-terminated string valid for the duration of the
                    // hit; at most 128 bytes of it are read, up to its NUL.
                    let c = unsafe { *((v as usize + i) as *const u8) };
                    if c == 0 {
                        break;
                    }
                    out.push(&[c]);
                }
            }
            Ok(())
        }
        b't' | b'y' => {
            // SAFETY: a `t`/`y` argument is the address of a span valid for
            // the duration of the hit.
            let sp = unsafe { *(v as usize as *const Span) };
            // SAFETY: as above, for its bytes.
            let s = unsafe { core::slice::from_raw_parts(sp.ptr, sp.len.min(128)) };
            if kind == b't' {
                out.push(s);
            } else {
                for b in s {
                    let _ = write!(out, "{:02x}", b);
                }
            }
            Ok(())
        }
        _ => Ok(()),
    };
}

extern "C" {
    fn markers_trace_print(name: *const u8, msg: *const u8, len: usize);
}

/// The built-in print probe: formats the hit with the marker's format
/// string (each `{}` replaced by the next argument) into the `markers`
/// trace instance, `/sys/kernel/tracing/instances/markers/trace`. Reached
/// through `PRINT[nargs]`.
///
/// # Safety
///
/// `args` are the arguments of a site of the context's signature.
unsafe fn print(ctx: &PrintCtx, args: &[u64]) {
    let mut out = Line {
        buf: [0; 256],
        len: 0,
    };
    let mut kinds = ctx.sig.iter().take_while(|&&k| k != 0).copied();
    let mut at = 0;
    let f = ctx.format.as_slice();
    let mut i = 0;
    while i < f.len() {
        if f[i] == b'{' && f.get(i + 1) == Some(&b'}') {
            if let (Some(k), Some(&v)) = (kinds.next(), args.get(at)) {
                // SAFETY: the arguments match the signature (the probe is
                // attached only to a marker of this signature).
                unsafe { format_arg(&mut out, k, v) };
                at += 1;
            }
            i += 2;
        } else {
            out.push(&f[i..i + 1]);
            i += 1;
        }
    }
    // SAFETY: NUL-terminated name, `out.len` valid bytes.
    unsafe { markers_trace_print(ctx.name.as_ptr(), out.buf.as_ptr(), out.len) };
}

/// The type of each probe parameter after `data`.
macro_rules! u64_of {
    ($a:ident) => {
        u64
    };
}

/// The functions of each arity `n`: `markers_dispatch_<n>`, where the
/// trampolines of markers of `n` arguments jump while they are not direct
/// (exported: the trampolines name it); the marker dispatcher, which runs
/// a marker's probes; the stub that replaces a removed probe in place; the
/// print probe's entry point; and [`fns`], which finds them by arity. Every
/// call through a handler address is an ordinary indirect call of the
/// probe type of arity `n`: through the retpoline thunk under
/// `MITIGATION_RETPOLINE`, type-checked under `CFI_CLANG` (kCFI).
macro_rules! arities {
    ($($n:literal, $dispatch:ident, $multi:ident, $stub:ident, $print:ident; ($($a:ident),*);)*) => {
        $(
        /// `markers_dispatch_<n>`: calls the dispatch `d` the enabled block
        /// loaded, with its data (the `data` parameter is the same, read by
        /// the block; `d`'s own field is used).
        ///
        /// # Safety
        ///
        /// Called by a trampoline, from an enabled block, with the dispatch
        /// it loaded from its site state, alive until a grace period after
        /// it is replaced.
        #[no_mangle]
        pub(crate) unsafe extern "C" fn $dispatch(_data: *mut c_void, $($a: u64,)* d: *const Dispatch) {
            // SAFETY: see above.
            let (f, data) = unsafe { key(d) };
            // SAFETY: `f` is a handler of this arity (or a stub or the
            // dispatcher of it), registered with `data`. CAST: stored from a
            // handler address.
            unsafe {
                core::mem::transmute::<usize, unsafe extern "C" fn(*mut c_void $(, u64_of!($a))*)>(
                    f,
                )(data as *mut c_void $(, $a)*)
            };
        }

        /// The dispatcher of a marker with several probes or none: runs its
        /// probe array, if any (the loop is a function of its own, so that
        /// a marker without probes returns before any register is saved).
        ///
        /// # Safety
        ///
        /// `hub` is the marker's [`Hub`], alive while any of its sites can
        /// run; called with the arguments of a site of arity `n`.
        unsafe extern "C" fn $multi(hub: *mut c_void $(, $a: u64)*) {
            // SAFETY: see above.
            let hub = unsafe { &*(hub as *const Hub) };
            let d = hub.first.load(Ordering::Acquire).cast_const();
            if d.is_null() {
                return;
            }
            /// Runs the probes from `d` to the terminator.
            ///
            /// # Safety
            ///
            /// `d` is the first entry of a published array, alive until a
            /// grace period after it is replaced, which waits for this
            /// call; it holds at least one probe, then its terminator,
            /// whose `func` is null.
            #[inline(never)]
            #[allow(clippy::too_many_arguments)]
            unsafe fn run(mut d: *const UnsafeCell<Dispatch> $(, $a: u64)*) {
                loop {
                    // SAFETY: the entry is alive with the array.
                    let (f, data) = unsafe { key(UnsafeCell::raw_get(d)) };
                    // SAFETY: as in the dispatch above.
                    unsafe {
                        core::mem::transmute::<usize, unsafe extern "C" fn(*mut c_void $(, u64_of!($a))*)>(
                            f,
                        )(data as *mut c_void $(, $a)*)
                    };
                    // SAFETY: within the array: the terminator follows the
                    // last probe.
                    d = unsafe { d.add(1) };
                    // SAFETY: as above; the terminator's `func` never
                    // changes.
                    if unsafe { (*UnsafeCell::raw_get(d)).func }.is_null() {
                        return;
                    }
                }
            }
            // SAFETY: see `run`.
            unsafe { run(d $(, $a)*) }
        }

        /// What replaces the handler of a probe removed without memory for
        /// a new array: does nothing.
        ///
        /// # Safety
        ///
        /// None needed: it touches none of its arguments.
        unsafe extern "C" fn $stub(_data: *mut c_void $(, $a: u64)*) {
            $(let _ = $a;)*
        }

        /// The print probe's entry point.
        ///
        /// # Safety
        ///
        /// `data` is a `PrintCtx` kept alive by the registry while
        /// registered; the arguments are those of a site of its signature.
        unsafe extern "C" fn $print(data: *mut c_void $(, $a: u64)*) {
            // SAFETY: see above.
            unsafe { print(&*(data as *const PrintCtx), &[$($a),*]) };
        }
        )*

        /// The functions of arity `nargs` (at most 12).
        pub(crate) fn fns(nargs: usize) -> Fns {
            match nargs {
                $($n => Fns {
                    dispatch: $dispatch as ProbeFn,
                    multi: $multi as ProbeFn,
                    stub: $stub as ProbeFn,
                    print: $print as ProbeFn,
                },)*
                _ => fns(12),
            }
        }
    };
}

/// The functions of one arity.
pub(crate) struct Fns {
    /// `markers_dispatch_<n>`: where a trampoline jumps while not direct.
    pub(crate) dispatch: ProbeFn,
    /// The marker dispatcher.
    pub(crate) multi: ProbeFn,
    /// The stub.
    pub(crate) stub: ProbeFn,
    /// The print probe's entry point.
    pub(crate) print: ProbeFn,
}

arities! {
    0, markers_dispatch_0, multi_0, stub_0, print_0; ();
    1, markers_dispatch_1, multi_1, stub_1, print_1; (a0);
    2, markers_dispatch_2, multi_2, stub_2, print_2; (a0, a1);
    3, markers_dispatch_3, multi_3, stub_3, print_3; (a0, a1, a2);
    4, markers_dispatch_4, multi_4, stub_4, print_4; (a0, a1, a2, a3);
    5, markers_dispatch_5, multi_5, stub_5, print_5; (a0, a1, a2, a3, a4);
    6, markers_dispatch_6, multi_6, stub_6, print_6; (a0, a1, a2, a3, a4, a5);
    7, markers_dispatch_7, multi_7, stub_7, print_7; (a0, a1, a2, a3, a4, a5, a6);
    8, markers_dispatch_8, multi_8, stub_8, print_8; (a0, a1, a2, a3, a4, a5, a6, a7);
    9, markers_dispatch_9, multi_9, stub_9, print_9; (a0, a1, a2, a3, a4, a5, a6, a7, a8);
    10, markers_dispatch_10, multi_10, stub_10, print_10; (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9);
    11, markers_dispatch_11, multi_11, stub_11, print_11; (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10);
    12, markers_dispatch_12, multi_12, stub_12, print_12; (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);
}
