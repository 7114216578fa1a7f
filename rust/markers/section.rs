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
    #[inline]
    pub fn code_addr(&self) -> usize {
        // NO-OVERFLOW: wrapping arithmetic on addresses; a bogus offset gives
        // a bogus address, which the registry rejects.
        (core::ptr::addr_of!(self.code) as usize).wrapping_add(self.code as isize as usize)
    }

    /// Address of the enabled block.
    #[inline]
    pub fn target_addr(&self) -> usize {
        (core::ptr::addr_of!(self.target) as usize).wrapping_add(self.target as isize as usize)
    }

    /// Address of the descriptor.
    #[inline]
    pub fn desc_addr(&self) -> usize {
        (core::ptr::addr_of!(self.desc) as usize).wrapping_add(self.desc as usize)
    }
}

/// `RawDesc::magic`: "MRKD" in memory.
pub const DESC_MAGIC: u32 = 0x444b_524d;
/// `RawDesc::layout`: version of the descriptor layout.
pub const DESC_LAYOUT: u16 = 3;
/// Longest marker name, without the terminating NUL.
pub const NAME_MAX: usize = 63;
/// Longest format string, without the terminating NUL.
pub const FORMAT_MAX: usize = 255;
/// Most arguments a marker takes.
pub const ARGS_MAX: usize = 12;

/// A `mark!` invocation's descriptor.
///
/// Emitted by the `mark!` expansion's assembly, read by the registry, which
/// checks each field before use (a module's section is untrusted input).
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
}

const _: () = assert!(core::mem::size_of::<RawDesc>() == 72);

/// What an enabled block calls: a probe and its data, immutable once
/// published (`struct markers_dispatch` in `rust/core/markers_glue.h`).
///
/// The block passes `data` as the probe's first parameter and the dispatch
/// itself after the marker's arguments, for `markers_dispatch_<n>`.
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
