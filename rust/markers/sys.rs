// SPDX-License-Identifier: GPL-2.0

//! The C interface of `markers.ko` (`include/linux/markers.h`), for Rust.
//!
//! Tracer modules normally use [`Probe`](crate::Probe); these are the raw
//! declarations it is built on, shared with `markers.ko` (which defines the
//! functions) and with the test modules. The layouts here are the C
//! structures' layouts.
//!
//! C header: [include/linux/markers.h](../../../include/linux/markers.h)
//!
//! # Examples
//!
//! Enabling a marker by name, as `markctl enable sample_tick` does:
//!
//! ```no_run
//! use kernel::prelude::*;
//! use markers::sys::markers_enable;
//!
//! // SAFETY: a NUL-terminated name.
//! let r = unsafe { markers_enable(c"sample_tick".as_ptr().cast()) };
//! kernel::error::to_result(r)?;
//! # Ok::<(), Error>(())
//! ```

use core::ffi::{c_int, c_uint, c_void};

/// `struct markers_stats`: counters of the patcher.
///
/// # Examples
///
/// ```no_run
/// use markers::sys::{markers_get_stats, Stats};
///
/// let mut s = Stats::default();
/// // SAFETY: `s` is a valid `struct markers_stats` to write.
/// unsafe { markers_get_stats(&mut s) };
/// kernel::pr_info!("{} passes, {} sites rewritten\n", s.passes, s.rewrites);
/// ```
#[repr(C)]
#[derive(Default, Clone, Copy, Debug)]
pub struct Stats {
    /// int3 traps handled.
    pub int3: u64,
    /// Of which on a site no pass was rewriting.
    pub late: u64,
    /// Patch passes.
    pub passes: u64,
    /// Sites rewritten.
    pub rewrites: u64,
    /// Sites refused.
    pub refused: u64,
    /// CPU serialization rounds.
    pub syncs: u64,
}

/// `struct markers_probe`: one probe of a batch.
///
/// [`Probe`](crate::Probe) builds these; a raw probe is a C-ABI function with
/// one `u64` parameter per argument after its data.
///
/// # Examples
///
/// A raw probe on `sample_loop` (`u32`, `u32`), registered and unregistered:
///
/// ```no_run
/// use core::ffi::c_void;
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use kernel::prelude::*;
/// use markers::sys::{
///     markers_probe_register_many, markers_probe_unregister_many, RawProbe, PROBE_ENABLE,
/// };
///
/// static LOOPS: AtomicU64 = AtomicU64::new(0);
///
/// unsafe extern "C" fn on_loop(_data: *mut c_void, _i: u64, _sum: u64) {
///     LOOPS.fetch_add(1, Ordering::Relaxed);
/// }
///
/// let p = RawProbe {
///     name: c"sample_loop".as_ptr().cast(),
///     sig: c"II".as_ptr().cast(),
///     func: on_loop as *const c_void,
///     data: core::ptr::null_mut(),
///     flags: PROBE_ENABLE,
/// };
/// // SAFETY: one entry with static NUL-terminated strings and a handler of
/// // the probe type of its signature.
/// kernel::error::to_result(unsafe { markers_probe_register_many(&p, 1) })?;
/// // ...
/// // SAFETY: the entry registered above.
/// kernel::error::to_result(unsafe { markers_probe_unregister_many(&p, 1) })?;
/// # Ok::<(), Error>(())
/// ```
#[repr(C)]
pub struct RawProbe {
    /// Marker name, NUL-terminated.
    pub name: *const u8,
    /// Signature, NUL-terminated (ignored when unregistering).
    pub sig: *const u8,
    /// Handler: `void (*)(void *data, u64 a0, ..., u64 an-1)` for a marker
    /// of `n` arguments (see `include/linux/markers.h`).
    pub func: *const c_void,
    /// Passed to the handler.
    pub data: *mut c_void,
    /// `MARKERS_PROBE_*` flags.
    pub flags: u32,
}

