// SPDX-License-Identifier: GPL-2.0

//! The site: [`mark!`] and what its expansion needs.
//!
//! A site is an `asm goto` statement: a 5-byte NOP whose label operand is the
//! enabled block. The same assembly emits, in other sections:
//!
//! - the site's 16-byte [`RawEntry`](crate::section::RawEntry) in `__markers`;
//! - the invocation's [`RawDesc`](crate::section::RawDesc), once per `mark!`
//!   invocation and signature however often inlining copies the site
//!   (`.ifndef` on a symbol named after the invocation's state static and the
//!   signature: a site in a generic function instantiated with two
//!   signatures gets two descriptors, and the registry refuses the second);
//! - the site's 16-byte `struct jump_entry` in the kernel's `__jump_table`,
//!   for the invocation's [`JumpKey`], which is never enabled: the module
//!   loader registers the entry, so `jump_label_text_reserved()` is true for
//!   the site and `register_kprobe()` refuses it (optprobes do not cover it
//!   either); the patcher rewrites sites without `text_mutex`, which an
//!   armed kprobe's int3 would race.
//!   objtool, which learns control flow only from sections it knows, learns
//!   the edge from the site to the enabled block from this entry too, so it
//!   validates the block and emits its ORC unwind data;
//! - the invocation's 5-byte trampoline in `.kprobes.text`, which the module
//!   loader puts on the kprobe blacklist, for the same reason;
//! - for objtool's IBT check, `.discard.noendbr` entries for the site and
//!   the block, which are jump targets, not indirect-call targets (discarded
//!   at link time);
//! - a reference to `__markers_start`, which only the client linker script
//!   defines, and through the descriptor one to `markers_abi_version`, which
//!   only `markers.ko` exports: a module built without the boilerplate fails
//!   at modpost instead of silently losing its markers.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crate::section::{Dispatch, SiteState};
use crate::Args;

/// A `mark!` invocation's jump-label key: a zeroed `struct static_key`
/// (disabled, default false) that nothing ever enables.
///
/// Each site of the invocation has a `__jump_table` entry for it (branch and
/// init flags clear), only so that the kernel treats the site as reserved
/// text (`jump_label_text_reserved()`: no kprobe, no optprobe). The kernel
/// never patches these entries: `jump_label_add_module()` finds the key
/// inside the module and only records the module's entries in it
/// (`static_key_set_entries()`), and a key that is not enabled needs no
/// update. The key lives in the client module, one per invocation, rather
/// than one exported by `markers.ko`: a key outside the module would make
/// `jump_label_add_module()` allocate a `struct static_key_mod` for every
/// client (a new way for a load to fail) and chain every client's entries on
/// a key of another module. The cost is 16 bytes per invocation in `.bss`.
/// objtool leaves the sites alone: it rewrites a jump-label site only when
/// the entry's init flag is set (`handle_jump_alt`), and learns the edge
/// from the site to the enabled block from the entry.
#[repr(transparent)]
pub struct JumpKey(UnsafeCell<MaybeUninit<kernel::bindings::static_key>>);

// SAFETY: Rust code never reads or writes the key; only the kernel's
// jump-label code does, under its `jump_label_mutex`.
unsafe impl Sync for JumpKey {}

impl JumpKey {
    /// A disabled key without entries: all zeroes (`STATIC_KEY_INIT_FALSE`).
    #[allow(clippy::new_without_default)]
    #[inline]
    pub const fn new() -> Self {
        Self(UnsafeCell::new(MaybeUninit::zeroed()))
    }
}

