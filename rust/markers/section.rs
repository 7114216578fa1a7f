// SPDX-License-Identifier: GPL-2.0

//! The `__markers` section: what [`mark!`](crate::mark) emits and the
//! registry in `markers.ko` reads.
//!
//! Every site adds one [`RawEntry`] (16 bytes) to the module's `__markers`
//! section. The module's linker script (`scripts/markers.lds`) gathers the
//! entries between the symbols `__markers_start` and `__markers_stop`, which
//! the registry finds in the module's symbol table when the module loads.
//!
//! Each `mark!` invocation also emits one [`RawDesc`] in
//! `.rodata.markers_desc`, shared by every copy of the site that inlining
//! creates, and one [`SiteState`] in `.data`. The registry merges the
//! descriptors of one name into one marker.
//!
//! All offsets are relative to the address of the field that holds them, as
//! in the kernel's `struct jump_entry`, so the section needs no relocation
//! beyond the module loader's.
//!
//! # Examples
//!
//! A module that places markers can read its own entries, as the in-guest
//! tests do:
//!
//! ```no_run
//! use core::ffi::CStr;
//! use markers::section::{RawDesc, RawEntry};
//!
//! extern "C" {
//!     static __markers_start: RawEntry;
//!     static __markers_stop: RawEntry;
//! }
//!
//! /// The marker name of the module's first site.
//! fn first_name() -> &'static CStr {
//!     // SAFETY: the linker script puts at least this module's first entry
//!     // at `__markers_start`; the registry validated it at load.
//!     unsafe {
//!         let e = &*core::ptr::addr_of!(__markers_start);
//!         let d = &*(e.desc_addr() as *const RawDesc);
//!         CStr::from_ptr(d.name.cast())
//!     }
//! }
//! ```

use core::ffi::c_void;
use core::sync::atomic::AtomicPtr;

/// One site's entry in `__markers`.
///
/// # Invariants
///
/// In a module built with this crate, `code` and `target` are offsets from
/// their own field to the site's 5-byte NOP and to its enabled block, and
/// `desc` is the offset from its field to the site's [`RawDesc`]. The
/// registry does not rely on this: it checks every entry before use.
///
/// # Examples
///
/// The sites of the module itself, between the bounds its linker script
/// defines:
///
/// ```no_run
/// use markers::section::RawEntry;
///
/// extern "C" {
///     // Defined around the module's entries by `scripts/markers.lds`.
///     static __markers_start: RawEntry;
///     static __markers_stop: RawEntry;
/// }
///
/// /// This module's own entries.
/// fn entries() -> &'static [RawEntry] {
///     // SAFETY: the linker script puts the module's entries between the two
///     // symbols; the section is part of the loaded module.
///     unsafe {
///         let start = core::ptr::addr_of!(__markers_start);
///         let stop = core::ptr::addr_of!(__markers_stop);
///         let n = (stop as usize - start as usize) / core::mem::size_of::<RawEntry>();
///         core::slice::from_raw_parts(start, n)
///     }
/// }
///
/// for e in entries() {
///     kernel::pr_info!("site at {:#x}\n", e.code_addr());
/// }
/// ```
#[repr(C)]
pub struct RawEntry {
    /// Offset of the site (the 5-byte NOP) from this field.
    pub code: i32,
    /// Offset of the enabled block, the jump's target, from this field.
    pub target: i32,
    /// Offset of the site's descriptor from this field.
    pub desc: i64,
}

const _: () = assert!(core::mem::size_of::<RawEntry>() == 16);

impl RawEntry {
    /// Address of the site.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use markers::section::RawEntry;
    ///
    /// /// Whether a site is the 5-byte NOP of a disabled site.
    /// fn is_nop(e: &RawEntry) -> bool {
    ///     // SAFETY: the entry is one of this module's, whose text is mapped.
    ///     let b = unsafe { core::ptr::read_volatile(e.code_addr() as *const [u8; 5]) };
    ///     b == [0x0f, 0x1f, 0x44, 0x00, 0x00]
    /// }
    /// ```
    #[inline]
    pub fn code_addr(&self) -> usize {
        // NO-OVERFLOW: wrapping arithmetic on addresses; a bogus offset gives
        // a bogus address, which the registry rejects.
        (core::ptr::addr_of!(self.code) as usize).wrapping_add(self.code as isize as usize)
    }

