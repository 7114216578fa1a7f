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
//! - the invocation's 5-byte trampoline, a naked function of the
//!   invocation's [`Invocation`] type in `.kprobes.text`, which the module
//!   loader puts on the kprobe blacklist, for the same reason;
//! - for objtool's IBT check, `.discard.noendbr` entries for the site and
//!   the block, which are jump targets, not indirect-call targets (discarded
//!   at link time);
//! - a reference to `__markers_start`, which only the client linker script
//!   defines, and through the descriptor one to `markers_abi_version`, which
//!   only `markers.ko` exports: a module built without the boilerplate fails
//!   at modpost instead of silently losing its markers.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::Ordering;

use crate::args::Signature;
use crate::section::SiteState;
use crate::Args;

/// A `mark!` invocation, as a type: its state and its trampolines. The
/// expansion of [`mark!`](crate::mark) defines one type per invocation and implements
/// this trait for it.
///
/// # Safety
///
/// `state` returns the invocation's own state, which its descriptor names;
/// `__markers_tramp::<S>` is a 5-byte `jmp markers_dispatch_<S::NARGS>` in
/// `.kprobes.text`, which only the patcher rewrites.
pub unsafe trait Invocation {
    /// The invocation's state.
    fn state() -> &'static SiteState;
    /// The invocation's trampoline for signature `S`: never called as a
    /// function by Rust code, only by the enabled block's assembly.
    ///
    /// # Safety
    ///
    /// Not to be called from Rust.
    unsafe extern "C" fn __markers_tramp<S: Signature>();
}

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

/// Counts a hit in the invocation's per-CPU counter: one `incq` on this
/// CPU's copy, which neither preemption nor an interrupt can split.
#[inline(always)]
fn count(state: &SiteState) {
    let hits = state.hits.load(Ordering::Relaxed);
    // SAFETY: `hits` is the invocation's per-CPU counter, set before any
    // site of the invocation could be enabled (`SiteState` invariant), and
    // valid while the module is loaded.
    unsafe {
        core::arch::asm!(
            "incq %gs:({})",
            in(reg) hits,
            options(att_syntax, nostack),
        )
    };
}

/// The enabled block's read-side section, where the kernel cannot wait for
/// preempted tasks (`CONFIG_PREEMPTION` without `CONFIG_TASKS_RCU`): the
/// block disables preemption, so that `synchronize_rcu()` covers it. With
/// `CONFIG_TASKS_RCU`, or without preemption, the block needs no marking:
/// `markers.ko` waits for RCU and RCU-tasks grace periods, which cover a
/// task preempted anywhere in the block or in a probe.
#[cfg(all(CONFIG_PREEMPTION, not(CONFIG_TASKS_RCU)))]
mod read_side {
    extern "C" {
        fn markers_preempt_disable();
        fn markers_preempt_enable();
    }
    pub(super) struct Guard;
    impl Guard {
        #[inline(always)]
        pub(super) fn new() -> Self {
            // SAFETY: paired with the enable in `drop`.
            unsafe { markers_preempt_disable() };
            Guard
        }
    }
    impl Drop for Guard {
        #[inline(always)]
        fn drop(&mut self) {
            // SAFETY: paired with the disable in `new`.
            unsafe { markers_preempt_enable() };
        }
    }
}

