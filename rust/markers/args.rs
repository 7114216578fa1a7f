// SPDX-License-Identifier: GPL-2.0

//! Marker arguments: which types a site may pass, and how they travel.
//!
//! Every argument is passed as a [`Primitive`]: an integer of any width,
//! `bool`, a raw pointer, `&CStr`, `&str` or `&[u8]`. Any other type takes
//! part by implementing [`MarkerArg`], which maps it to a primitive:
//!
//! ```no_run
//! use markers::{mark, MarkerArg};
//!
//! struct Pid(i32);
//!
//! impl MarkerArg for Pid {
//!     type Repr = i32;
//!     fn to_repr(&self) -> i32 {
//!         self.0
//!     }
//! }
//!
//! fn exit(pid: Pid, code: i32) {
//!     // Recorded as the signature "ii".
//!     mark!(task_exit, "pid={} code={}", pid, code);
//! }
//! ```
//!
//! The *signature* of a marker is the list of its arguments' primitive kinds,
//! computed at compile time and recorded in the site's descriptor. It is the
//! contract between sites and probes: a probe connects only to a marker of the
//! same signature.
//!
//! At run time each argument travels as one `u64`, the probe ABI shared with
//! C probes (`include/linux/markers.h`): integers zero- or sign-extended,
//! `bool` as 0 or 1, raw pointers and `&CStr` as addresses (the C string's
//! NUL-terminated bytes), `&str` and `&[u8]` as the address of a [`Span`]
//! (pointer and length) on the enabled block's stack, valid during the call.

use core::ffi::{c_void, CStr};
use core::mem::MaybeUninit;

use crate::section::{Dispatch, ARGS_MAX};
use crate::site::Invocation;

/// A `&str` or `&[u8]` argument as a probe receives it: the address of this
/// pair (`struct markers_span` in C), valid for the duration of the call.
///
/// # Examples
///
/// A raw probe (see [`RawProbe`](crate::sys::RawProbe)) of a marker whose one
/// argument is a `&str` reads the string through its span:
///
/// ```no_run
/// use core::ffi::c_void;
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use markers::Span;
///
/// static BYTES: AtomicUsize = AtomicUsize::new(0);
///
/// unsafe extern "C" fn on_name(_data: *mut c_void, name: u64) {
///     // SAFETY: a `&str` argument is the address of a `Span` of UTF-8
///     // bytes, all valid during the call.
///     let name = unsafe {
///         let s = &*(name as usize as *const Span);
///         core::str::from_utf8_unchecked(core::slice::from_raw_parts(s.ptr, s.len))
///     };
///     BYTES.fetch_add(name.len(), Ordering::Relaxed);
/// }
/// ```
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Span {
    /// The first byte.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

mod sealed {
    pub trait Sealed {}
}

/// A type that travels as itself: the closed set of argument kinds.
///
/// # Examples
///
/// Each kind has its signature byte, the letter of `include/linux/markers.h`:
///
/// ```no_run
/// use core::ffi::CStr;
/// use markers::Primitive;
///
/// assert_eq!(<u32 as Primitive>::KIND, b'I');
/// assert_eq!(<i64 as Primitive>::KIND, b'l');
/// assert_eq!(<&CStr as Primitive>::KIND, b'c');
/// assert_eq!(<&str as Primitive>::KIND, b't');
/// ```
pub trait Primitive: sealed::Sealed + Copy {
    /// The signature byte of this kind.
    const KIND: u8;
    /// The value as its probe parameter; `span` is the storage a `&str` or
    /// `&[u8]` points the parameter at (unused by other kinds).
    ///
    /// # Examples
    ///
    /// Signed integers are sign-extended; a string becomes the address of
    /// its span:
    ///
    /// ```no_run
    /// use core::mem::MaybeUninit;
    /// use markers::Primitive;
    ///
    /// let mut span = MaybeUninit::uninit();
    /// assert_eq!((-1i8).abi(&mut span), u64::MAX);
    /// assert_eq!(7u16.abi(&mut span), 7);
    /// assert_eq!("ok".abi(&mut span), span.as_ptr() as usize as u64);
    /// ```
    fn abi(self, span: &mut MaybeUninit<Span>) -> u64;
}

macro_rules! int_primitive {
    ($($t:ty => $kind:literal),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Primitive for $t {
            const KIND: u8 = $kind;
            #[inline(always)]
            fn abi(self, _: &mut MaybeUninit<Span>) -> u64 {
                // CAST: widening, sign-extending signed kinds, as the ABI says.
                self as u64
            }
        }
        impl MarkerArg for $t {
            type Repr = $t;
            #[inline(always)]
            fn to_repr(&self) -> $t {
                *self
            }
        }
    )*};
}

