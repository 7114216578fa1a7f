// SPDX-License-Identifier: GPL-2.0

//! The recorder of a marker's trace event (`markers:<name>`), instantiated
//! for each signature in the module that places the marker.
//!
//! A kernel `TRACE_EVENT` compiles each field's offset, size and copy into
//! its probe. A recorder in `markers.ko` would have to read them from the
//! event at every hit (a table walk that cost 40 instructions a hit for two
//! fields, more than the whole dispatch). So `mark!` names, in the site's
//! descriptor, [`rec0`] to [`rec12`] instantiated for the site's signature:
//! the layout is a constant ([`Signature::LAYOUT`]), every field's store is
//! known at compile time, and each recorder is straight-line code: one
//! length per string or byte slice, one store per field. When the event is switched on through tracefs, `markers.ko`
//! attaches the recorder of the module that owns the event as the marker's
//! probe, with the event's `trace_event_file` as its data.
//!
//! The ring buffer is reached through two functions of `markers.ko`
//! (`rust/core/markers_events.c`), which hold what depends on the kernel's
//! tracing internals: [`markers_event_reserve`] (preemption off, the file's
//! soft-disable, trigger and PID-filter checks, `trace_event_buffer_reserve`)
//! and [`markers_event_commit`] (`trace_event_buffer_commit`, preemption
//! on). Filters and triggers are applied by the commit, as for any event.
//!
//! The entry is the one `markers.ko` describes in the event's `format`
//! file, computed by the same rules on both sides ([`layout`]; the C side is
//! `mev_layout()`): a `struct trace_entry` header, then each argument's
//! field at its natural alignment (integers and `bool` by size, pointers 8
//! bytes, `__data_loc` words of 4 bytes for `&CStr`, `&str` and `&[u8]`),
//! then the dynamic data. The dynamic fields of one entry share
//! [`DYN_BUDGET`] bytes; longer ones are cut (a C string keeps its NUL).
//! `tools/testing/guest/tests/68-events.sh` checks every kind's field and
//! value as recorded.

use core::ffi::c_void;
use core::mem::MaybeUninit;

use crate::args::{Signature, Span};
use crate::section::ARGS_MAX;

/// `sizeof(struct trace_entry)`, the header of every entry (checked at
/// build time by `markers.ko`).
const HEADER: usize = 8;

/// The bytes the dynamic fields of one entry share (`MEV_DYN_BUDGET` of
/// `markers.ko`): an entry must fit a ring buffer page.
const DYN_BUDGET: usize = 3072;

/// Room for a `struct trace_event_buffer`, which only `markers.ko` reads
/// (it checks at build time that the structure fits).
#[repr(C, align(8))]
pub(crate) struct EventBuffer([u64; 8]);

extern "C" {
    /// Starts an entry of `size` bytes for the event file `file`: the
    /// entry, or null if the event records nothing now (soft-disabled,
    /// filtered by PID, no room); preemption stays disabled until
    /// [`markers_event_commit`] after a non-null return.
    fn markers_event_reserve(file: *mut c_void, buf: *mut EventBuffer, size: u32) -> *mut u8;
    /// Commits the entry `markers_event_reserve` returned through `buf`.
    fn markers_event_commit(buf: *mut EventBuffer);
}

/// The size of the field of an argument of kind `k` (its alignment too).
#[inline]
const fn field_size(k: u8) -> usize {
    match k {
        b'b' | b'h' | b'H' => 1,
        b's' | b'S' => 2,
        // `__data_loc`: a u32, offset | length << 16.
        b'i' | b'I' | b'c' | b't' | b'y' => 4,
        _ => 8,
    }
}