/// Copies a `&str` into a byte array of exactly its length (for the name and
/// format statics of a site).
#[inline]
pub const fn bytes<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    assert!(b.len() == N);
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// Compile-time check of a marker name (with its terminating NUL): 1 to
/// [`NAME_MAX`](crate::section::NAME_MAX) characters of `[A-Za-z0-9_]`.
#[inline]
pub const fn check_name(s: &str) {
    let b = s.as_bytes();
    assert!(b.len() >= 2, "marker name is empty");
    assert!(
        b.len() - 1 <= crate::section::NAME_MAX,
        "marker name longer than 63 characters"
    );
    let mut i = 0;
    while i < b.len() - 1 {
        let c = b[i];
        assert!(
            c.is_ascii_alphanumeric() || c == b'_',
            "marker name may only hold [A-Za-z0-9_]"
        );
        i += 1;
    }
}

/// Compile-time check of a format string (with its terminating NUL).
#[inline]
pub const fn check_format(s: &str) {
    let b = s.as_bytes();
    assert!(
        b.len() - 1 <= crate::section::FORMAT_MAX,
        "marker format longer than 255 bytes"
    );
    let mut i = 0;
    while i < b.len() - 1 {
        assert!(b[i] != 0, "marker format contains a NUL byte");
        i += 1;
    }
}

extern "C" {
    /// Per-CPU nesting counter of enabled blocks, exported by `markers.ko`,
    /// biased so that the fifth nested `incb` overflows (`MARKERS_DEPTH_BIAS`
    /// in `markers_glue.c`).
    static markers_fire_depth: i8;
    /// What `preempt_enable()` calls when a reschedule is pending: the
    /// thunk, or with `PREEMPT_DYNAMIC` its static-call trampoline (both
    /// exported, both save every register).
    #[cfg(all(CONFIG_PREEMPTION, not(CONFIG_PREEMPT_DYNAMIC)))]
    #[link_name = "preempt_schedule_thunk"]
    fn resched();
    #[cfg(all(CONFIG_PREEMPTION, CONFIG_PREEMPT_DYNAMIC))]
    #[link_name = "__SCT__preempt_schedule"]
    fn resched();
}

/// Offset of the preemption counter in the per-CPU `pcpu_hot`.
const PREEMPT_COUNT: usize = core::mem::offset_of!(
    kernel::bindings::pcpu_hot__bindgen_ty_1__bindgen_ty_1,
    preempt_count
);

/// Enters the read-side section of an enabled block: disables preemption
/// (`preempt_disable()`: the dispatch and what it points at cannot be freed
/// before a grace period that waits for this section), and counts the
/// nesting of blocks on this CPU. Returns `false`, with nothing to undo,
/// when the block is nested four deep already (a probe that hits markers
/// that hit markers...).
#[inline(always)]
fn enter() -> bool {
    // SAFETY: increments this CPU's preemption and nesting counters, as
    // `preempt_disable()` and `this_cpu_inc()` do; on overflow both are
    // decremented again before leaving through the label.
    unsafe {
        core::arch::asm!(
            "incl %gs:{pcpu}+{pc}",
            "incb %gs:{depth}",
            "jo {deep}",
            pcpu = sym kernel::bindings::pcpu_hot,
            pc = const PREEMPT_COUNT,
            depth = sym markers_fire_depth,
            deep = label {
                exit();
                return false;
            },
            options(att_syntax, nostack),
        );
    }
    true
}

/// Leaves the read-side section entered by [`enter`]: `preempt_enable()`.
#[inline(always)]
fn exit() {
    // SAFETY: undoes `enter`; when the preemption counter drops to zero
    // with a reschedule pending, calls the scheduler's thunk, which saves
    // every register, as `preempt_enable()` does.
    unsafe {
        #[cfg(CONFIG_PREEMPTION)]
        core::arch::asm!(
            "decb %gs:{depth}",
            "decl %gs:{pcpu}+{pc}",
            "jnz 2f",
            "call {sched}",
            "2:",
            pcpu = sym kernel::bindings::pcpu_hot,
            pc = const PREEMPT_COUNT,
            depth = sym markers_fire_depth,
            sched = sym resched,
            options(att_syntax),
        );
        #[cfg(not(CONFIG_PREEMPTION))]
        core::arch::asm!(
            "decb %gs:{depth}",
            "decl %gs:{pcpu}+{pc}",
            pcpu = sym kernel::bindings::pcpu_hot,
            pc = const PREEMPT_COUNT,
            depth = sym markers_fire_depth,
            options(att_syntax, nostack),
        );
    }
}