    /// Address of the enabled block.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use markers::section::RawEntry;
    ///
    /// /// Whether a site is a `jmp` to its enabled block.
    /// fn jumps(e: &RawEntry) -> bool {
    ///     // SAFETY: the entry is one of this module's, whose text is mapped.
    ///     let b = unsafe { core::ptr::read_volatile(e.code_addr() as *const [u8; 5]) };
    ///     let rel = i32::from_le_bytes([b[1], b[2], b[3], b[4]]);
    ///     let to = (e.code_addr() + 5).wrapping_add(rel as isize as usize);
    ///     b[0] == 0xe9 && to == e.target_addr()
    /// }
    /// ```
    #[inline]
    pub fn target_addr(&self) -> usize {
        (core::ptr::addr_of!(self.target) as usize).wrapping_add(self.target as isize as usize)
    }

    /// Address of the descriptor.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use core::ffi::CStr;
    /// use markers::section::{RawDesc, RawEntry};
    ///
    /// /// The marker name of an entry of this module.
    /// fn name(e: &RawEntry) -> &'static CStr {
    ///     // SAFETY: the registry validated the module's entries at load.
    ///     unsafe {
    ///         let d = &*(e.desc_addr() as *const RawDesc);
    ///         CStr::from_ptr(d.name.cast())
    ///     }
    /// }
    /// ```
    #[inline]
    pub fn desc_addr(&self) -> usize {
        (core::ptr::addr_of!(self.desc) as usize).wrapping_add(self.desc as usize)
    }
}

/// `RawDesc::magic`: "MRKD" in memory.
///
/// # Examples
///
/// ```no_run
/// use markers::section::DESC_MAGIC;
///
/// assert_eq!(&DESC_MAGIC.to_le_bytes(), b"MRKD");
/// ```
pub const DESC_MAGIC: u32 = 0x444b_524d;
/// `RawDesc::layout`: version of the descriptor layout.
///
/// # Examples
///
/// ```no_run
/// use markers::section::{RawDesc, DESC_LAYOUT, DESC_MAGIC};
///
/// /// Whether a descriptor is of the layout this crate emits.
/// fn is_current(d: &RawDesc) -> bool {
///     d.magic == DESC_MAGIC && d.layout == DESC_LAYOUT
/// }
/// ```
pub const DESC_LAYOUT: u16 = 4;
/// Longest marker name, without the terminating NUL.
///
/// # Examples
///
/// ```no_run
/// use markers::section::NAME_MAX;
///
/// // Room for any marker name and its NUL.
/// let name = [0u8; NAME_MAX + 1];
/// assert_eq!(name.len(), 64);
/// ```
pub const NAME_MAX: usize = 63;
/// Longest format string, without the terminating NUL.
///
/// # Examples
///
/// ```no_run
/// use markers::section::FORMAT_MAX;
///
/// // Room for any format string and its NUL.
/// let format = [0u8; FORMAT_MAX + 1];
/// assert_eq!(format.len(), 256);
/// ```
pub const FORMAT_MAX: usize = 255;
/// Most arguments a marker takes.
///
/// # Examples
///
/// ```no_run
/// use markers::section::{RawDesc, ARGS_MAX};
///
/// /// A descriptor's signature: one kind byte per argument.
/// fn signature(d: &RawDesc) -> &[u8] {
///     &d.sig[..usize::from(d.nargs).min(ARGS_MAX)]
/// }
/// ```
pub const ARGS_MAX: usize = 12;

/// A `mark!` invocation's descriptor.
///
/// Emitted by the `mark!` expansion's assembly, read by the registry, which
/// checks each field before use (a module's section is untrusted input).
///
/// # Examples
///
/// ```no_run
/// use core::ffi::CStr;
/// use markers::section::{RawDesc, RawEntry};
///
/// /// The format string of an entry's `mark!`.
/// fn format(e: &RawEntry) -> &'static CStr {
///     // SAFETY: the registry validated the module's entries at load.
///     unsafe {
///         let d = &*(e.desc_addr() as *const RawDesc);
///         CStr::from_ptr(d.format.cast())
///     }
/// }
/// ```
#[repr(C)]
pub struct RawDesc {
    /// [`DESC_MAGIC`].
    pub magic: u32,
    /// [`DESC_LAYOUT`].
    pub layout: u16,
    /// Number of arguments.
    pub nargs: u16,
    /// The marker's name, NUL-terminated, `[A-Za-z0-9_]`, at most
    /// [`NAME_MAX`] bytes.
    pub name: *const u8,
    /// The format string, NUL-terminated, at most [`FORMAT_MAX`] bytes.
    pub format: *const u8,
    /// The module that holds the site (`__this_module`).
    pub owner: *const c_void,
    /// `markers_abi_version`, exported by `markers.ko`.
    pub abi: *const u32,
    /// The invocation's [`SiteState`].
    pub state: *const SiteState,
    /// The argument signature: one [`Primitive::KIND`](crate::Primitive::KIND)
    /// byte per argument, NUL-padded.
    pub sig: [u8; 16],
    /// The invocation's trampoline: a 5-byte `jmp markers_dispatch_<nargs>`
    /// in the module's `.kprobes.text` that the enabled block calls, and
    /// that the patcher points at the marker's only probe while there is
    /// one.
    pub tramp: *const u8,
    /// The recorder of the marker's trace event, instantiated for this
    /// signature in the module (`rec<nargs>::<signature>` of the crate's
    /// `event` module): the probe `markers.ko` attaches while the event is
    /// switched on in a trace instance.
    pub recorder: *const c_void,
}