/// Each field's offset in an entry of a marker of kinds `kinds[..n]`, and
/// at index [`ARGS_MAX`] the size of the fixed part (where the dynamic data
/// starts).
#[inline]
pub(crate) const fn layout(kinds: &[u8; ARGS_MAX + 1], n: usize) -> [u16; ARGS_MAX + 1] {
    let mut out = [0u16; ARGS_MAX + 1];
    let mut off = HEADER;
    let mut i = 0;
    while i < n {
        let size = field_size(kinds[i]);
        off = (off + size - 1) & !(size - 1);
        // CAST: at most 8 + 12 * 8.
        out[i] = off as u16;
        off += size;
        i += 1;
    }
    out[ARGS_MAX] = off as u16;
    out
}

/// The span an argument of kind `t` or `y` points at.
///
/// # Safety
///
/// `a` is such an argument, during the probe call.
#[inline(always)]
unsafe fn span<'a>(a: u64) -> &'a Span {
    // SAFETY: the argument is the address of a `Span` on the enabled
    // block's stack, valid during the call (`args` module).
    unsafe { &*(a as usize as *const Span) }
}

/// Copies `n` bytes (the string instruction a C `memcpy` of a run-time
/// length becomes in the kernel).
///
/// # Safety
///
/// `src` and `dst` are valid for `n` bytes and do not overlap.
#[inline(always)]
unsafe fn copy(src: *const u8, dst: *mut u8, n: usize) {
    // SAFETY: see above.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags),
        )
    };
}

/// The length of the dynamic data of an argument of kind `k`, taken from
/// `budget`; 0 for a fixed-size kind.
///
/// # Safety
///
/// `a` is an argument of kind `k`, during the probe call.
#[inline(always)]
unsafe fn dyn_len(k: u8, a: u64, budget: &mut usize) -> usize {
    let mut len = match k {
        // SAFETY: a `c` argument is the address of a NUL-terminated string,
        // valid during the call.
        // NO-OVERFLOW: a string's length is below the size of the address
        // space (here and below).
        b'c' => unsafe { kernel::bindings::strlen(a as usize as *const u8) }.wrapping_add(1),
        // SAFETY: a `t` or `y` argument, during the call.
        b't' => unsafe { span(a) }.len.wrapping_add(1),
        // SAFETY: as above.
        b'y' => unsafe { span(a) }.len,
        _ => return 0,
    };
    // A string keeps at least its NUL.
    if len > *budget {
        len = if *budget > 0 { *budget } else { 1 };
    }
    *budget -= if len < *budget { len } else { *budget };
    len
}

/// Stores an argument `a` of kind `k` in the entry `e`: its field at `off`
/// and, for a dynamic kind, its `len` bytes of data at `*dyn_off`, which
/// moves past them.
///
/// # Safety
///
/// `a` is an argument of kind `k`, during the probe call; the entry has
/// room for the field and the data (sizes computed with [`layout`] and
/// [`dyn_len`]).
#[inline(always)]
unsafe fn store(k: u8, e: *mut u8, off: usize, a: u64, len: usize, dyn_off: &mut usize) {
    // SAFETY: see above. Entries are 4-byte aligned in the ring buffer:
    // wider fields are written unaligned.
    unsafe {
        let f = e.add(off);
        match k {
            // CAST: the ABI's u64 narrowed to the field's width.
            b'b' | b'h' | b'H' => f.write(a as u8),
            b's' | b'S' => f.cast::<u16>().write_unaligned(a as u16),
            b'i' | b'I' => f.cast::<u32>().write_unaligned(a as u32),
            b'c' | b't' | b'y' => {
                let d = e.add(*dyn_off);
                match k {
                    b'c' => copy(a as usize as *const u8, d, len),
                    b't' => copy(span(a).ptr, d, len - 1),
                    _ => copy(span(a).ptr, d, len),
                }
                // The NUL again: the copy may be cut.
                if k != b'y' {
                    d.add(len - 1).write(0);
                }
                // CAST: both below 2^16.
                f.cast::<u32>()
                    .write_unaligned((*dyn_off | len << 16) as u32);
                *dyn_off += len;
            }
            _ => f.cast::<u64>().write_unaligned(a),
        }
    }
}