/// The enabled block's call: encodes the arguments and calls the site's
/// dispatch (the marker's only probe, or `markers.ko`'s dispatcher) inside
/// a read-side section.
#[inline(always)]
pub fn fire<A: Args, C>(state: &'static SiteState, args: A, call: C)
where
    C: Fn(PhantomData<A>, *const Dispatch, *mut c_void, *const u64, u32),
{
    let mut slots = A::new_buf();
    args.encode(slots.as_mut());
    if !enter() {
        return;
    }
    // Acquire: pairs with the registry's release store of a fully built
    // dispatch. It is non-null: set before any site of the state could be
    // enabled (`SiteState` invariant).
    let d = state.disp.load(core::sync::atomic::Ordering::Acquire);
    // SAFETY: `d` stays valid until a grace period after it is replaced,
    // and this is a read-side section.
    let data = unsafe { (*d).data };
    // The handler gets the `A::SLOTS` slots `encode` initialized, of the
    // signature it was attached for.
    call(
        PhantomData,
        d,
        data,
        slots.as_ref().as_ptr().cast::<u64>(),
        A::SLOTS as u32,
    );
    exit();
}

/// Places a marker site.
///
/// `mark!(name, "format", args...)`: `name` is an identifier, the marker's
/// name; the format string documents the arguments for the built-in print
/// probe (`{}` per argument); `args` are up to 12 expressions of types that
/// implement [`MarkerArg`](crate::MarkerArg).
///
/// Disabled, the site is one 5-byte NOP and the argument expressions are not
/// evaluated. Enabled, the NOP is a `jmp` to a block that evaluates them once
/// and calls the marker's probes. The same name at several sites, in one
/// module or in several, is one marker.
///
/// # Examples
///
/// ```ignore
/// fn rx(len: u32, dev: &CStr) {
///     markers::mark!(net_rx, "len={} dev={}", len, dev);
/// }
/// ```
#[macro_export]
macro_rules! mark {
    ($name:ident, $fmt:literal $(, $arg:expr)* $(,)?) => {{
        const __MK_NAME: &str = ::core::concat!(::core::stringify!($name), "\0");
        const __MK_FMT: &str = ::core::concat!($fmt, "\0");
        const _: () = $crate::__private::check_name(__MK_NAME);
        const _: () = $crate::__private::check_format(__MK_FMT);
        static __MK_NAME_BYTES: [u8; __MK_NAME.len()] = $crate::__private::bytes(__MK_NAME);
        static __MK_FMT_BYTES: [u8; __MK_FMT.len()] = $crate::__private::bytes(__MK_FMT);
        static __MK_STATE: $crate::__private::SiteState = $crate::__private::SiteState::new();
        static __MK_KEY: $crate::__private::JumpKey = $crate::__private::JumpKey::new();

        /// The site. Generic over the argument tuple so that the signature
        /// is computed from the arguments' types without evaluating them.
        #[inline(always)]
        fn __mk_site<A: $crate::Args, F: ::core::ops::FnOnce() -> A>(_: &F) -> bool {
            // SAFETY: the assembly is a 5-byte NOP with no effect on
            // registers, memory or flags; the rest only emits data into other
            // sections. The label operand is the enabled path.
            unsafe {
                ::core::arch::asm!(
                    // The descriptor, once per invocation.
                    ".ifndef {state}.mkdesc.{sig0}.{sig1}",
                    ".pushsection .rodata.markers_desc, \"a\"",
                    ".balign 8",
                    "{state}.mkdesc.{sig0}.{sig1}:",
                    ".long {magic}",
                    ".short {layout}",
                    ".short {nargs}",
                    ".quad {name}",
                    ".quad {fmt}",
                    ".quad __this_module",
                    ".quad markers_abi_version",
                    ".quad {state}",
                    ".quad {sig0}",
                    ".quad {sig1}",
                    ".quad {state}.mktramp.{sig0}.{sig1}",
                    ".popsection",
                    // The trampoline the enabled block calls, on the
                    // kprobe blacklist.
                    ".pushsection .kprobes.text, \"ax\"",
                    ".type {state}.mktramp.{sig0}.{sig1}, @function",
                    "{state}.mktramp.{sig0}.{sig1}:",
                    ".byte 0xe9",
                    ".long markers_call_indirect - . - 4",
                    ".size {state}.mktramp.{sig0}.{sig1}, 5",
                    ".popsection",
                    ".pushsection .discard.noendbr",
                    ".long {state}.mktramp.{sig0}.{sig1}",
                    ".popsection",
                    ".endif",
                    // The site.
                    "2: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00",
                    // Its entry.
                    ".pushsection __markers, \"a\"",
                    ".balign 8",
                    ".long 2b - .",
                    ".long {block} - .",
                    ".quad {state}.mkdesc.{sig0}.{sig1} - .",
                    ".popsection",
                    // Its jump-label entry: reserved text for kprobes, and
                    // the edge to the block for objtool.
                    ".pushsection __jump_table, \"aw\"",
                    ".balign 8",
                    ".long 2b - .",
                    ".long {block} - .",
                    ".quad {key} - .",
                    ".popsection",
                    ".pushsection .discard.noendbr",
                    ".long 2b",
                    ".long {block}",
                    ".popsection",
                    // The client boilerplate (scripts/markers.lds) is there.
                    ".pushsection .discard.markers_lds",
                    ".quad __markers_start",
                    ".popsection",
                    name = sym __MK_NAME_BYTES,
                    fmt = sym __MK_FMT_BYTES,
                    state = sym __MK_STATE,
                    key = sym __MK_KEY,
                    magic = const $crate::__private::DESC_MAGIC,
                    layout = const $crate::__private::DESC_LAYOUT,
                    nargs = const <A as $crate::Args>::NARGS,
                    sig0 = const <A as $crate::Args>::SIG0,
                    sig1 = const <A as $crate::Args>::SIG1,
                    block = label { return true; },
                    options(nostack, preserves_flags),
                );
            }
            false
        }

        /// The call of the enabled block: through the invocation's
        /// trampoline, with the C arguments of a probe and the dispatch as
        /// a fourth argument (for `markers_call_indirect`).
        #[inline(always)]
        fn __mk_call<A: $crate::Args>(
            _: ::core::marker::PhantomData<A>,
            disp: *const $crate::section::Dispatch,
            data: *mut ::core::ffi::c_void,
            slots: *const u64,
            nslots: u32,
        ) {
            // SAFETY: calls the trampoline emitted with this invocation's
            // descriptor, which jumps to `markers_call_indirect` (a C
            // function of these four arguments) or to the marker's only
            // probe (a C function of the first three, which ignores
            // `%rcx`, a caller-saved argument register); every
            // caller-saved register is declared clobbered, `%rcx`
            // included.
            unsafe {
                ::core::arch::asm!(
                    "call {state}.mktramp.{sig0}.{sig1}",
                    state = sym __MK_STATE,
                    sig0 = const <A as $crate::Args>::SIG0,
                    sig1 = const <A as $crate::Args>::SIG1,
                    in("rdi") data,
                    in("rsi") slots,
                    in("edx") nslots,
                    in("rcx") disp,
                    clobber_abi("C"),
                );
            }
        }

        let __mk_args = || ($($arg,)*);
        if __mk_site(&__mk_args) {
            $crate::__private::fire(&__MK_STATE, __mk_args(), __mk_call);
        }
    }};
}