const _: () = assert!(core::mem::size_of::<RawDesc>() == 80);

/// What an enabled block calls: a probe and its data, immutable once
/// published (`struct markers_dispatch` in `rust/core/markers_glue.h`).
///
/// The block passes `data` as the probe's first parameter and the dispatch
/// itself after the marker's arguments, for `markers_dispatch_<n>`.
///
/// # Examples
///
/// ```no_run
/// use core::ffi::c_void;
/// use core::sync::atomic::Ordering;
/// use markers::section::{Dispatch, SiteState};
///
/// /// The probe an invocation's enabled block would call now, or null.
/// ///
/// /// # Safety
/// ///
/// /// The caller holds off grace periods (preemption disabled), as the
/// /// enabled block does.
/// unsafe fn current_probe(state: &SiteState) -> *const c_void {
///     let d: *const Dispatch = state.disp.load(Ordering::Acquire);
///     if d.is_null() {
///         return core::ptr::null();
///     }
///     // SAFETY: a published dispatch stays valid until a grace period after
///     // it is replaced, which the caller holds off.
///     unsafe { (*d).func }
/// }
/// ```
#[repr(C)]
pub struct Dispatch {
    /// The probe: `void (*)(void *data, u64 a0, ..., u64 an-1)` for a
    /// marker of `n` arguments.
    pub func: *const c_void,
    /// Passed to `func`.
    pub data: *mut c_void,
}

/// Per-invocation state, written by the registry, read by the enabled block.
///
/// # Invariants
///
/// The registry sets every field when the module loads, before any of its
/// sites can be enabled: `marker` to the marker's runtime object, `disp` to
/// the marker's current dispatch (its only attached probe, or the marker's
/// own dispatcher of `markers.ko`, which runs several probes or none), and
/// `hits` to the invocation's per-CPU hit counter. It replaces `disp`
/// whenever the marker's probes change, and frees the old one only after a
/// grace period that waits for preempted enabled blocks too. It clears
/// `marker` and `disp` when the module goes.
///
/// # Examples
///
/// ```no_run
/// use core::sync::atomic::Ordering;
/// use markers::section::SiteState;
///
/// /// Whether the registry attached an invocation's state to a marker.
/// fn attached(state: &SiteState) -> bool {
///     !state.marker.load(Ordering::Acquire).is_null()
/// }
/// ```
#[repr(C)]
pub struct SiteState {
    /// The marker's runtime object in `markers.ko`, or null.
    pub marker: AtomicPtr<c_void>,
    /// What the enabled block calls.
    pub disp: AtomicPtr<Dispatch>,
    /// The invocation's hit counter: a per-CPU `u64` (a `__percpu`
    /// address, used with the `%gs` segment), allocated by `markers.ko`.
    pub hits: AtomicPtr<u64>,
}

impl SiteState {
    /// A state no marker is attached to yet.
    ///
    /// # Examples
    ///
    /// What `mark!` emits for each invocation:
    ///
    /// ```no_run
    /// use core::sync::atomic::Ordering;
    /// use markers::section::SiteState;
    ///
    /// static STATE: SiteState = SiteState::new();
    /// assert!(STATE.disp.load(Ordering::Relaxed).is_null());
    /// ```
    #[allow(clippy::new_without_default)]
    #[inline]
    pub const fn new() -> Self {
        Self {
            marker: AtomicPtr::new(core::ptr::null_mut()),
            disp: AtomicPtr::new(core::ptr::null_mut()),
            hits: AtomicPtr::new(core::ptr::null_mut()),
        }
    }
}