int_primitive! {
    i8 => b'h', u8 => b'H', i16 => b's', u16 => b'S', i32 => b'i', u32 => b'I',
    i64 => b'l', u64 => b'L', isize => b'z', usize => b'Z',
}

impl sealed::Sealed for bool {}
impl Primitive for bool {
    const KIND: u8 = b'b';
    #[inline(always)]
    fn abi(self, _: &mut MaybeUninit<Span>) -> u64 {
        self as u64
    }
}
impl MarkerArg for bool {
    type Repr = bool;
    #[inline(always)]
    fn to_repr(&self) -> bool {
        *self
    }
}

impl sealed::Sealed for *const c_void {}
impl Primitive for *const c_void {
    const KIND: u8 = b'p';
    #[inline(always)]
    fn abi(self, _: &mut MaybeUninit<Span>) -> u64 {
        self as usize as u64
    }
}
impl<T> MarkerArg for *const T {
    type Repr = *const c_void;
    #[inline(always)]
    fn to_repr(&self) -> *const c_void {
        self.cast()
    }
}
impl<T> MarkerArg for *mut T {
    type Repr = *const c_void;
    #[inline(always)]
    fn to_repr(&self) -> *const c_void {
        self.cast_const().cast()
    }
}

impl sealed::Sealed for &CStr {}
impl Primitive for &CStr {
    const KIND: u8 = b'c';
    #[inline(always)]
    fn abi(self, _: &mut MaybeUninit<Span>) -> u64 {
        self.as_ptr() as usize as u64
    }
}
impl<'a> MarkerArg for &'a CStr {
    type Repr = &'a CStr;
    #[inline(always)]
    fn to_repr(&self) -> &'a CStr {
        self
    }
}
impl<'a> MarkerArg for &'a kernel::str::CStr {
    type Repr = &'a CStr;
    #[inline(always)]
    fn to_repr(&self) -> &'a CStr {
        // SAFETY: `kernel::str::CStr` is NUL-terminated with no interior NUL,
        // which is what `core::ffi::CStr` requires.
        unsafe { CStr::from_ptr(self.as_char_ptr().cast()) }
    }
}

impl sealed::Sealed for &str {}
impl Primitive for &str {
    const KIND: u8 = b't';
    #[inline(always)]
    fn abi(self, span: &mut MaybeUninit<Span>) -> u64 {
        let s = span.write(Span {
            ptr: self.as_ptr(),
            len: self.len(),
        });
        s as *const Span as usize as u64
    }
}
impl<'a> MarkerArg for &'a str {
    type Repr = &'a str;
    #[inline(always)]
    fn to_repr(&self) -> &'a str {
        self
    }
}

impl sealed::Sealed for &[u8] {}
impl Primitive for &[u8] {
    const KIND: u8 = b'y';
    #[inline(always)]
    fn abi(self, span: &mut MaybeUninit<Span>) -> u64 {
        let s = span.write(Span {
            ptr: self.as_ptr(),
            len: self.len(),
        });
        s as *const Span as usize as u64
    }
}
impl<'a> MarkerArg for &'a [u8] {
    type Repr = &'a [u8];
    #[inline(always)]
    fn to_repr(&self) -> &'a [u8] {
        self
    }
}