// Each recorder is straight-line code: one `dyn_len` and one `store` per
// argument, with the kind and offset as constants (`const` blocks), so
// only the code of the actual kinds remains, as in a TRACE_EVENT's probe.
macro_rules! recorders {
    ($($name:ident $n:literal [$($v:ident $i:literal $l:ident),*];)*) => {$(
        /// The recorder of a marker of signature `S` with this many
        /// arguments: a probe whose data is the event's `trace_event_file`.
        ///
        /// # Safety
        ///
        /// Called by `markers.ko` as a probe of a marker of signature `S`.
        pub unsafe extern "C" fn $name<S: Signature>(file: *mut c_void $(, $v: u64)*) {
            const { assert!(S::NARGS == $n) };
            let fixed = const { S::LAYOUT[ARGS_MAX] as usize };
            #[allow(unused_mut, unused_variables)]
            let mut budget = DYN_BUDGET;
            // SAFETY: the arguments of a site of signature `S`.
            $(let $l = unsafe { dyn_len(const { S::KINDS[$i] }, $v, &mut budget) };)*
            let size = fixed $(+ $l)*;
            let mut buf = MaybeUninit::<EventBuffer>::uninit();
            // SAFETY: `file` is the event's file; `buf` is room for the
            // buffer state until the commit. CAST: `size` is at most
            // 104 + DYN_BUDGET + 12.
            let e = unsafe { markers_event_reserve(file, buf.as_mut_ptr(), size as u32) };
            if e.is_null() {
                return;
            }
            #[allow(unused_mut, unused_variables)]
            let mut dyn_off = fixed;
            // SAFETY: the entry has `size` bytes, as computed above.
            $(unsafe {
                store(const { S::KINDS[$i] }, e, const { S::LAYOUT[$i] as usize }, $v, $l,
                      &mut dyn_off)
            };)*
            // SAFETY: the entry reserved above, through `buf`.
            unsafe { markers_event_commit(buf.as_mut_ptr()) };
        }
    )*};
}

recorders! {
    rec0 0 [];
    rec1 1 [a0 0 l0];
    rec2 2 [a0 0 l0, a1 1 l1];
    rec3 3 [a0 0 l0, a1 1 l1, a2 2 l2];
    rec4 4 [a0 0 l0, a1 1 l1, a2 2 l2, a3 3 l3];
    rec5 5 [a0 0 l0, a1 1 l1, a2 2 l2, a3 3 l3, a4 4 l4];
    rec6 6 [a0 0 l0, a1 1 l1, a2 2 l2, a3 3 l3, a4 4 l4, a5 5 l5];
    rec7 7 [a0 0 l0, a1 1 l1, a2 2 l2, a3 3 l3, a4 4 l4, a5 5 l5, a6 6 l6];
    rec8 8 [a0 0 l0, a1 1 l1, a2 2 l2, a3 3 l3, a4 4 l4, a5 5 l5, a6 6 l6, a7 7 l7];
    rec9 9 [a0 0 l0, a1 1 l1, a2 2 l2, a3 3 l3, a4 4 l4, a5 5 l5, a6 6 l6, a7 7 l7,
            a8 8 l8];
    rec10 10 [a0 0 l0, a1 1 l1, a2 2 l2, a3 3 l3, a4 4 l4, a5 5 l5, a6 6 l6, a7 7 l7,
              a8 8 l8, a9 9 l9];
    rec11 11 [a0 0 l0, a1 1 l1, a2 2 l2, a3 3 l3, a4 4 l4, a5 5 l5, a6 6 l6, a7 7 l7,
              a8 8 l8, a9 9 l9, a10 10 l10];
    rec12 12 [a0 0 l0, a1 1 l1, a2 2 l2, a3 3 l3, a4 4 l4, a5 5 l5, a6 6 l6, a7 7 l7,
              a8 8 l8, a9 9 l9, a10 10 l10, a11 11 l11];
}