/// `MARKERS_PROBE_ENABLE`: the probe arms its marker while attached.
///
/// # Examples
///
/// ```no_run
/// use markers::{probe::ENABLE, sys::PROBE_ENABLE};
///
/// assert_eq!(PROBE_ENABLE, ENABLE);
/// ```
pub const PROBE_ENABLE: u32 = 1;
/// `MARKERS_SITE_ENABLED`: the site jumps to its enabled block.
///
/// # Examples
///
/// ```no_run
/// use core::ffi::c_void;
/// use markers::section::RawEntry;
/// use markers::sys::{markers_site_state, SITE_ENABLED};
///
/// fn is_enabled(e: &RawEntry) -> bool {
///     // SAFETY: a lookup by address; nothing is dereferenced.
///     unsafe { markers_site_state(e.code_addr() as *const c_void) & SITE_ENABLED != 0 }
/// }
/// ```
pub const SITE_ENABLED: c_int = 0x01;
/// `MARKERS_SITE_PATCHING`: a patch pass is rewriting the site.
///
/// # Examples
///
/// ```no_run
/// use core::ffi::c_void;
/// use markers::section::RawEntry;
/// use markers::sys::{markers_site_state, SITE_PATCHING};
///
/// fn is_patching(e: &RawEntry) -> bool {
///     // SAFETY: a lookup by address; nothing is dereferenced.
///     unsafe { markers_site_state(e.code_addr() as *const c_void) & SITE_PATCHING != 0 }
/// }
/// ```
pub const SITE_PATCHING: c_int = 0x02;
/// `MARKERS_SITE_BROKEN`: the site was refused (unexpected bytes).
///
/// # Examples
///
/// ```no_run
/// use core::ffi::c_void;
/// use markers::section::RawEntry;
/// use markers::sys::{markers_site_state, SITE_BROKEN};
///
/// fn is_broken(e: &RawEntry) -> bool {
///     // SAFETY: a lookup by address; nothing is dereferenced.
///     unsafe { markers_site_state(e.code_addr() as *const c_void) & SITE_BROKEN != 0 }
/// }
/// ```
pub const SITE_BROKEN: c_int = 0x04;
/// `MARKERS_SITE_RETIRED`: the site is gone (freed init text, or its module is going).
///
/// # Examples
///
/// ```no_run
/// use core::ffi::c_void;
/// use markers::section::RawEntry;
/// use markers::sys::{markers_site_state, SITE_RETIRED};
///
/// fn is_retired(e: &RawEntry) -> bool {
///     // SAFETY: a lookup by address; nothing is dereferenced.
///     unsafe { markers_site_state(e.code_addr() as *const c_void) & SITE_RETIRED != 0 }
/// }
/// ```
pub const SITE_RETIRED: c_int = 0x08;
/// `MARKERS_SITE_TORN`: a text write failed mid-pass; the site keeps an int3.
///
/// # Examples
///
/// ```no_run
/// use core::ffi::c_void;
/// use markers::section::RawEntry;
/// use markers::sys::{markers_site_state, SITE_TORN};
///
/// fn is_torn(e: &RawEntry) -> bool {
///     // SAFETY: a lookup by address; nothing is dereferenced.
///     unsafe { markers_site_state(e.code_addr() as *const c_void) & SITE_TORN != 0 }
/// }
/// ```
pub const SITE_TORN: c_int = 0x10;