/// A type that can be passed to [`mark!`](crate::mark).
///
/// Implemented for every [`Primitive`], for `*mut T` and `*const T` (as a
/// pointer), and for `&kernel::str::CStr` (as `&CStr`). Implement it for
/// your own types by mapping them to a primitive; the marker's signature
/// then records that primitive.
///
/// # Examples
///
/// A process ID that travels as its `i32`:
///
/// ```no_run
/// use markers::{mark, MarkerArg};
///
/// #[derive(Clone, Copy)]
/// struct Pid(i32);
///
/// impl MarkerArg for Pid {
///     type Repr = i32;
///     fn to_repr(&self) -> i32 {
///         self.0
///     }
/// }
///
/// fn fork(parent: Pid, child: Pid) {
///     mark!(task_fork, "parent={} child={}", parent, child);
/// }
/// ```
pub trait MarkerArg {
    /// The primitive this type travels as.
    type Repr: Primitive;
    /// Converts the value; called only when the marker is enabled.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use kernel::prelude::*;
    /// use markers::MarkerArg;
    ///
    /// assert_eq!(42u32.to_repr(), 42);
    /// let dev: &CStr = kernel::c_str!("eth0");
    /// assert_eq!(dev.to_repr().to_bytes(), b"eth0");
    /// ```
    fn to_repr(&self) -> Self::Repr;
}

/// References to arguments pass through: `mark!(x, "{}", &value)` works like
/// `mark!(x, "{}", value)`.
impl<T: MarkerArg> MarkerArg for &T {
    type Repr = T::Repr;
    #[inline(always)]
    fn to_repr(&self) -> T::Repr {
        (**self).to_repr()
    }
}

/// A signature as a type: the tuple of a site's argument primitives. It
/// names the invocation's trampoline for that signature
/// ([`Invocation::__markers_tramp`]).
///
/// # Examples
///
/// ```no_run
/// use core::ffi::CStr;
/// use markers::args::Signature;
///
/// assert_eq!(<(u32, &CStr) as Signature>::NARGS, 2);
/// ```
pub trait Signature {
    /// Number of arguments.
    const NARGS: usize;
    /// The argument kinds, NUL-padded.
    #[doc(hidden)]
    const KINDS: [u8; ARGS_MAX + 1];
    /// Where each argument's field lies in the marker's trace event entry,
    /// and (last) the size of the entry's fixed part ([`crate::event`]).
    #[doc(hidden)]
    const LAYOUT: [u16; ARGS_MAX + 1];
}

/// The argument list of a site: a tuple of [`MarkerArg`]s.
///
/// # Examples
///
/// The arguments of `mark!(net_rx, "len={} dev={}", len, dev)`, with
/// `len: u32` and `dev: &CStr`, and the signature they record:
///
/// ```no_run
/// use kernel::prelude::*;
/// use markers::Args;
///
/// type NetRx<'a> = (u32, &'a CStr);
/// assert_eq!(<NetRx<'_> as Args>::NARGS, 2);
/// assert_eq!(<NetRx<'_> as Args>::SIG0, u64::from_le_bytes(*b"Ic\0\0\0\0\0\0"));
/// assert_eq!(<NetRx<'_> as Args>::SIG1, 0);
/// ```
pub trait Args {
    /// Number of arguments.
    const NARGS: u16;
    /// Signature bytes 0..8, little-endian.
    const SIG0: u64;
    /// Signature bytes 8..16, little-endian.
    const SIG1: u64;
    /// The tuple of the arguments' primitives.
    type Sig: Signature;
    /// Converts the arguments to their probe parameters and calls the
    /// invocation's trampoline as `probe(data, a0, ..., an-1, d)`: the
    /// parameters of the marker's probes, with the dispatch `d` after them,
    /// which only `markers_dispatch_<n>` reads (a probe reached directly
    /// ignores it).
    ///
    /// # Safety
    ///
    /// Only the enabled block of invocation `I` calls it, with the dispatch
    /// `d` it loaded from `I`'s site state and `d`'s data: both stay alive
    /// until a grace period that waits for the block, preempted or not.
    // Hidden: only the expansion of `mark!` can name an invocation.
    #[doc(hidden)]
    unsafe fn call<I: Invocation>(self, data: *mut c_void, d: *const Dispatch);
}

/// A signature as a NUL-terminated string: `kinds`, NUL-padded (the C
/// API's form, and the form the trace event recorders read).
#[inline]
pub(crate) const fn sig_of(kinds: &[u8]) -> [u8; ARGS_MAX + 1] {
    let mut s = [0u8; ARGS_MAX + 1];
    let mut i = 0;
    while i < kinds.len() {
        s[i] = kinds[i];
        i += 1;
    }
    s
}