/// The enabled block: counts the hit and calls the site's dispatch (the
/// marker's only probe, through the invocation's trampoline, or a
/// dispatcher of `markers.ko`) with the arguments as probe parameters.
#[inline(always)]
pub fn fire<I: Invocation, A: Args>(args: A) {
    let state = I::state();
    count(state);
    #[cfg(all(CONFIG_PREEMPTION, not(CONFIG_TASKS_RCU)))]
    let _guard = read_side::Guard::new();
    // Acquire: pairs with the registry's release store of a fully built
    // dispatch. It is non-null: set before any site of the state could be
    // enabled (`SiteState` invariant).
    let d = state.disp.load(Ordering::Acquire);
    // SAFETY: `d` stays valid until a grace period after it is replaced,
    // which waits for this block, preempted or not.
    let data = unsafe { (*d).data };
    // SAFETY: the dispatch and data of this invocation, read just above.
    unsafe { args.call::<I>(data, d) };
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
/// ```no_run
/// use kernel::prelude::*;
/// use markers::mark;
///
/// fn rx(len: u32, dev: &CStr, head: &[u8]) {
///     mark!(net_rx, "len={} dev={} head={}", len, dev, head);
/// }
/// ```
#[macro_export]
macro_rules! mark {
    // One arm per arity: each names the trace event recorder of its arity
    // (a function for each number of parameters, see the crate's `event`).
    ($name:ident, $fmt:literal $(,)?) => {
        $crate::__mark!(rec0; $name, $fmt)
    };
    ($name:ident, $fmt:literal, $a0:expr $(,)?) => {
        $crate::__mark!(rec1; $name, $fmt, $a0)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr $(,)?) => {
        $crate::__mark!(rec2; $name, $fmt, $a0, $a1)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr $(,)?) => {
        $crate::__mark!(rec3; $name, $fmt, $a0, $a1, $a2)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr, $a3:expr $(,)?) => {
        $crate::__mark!(rec4; $name, $fmt, $a0, $a1, $a2, $a3)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr, $a3:expr, $a4:expr $(,)?) => {
        $crate::__mark!(rec5; $name, $fmt, $a0, $a1, $a2, $a3, $a4)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr, $a3:expr, $a4:expr,
     $a5:expr $(,)?) => {
        $crate::__mark!(rec6; $name, $fmt, $a0, $a1, $a2, $a3, $a4, $a5)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr, $a3:expr, $a4:expr,
     $a5:expr, $a6:expr $(,)?) => {
        $crate::__mark!(rec7; $name, $fmt, $a0, $a1, $a2, $a3, $a4, $a5, $a6)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr, $a3:expr, $a4:expr,
     $a5:expr, $a6:expr, $a7:expr $(,)?) => {
        $crate::__mark!(rec8; $name, $fmt, $a0, $a1, $a2, $a3, $a4, $a5, $a6, $a7)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr, $a3:expr, $a4:expr,
     $a5:expr, $a6:expr, $a7:expr, $a8:expr $(,)?) => {
        $crate::__mark!(rec9; $name, $fmt, $a0, $a1, $a2, $a3, $a4, $a5, $a6, $a7, $a8)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr, $a3:expr, $a4:expr,
     $a5:expr, $a6:expr, $a7:expr, $a8:expr, $a9:expr $(,)?) => {
        $crate::__mark!(rec10; $name, $fmt, $a0, $a1, $a2, $a3, $a4, $a5, $a6, $a7, $a8, $a9)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr, $a3:expr, $a4:expr,
     $a5:expr, $a6:expr, $a7:expr, $a8:expr, $a9:expr, $a10:expr $(,)?) => {
        $crate::__mark!(rec11; $name, $fmt, $a0, $a1, $a2, $a3, $a4, $a5, $a6, $a7, $a8, $a9,
                        $a10)
    };
    ($name:ident, $fmt:literal, $a0:expr, $a1:expr, $a2:expr, $a3:expr, $a4:expr,
     $a5:expr, $a6:expr, $a7:expr, $a8:expr, $a9:expr, $a10:expr, $a11:expr $(,)?) => {
        $crate::__mark!(rec12; $name, $fmt, $a0, $a1, $a2, $a3, $a4, $a5, $a6, $a7, $a8, $a9,
                        $a10, $a11)
    };
    ($name:ident, $fmt:literal $(, $arg:expr)* $(,)?) => {
        ::core::compile_error!("a marker takes at most 12 arguments")
    };
}

/// The expansion of [`mark!`] for the recorder `$rec` of its arity.
#[doc(hidden)]
#[macro_export]
macro_rules! __mark {
    ($rec:ident; $name:ident, $fmt:literal $(, $arg:expr)*) => {{
        const __MK_NAME: &str = ::core::concat!(::core::stringify!($name), "\0");
        const __MK_FMT: &str = ::core::concat!($fmt, "\0");
        const _: () = $crate::__private::check_name(__MK_NAME);
        const _: () = $crate::__private::check_format(__MK_FMT);
        static __MK_NAME_BYTES: [u8; __MK_NAME.len()] = $crate::__private::bytes(__MK_NAME);
        static __MK_FMT_BYTES: [u8; __MK_FMT.len()] = $crate::__private::bytes(__MK_FMT);
        static __MK_STATE: $crate::__private::SiteState = $crate::__private::SiteState::new();
        static __MK_KEY: $crate::__private::JumpKey = $crate::__private::JumpKey::new();

        /// The invocation.
        struct __Mk;

        // SAFETY: `state` is the invocation's state, named by its
        // descriptor; the trampoline is the 5-byte `jmp` the trait asks for.
        unsafe impl $crate::__private::Invocation for __Mk {
            #[inline(always)]
            fn state() -> &'static $crate::__private::SiteState {
                &__MK_STATE
            }

            #[unsafe(naked)]
            #[link_section = ".kprobes.text"]
            unsafe extern "C" fn __markers_tramp<S: $crate::__private::Signature>() {
                ::core::arch::naked_asm!(
                    ".byte 0xe9",
                    ".long markers_dispatch_{n} - . - 4",
                    n = const S::NARGS,
                )
            }
        }

        /// The site. Generic over the argument tuple so that the signature
        /// is computed from the arguments' types without evaluating them.
        #[inline(always)]
        fn __mk_site<A: $crate::Args, F: ::core::ops::FnOnce() -> A>(_: &F) -> bool {
            // SAFETY: the assembly is a 5-byte NOP with no effect on
            // registers, memory or flags; the rest only emits data into other
            // sections. The label operand is the enabled path.
            unsafe {
                ::core::arch::asm!(
                    // The descriptor, once per invocation and signature.
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
                    ".quad {tramp}",
                    ".quad {rec}",
                    ".popsection",
                    // The trampoline is jumped to, not called indirectly.
                    ".pushsection .discard.noendbr",
                    ".long {tramp}",
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
                    tramp = sym <__Mk as $crate::__private::Invocation>::__markers_tramp::<
                        <A as $crate::Args>::Sig,
                    >,
                    rec = sym $crate::__private::$rec::<<A as $crate::Args>::Sig>,
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

        let __mk_args = || ($($arg,)*);
        if __mk_site(&__mk_args) {
            $crate::__private::fire::<__Mk, _>(__mk_args());
        }
    }};
}