extern "C" {
    /// Enables or disables markers by name, all in one patch pass. See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use kernel::prelude::*;
    /// use markers::sys::markers_update;
    ///
    /// let names = [c"sample_tick".as_ptr().cast(), c"sample_loop".as_ptr().cast()];
    /// // SAFETY: two NUL-terminated names.
    /// kernel::error::to_result(unsafe { markers_update(names.as_ptr(), 2, true) })?;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn markers_update(names: *const *const u8, n: c_uint, enable: bool) -> c_int;
    /// Enables a marker by name. See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use kernel::prelude::*;
    /// use markers::sys::markers_enable;
    ///
    /// // SAFETY: a NUL-terminated name.
    /// kernel::error::to_result(unsafe { markers_enable(c"sample_tick".as_ptr().cast()) })?;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn markers_enable(name: *const u8) -> c_int;
    /// Disables a marker by name. See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use kernel::prelude::*;
    /// use markers::sys::markers_disable;
    ///
    /// // SAFETY: a NUL-terminated name.
    /// kernel::error::to_result(unsafe { markers_disable(c"sample_tick".as_ptr().cast()) })?;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn markers_disable(name: *const u8) -> c_int;
    /// The hits of a marker's enabled sites, summed over CPUs, or a negative
    /// error code. See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use markers::sys::markers_hits;
    ///
    /// // SAFETY: a NUL-terminated name.
    /// let hits = unsafe { markers_hits(c"sample_tick".as_ptr().cast()) };
    /// kernel::pr_info!("sample_tick: {} hits\n", hits);
    /// ```
    pub fn markers_hits(name: *const u8) -> i64;
    /// The `MARKERS_SITE_*` flags of the site at `addr`, or a negative error
    /// code. See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use core::ffi::c_void;
    /// use markers::section::RawEntry;
    /// use markers::sys::{markers_site_state, SITE_ENABLED};
    ///
    /// fn is_enabled(e: &RawEntry) -> bool {
    ///     // SAFETY: a lookup by address; nothing is dereferenced.
    ///     unsafe { markers_site_state(e.code_addr() as *const c_void) & SITE_ENABLED != 0 }
    /// }
    /// ```
    pub fn markers_site_state(addr: *const c_void) -> c_int;
    /// Copies the patcher's counters to `out`. See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use markers::sys::{markers_get_stats, Stats};
    ///
    /// let mut s = Stats::default();
    /// // SAFETY: `s` is a valid `struct markers_stats` to write.
    /// unsafe { markers_get_stats(&mut s) };
    /// kernel::pr_info!("{} int3 traps\n", s.int3);
    /// ```
    pub fn markers_get_stats(out: *mut Stats);
    /// Test only (`markers.ko` loaded with `test_mode=1`): writes `byte` at
    /// `offset` (0-4) of the registered, disabled site at `addr`. See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use core::ffi::c_void;
    /// use markers::section::RawEntry;
    /// use markers::sys::markers_test_poke;
    ///
    /// /// Corrupts a site's NOP, so that enabling it is refused.
    /// fn corrupt(e: &RawEntry) -> i32 {
    ///     // SAFETY: the site is this module's and disabled; test mode allows
    ///     // the write.
    ///     unsafe { markers_test_poke(e.code_addr() as *const c_void, 3, 0x55) }
    /// }
    /// ```
    pub fn markers_test_poke(addr: *const c_void, offset: c_uint, byte: u8) -> c_int;
    /// Test only: makes text writes of the next patch passes fail at the
    /// protocol steps in `steps`, `count` times in all. See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use markers::sys::markers_test_fail_writes;
    ///
    /// // Fail the next write of step 1 (the int3), once.
    /// // SAFETY: only the next patch passes are affected.
    /// unsafe { markers_test_fail_writes(1 << 1, 1) };
    /// // ...
    /// // Clear it.
    /// // SAFETY: as above.
    /// unsafe { markers_test_fail_writes(0, 0) };
    /// ```
    pub fn markers_test_fail_writes(steps: c_uint, count: c_uint) -> c_int;
    /// Test only: 0 when the patcher left no writable alias of module text
    /// behind and the text at `site` is read-only. See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use core::ffi::c_void;
    /// use markers::section::RawEntry;
    /// use markers::sys::markers_test_text_alias;
    ///
    /// fn no_alias(e: &RawEntry) -> bool {
    ///     // SAFETY: a lookup; nothing is written.
    ///     unsafe { markers_test_text_alias(e.code_addr() as *const c_void) == 0 }
    /// }
    /// ```
    pub fn markers_test_text_alias(site: *const c_void) -> c_int;
    /// Attaches a batch of probes to markers by name, all or nothing.
    /// See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use core::ffi::c_void;
    /// use kernel::prelude::*;
    /// use markers::sys::{markers_probe_register_many, RawProbe};
    ///
    /// unsafe extern "C" fn on_generic(_data: *mut c_void, _v: u64) {}
    ///
    /// let p = [RawProbe {
    ///     name: c"sample_generic".as_ptr().cast(),
    ///     sig: c"I".as_ptr().cast(),
    ///     func: on_generic as *const c_void,
    ///     data: core::ptr::null_mut(),
    ///     flags: 0,
    /// }];
    /// // SAFETY: one entry with static NUL-terminated strings and a handler of
    /// // the probe type of its signature.
    /// kernel::error::to_result(unsafe { markers_probe_register_many(p.as_ptr(), 1) })?;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn markers_probe_register_many(probes: *const RawProbe, n: c_uint) -> c_int;
    /// Detaches a batch of probes and waits until none of their handlers runs.
    /// See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use markers::sys::{markers_probe_unregister_many, RawProbe};
    ///
    /// /// Unregisters probes; on success their data may be freed.
    /// fn unregister(probes: &[RawProbe]) -> kernel::error::Result {
    ///     // SAFETY: `probes` is a valid array of entries; `n` fits in `u32`.
    ///     let r = unsafe { markers_probe_unregister_many(probes.as_ptr(), probes.len() as u32) };
    ///     kernel::error::to_result(r)
    /// }
    /// ```
    pub fn markers_probe_unregister_many(probes: *const RawProbe, n: c_uint) -> c_int;
    /// Where a registered probe stands: `MARKERS_PROBE_PENDING` (0),
    /// `MARKERS_PROBE_ATTACHED` (1) or `MARKERS_PROBE_MISMATCH` (2). See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use markers::sys::{markers_probe_state, RawProbe};
    ///
    /// fn attached(p: &RawProbe) -> bool {
    ///     // SAFETY: `p` is a valid entry.
    ///     unsafe { markers_probe_state(p) == 1 }
    /// }
    /// ```
    pub fn markers_probe_state(probe: *const RawProbe) -> c_int;
    /// Waits until no handler unregistered before the call can still run.
    /// See `include/linux/markers.h`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use markers::sys::markers_probe_synchronize;
    ///
    /// // After unregistering probes that share data one by one, before freeing it:
    /// // SAFETY: process context.
    /// unsafe { markers_probe_synchronize() };
    /// ```
    pub fn markers_probe_synchronize();
}