#[inline]
const fn sig_word(kinds: &[u8], word: usize) -> u64 {
    let mut v = 0u64;
    let mut i = 0;
    while i < 8 {
        let k = word * 8 + i;
        if k < kinds.len() {
            v |= (kinds[k] as u64) << (8 * i);
        }
        i += 1;
    }
    v
}

/// The call of a marker of at most four arguments: all in registers, the
/// dispatch in the next argument register.
macro_rules! call_regs {
    ($I:ident, $data:ident, $d:ident; [$($v:ident $r:tt),*]; $dr:tt) => {
        // SAFETY: the trampoline jumps to a function of the C ABI with these
        // parameters (see `Args::call`); every caller-saved register is
        // declared clobbered.
        unsafe {
            core::arch::asm!(
                "call {t}",
                t = sym <$I as Invocation>::__markers_tramp::<<Self as Args>::Sig>,
                in("rdi") $data,
                $(in($r) $v,)*
                in($dr) $d,
                clobber_abi("C"),
            )
        }
    };
}

/// The call of a marker of five arguments or more: the first five in
/// registers, the others and the dispatch on the stack, pushed from `stk`
/// (last first) by `$push`, which keeps the stack pointer 16-byte aligned
/// at the call; `$pop` releases them.
macro_rules! call_stack {
    ($I:ident, $data:ident, $d:ident; $v0:ident, $v1:ident, $v2:ident, $v3:ident, $v4:ident;
     [$($s:ident),*]; $push:literal; $pop:literal) => {
        let stk = [$($s,)* $d as usize as u64];
        // SAFETY: as in `call_regs`; the pushes are undone after the call.
        unsafe {
            core::arch::asm!(
                $push,
                "call {t}",
                $pop,
                t = sym <$I as Invocation>::__markers_tramp::<<Self as Args>::Sig>,
                in("r11") stk.as_ptr(),
                in("rdi") $data,
                in("rsi") $v0,
                in("rdx") $v1,
                in("rcx") $v2,
                in("r8") $v3,
                in("r9") $v4,
                clobber_abi("C"),
                options(att_syntax),
            )
        }
    };
}

macro_rules! args_tuple {
    ($n:literal; $($t:ident $a:ident $v:ident $sp:ident),*;
     |$I:ident, $data:ident, $d:ident| { $($body:tt)* }) => {
        impl<$($t: MarkerArg),*> Args for ($($t,)*) {
            const NARGS: u16 = $n;
            const SIG0: u64 = sig_word(&[$(<$t::Repr as Primitive>::KIND),*], 0);
            const SIG1: u64 = sig_word(&[$(<$t::Repr as Primitive>::KIND),*], 1);
            type Sig = ($($t::Repr,)*);
            #[inline(always)]
            unsafe fn call<$I: Invocation>(self, $data: *mut c_void, $d: *const Dispatch) {
                let ($($a,)*) = self;
                $(
                    // Lives until the call returns: a span parameter points at it.
                    let mut $sp = MaybeUninit::uninit();
                    let $v = $a.to_repr().abi(&mut $sp);
                )*
                $($body)*
            }
        }
        impl<$($t: Primitive),*> Signature for ($($t,)*) {
            const NARGS: usize = $n;
            const KINDS: [u8; ARGS_MAX + 1] = sig_of(&[$($t::KIND),*]);
            const LAYOUT: [u16; ARGS_MAX + 1] = crate::event::layout(&Self::KINDS, $n);
        }
    };
}

args_tuple!(0; ; |Inv, dat, disp| {
    call_regs!(Inv, dat, disp; []; "rsi");
});
args_tuple!(1; A a v0 s0; |Inv, dat, disp| {
    call_regs!(Inv, dat, disp; [v0 "rsi"]; "rdx");
});
args_tuple!(2; A a v0 s0, B b v1 s1; |Inv, dat, disp| {
    call_regs!(Inv, dat, disp; [v0 "rsi", v1 "rdx"]; "rcx");
});
args_tuple!(3; A a v0 s0, B b v1 s1, C c v2 s2; |Inv, dat, disp| {
    call_regs!(Inv, dat, disp; [v0 "rsi", v1 "rdx", v2 "rcx"]; "r8");
});
args_tuple!(4; A a v0 s0, B b v1 s1, C c v2 s2, D d v3 s3; |Inv, dat, disp| {
    call_regs!(Inv, dat, disp; [v0 "rsi", v1 "rdx", v2 "rcx", v3 "r8"]; "r9");
});
args_tuple!(5; A a v0 s0, B b v1 s1, C c v2 s2, D d v3 s3, E e v4 s4; |Inv, dat, disp| {
    call_stack!(Inv, dat, disp; v0, v1, v2, v3, v4; [];
        "subq $8, %rsp\npushq 0(%r11)";
        "addq $16, %rsp");
});
args_tuple!(6; A a v0 s0, B b v1 s1, C c v2 s2, D d v3 s3, E e v4 s4, F f v5 s5; |Inv, dat, disp| {
    call_stack!(Inv, dat, disp; v0, v1, v2, v3, v4; [v5];
        "pushq 8(%r11)\npushq 0(%r11)";
        "addq $16, %rsp");
});
args_tuple!(7; A a v0 s0, B b v1 s1, C c v2 s2, D d v3 s3, E e v4 s4, F f v5 s5, G g v6 s6; |Inv, dat, disp| {
    call_stack!(Inv, dat, disp; v0, v1, v2, v3, v4; [v5, v6];
        "subq $8, %rsp\npushq 16(%r11)\npushq 8(%r11)\npushq 0(%r11)";
        "addq $32, %rsp");
});
args_tuple!(8; A a v0 s0, B b v1 s1, C c v2 s2, D d v3 s3, E e v4 s4, F f v5 s5, G g v6 s6, H h v7 s7; |Inv, dat, disp| {
    call_stack!(Inv, dat, disp; v0, v1, v2, v3, v4; [v5, v6, v7];
        "pushq 24(%r11)\npushq 16(%r11)\npushq 8(%r11)\npushq 0(%r11)";
        "addq $32, %rsp");
});
args_tuple!(9; A a v0 s0, B b v1 s1, C c v2 s2, D d v3 s3, E e v4 s4, F f v5 s5, G g v6 s6, H h v7 s7, I i v8 s8; |Inv, dat, disp| {
    call_stack!(Inv, dat, disp; v0, v1, v2, v3, v4; [v5, v6, v7, v8];
        "subq $8, %rsp\npushq 32(%r11)\npushq 24(%r11)\npushq 16(%r11)\npushq 8(%r11)\npushq 0(%r11)";
        "addq $48, %rsp");
});
args_tuple!(10; A a v0 s0, B b v1 s1, C c v2 s2, D d v3 s3, E e v4 s4, F f v5 s5, G g v6 s6, H h v7 s7, I i v8 s8, J j v9 s9; |Inv, dat, disp| {
    call_stack!(Inv, dat, disp; v0, v1, v2, v3, v4; [v5, v6, v7, v8, v9];
        "pushq 40(%r11)\npushq 32(%r11)\npushq 24(%r11)\npushq 16(%r11)\npushq 8(%r11)\npushq 0(%r11)";
        "addq $48, %rsp");
});
args_tuple!(11; A a v0 s0, B b v1 s1, C c v2 s2, D d v3 s3, E e v4 s4, F f v5 s5, G g v6 s6, H h v7 s7, I i v8 s8, J j v9 s9, K k v10 s10; |Inv, dat, disp| {
    call_stack!(Inv, dat, disp; v0, v1, v2, v3, v4; [v5, v6, v7, v8, v9, v10];
        "subq $8, %rsp\npushq 48(%r11)\npushq 40(%r11)\npushq 32(%r11)\npushq 24(%r11)\npushq 16(%r11)\npushq 8(%r11)\npushq 0(%r11)";
        "addq $64, %rsp");
});
args_tuple!(12; A a v0 s0, B b v1 s1, C c v2 s2, D d v3 s3, E e v4 s4, F f v5 s5, G g v6 s6, H h v7 s7, I i v8 s8, J j v9 s9, K k v10 s10, L l v11 s11; |Inv, dat, disp| {
    call_stack!(Inv, dat, disp; v0, v1, v2, v3, v4; [v5, v6, v7, v8, v9, v10, v11];
        "pushq 56(%r11)\npushq 48(%r11)\npushq 40(%r11)\npushq 32(%r11)\npushq 24(%r11)\npushq 16(%r11)\npushq 8(%r11)\npushq 0(%r11)";
        "addq $64, %rsp");
});
