// SPDX-License-Identifier: GPL-2.0

//! Marker arguments: which types a site may pass, and how they travel.
//!
//! Every argument is passed as a [`Primitive`]: an integer of any width,
//! `bool`, a raw pointer, `&CStr`, `&str` or `&[u8]`. Any other type takes
//! part by implementing [`MarkerArg`], which maps it to a primitive:
//!
//! ```ignore
//! struct Pid(i32);
//!
//! impl markers::MarkerArg for Pid {
//!     type Repr = i32;
//!     fn to_repr(&self) -> i32 {
//!         self.0
//!     }
//! }
//! ```
//!
//! The *signature* of a marker is the list of its arguments' primitive kinds,
//! computed at compile time and recorded in the site's descriptor. It is the
//! contract between sites and probes: a probe connects only to a marker of the
//! same signature.
//!
//! At run time the arguments are encoded as an array of `u64` slots, the
//! uniform argument ABI shared with C probes: integers, `bool` and pointers
//! take one slot (zero- or sign-extended), `&CStr` one slot (the pointer to
//! its NUL-terminated bytes), `&str` and `&[u8]` two slots (pointer, length).

use core::ffi::{c_void, CStr};
use core::mem::MaybeUninit;

mod sealed {
    pub trait Sealed {}
}

/// A type that travels as itself: the closed set of argument kinds.
pub trait Primitive: sealed::Sealed + Copy {
    /// The signature byte of this kind.
    const KIND: u8;
    /// Number of `u64` slots it occupies.
    const SLOTS: usize;
    /// Writes the value into `out[..Self::SLOTS]`.
    fn store(self, out: &mut [MaybeUninit<u64>]);
}

macro_rules! int_primitive {
    ($($t:ty => $kind:literal),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Primitive for $t {
            const KIND: u8 = $kind;
            const SLOTS: usize = 1;
            #[inline(always)]
            fn store(self, out: &mut [MaybeUninit<u64>]) {
                // CAST: widening, sign-extending signed kinds, as the ABI says.
                out[0].write(self as u64);
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
    const SLOTS: usize = 1;
    #[inline(always)]
    fn store(self, out: &mut [MaybeUninit<u64>]) {
        out[0].write(self as u64);
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
    const SLOTS: usize = 1;
    #[inline(always)]
    fn store(self, out: &mut [MaybeUninit<u64>]) {
        out[0].write(self as usize as u64);
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
    const SLOTS: usize = 1;
    #[inline(always)]
    fn store(self, out: &mut [MaybeUninit<u64>]) {
        out[0].write(self.as_ptr() as usize as u64);
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
    const SLOTS: usize = 2;
    #[inline(always)]
    fn store(self, out: &mut [MaybeUninit<u64>]) {
        out[0].write(self.as_ptr() as usize as u64);
        out[1].write(self.len() as u64);
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
    const SLOTS: usize = 2;
    #[inline(always)]
    fn store(self, out: &mut [MaybeUninit<u64>]) {
        out[0].write(self.as_ptr() as usize as u64);
        out[1].write(self.len() as u64);
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
pub trait MarkerArg {
    /// The primitive this type travels as.
    type Repr: Primitive;
    /// Converts the value; called only when the marker is enabled.
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

/// The argument list of a site: a tuple of [`MarkerArg`]s.
pub trait Args {
    /// Number of arguments.
    const NARGS: u16;
    /// Signature bytes 0..8, little-endian.
    const SIG0: u64;
    /// Signature bytes 8..16, little-endian.
    const SIG1: u64;
    /// Number of `u64` slots.
    const SLOTS: usize;
    /// A slot buffer large enough for any arguments of this arity (two
    /// slots per argument): it lives on the stack of the enabled block only.
    type Buf: AsRef<[MaybeUninit<u64>]> + AsMut<[MaybeUninit<u64>]>;
    /// An uninitialized buffer: `encode` writes the slots that are read.
    fn new_buf() -> Self::Buf;
    /// Encodes the arguments into `out[..Self::SLOTS]`.
    fn encode(self, out: &mut [MaybeUninit<u64>]);
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

macro_rules! args_tuple {
    ($n:literal; $($t:ident $v:ident),*) => {
        impl<$($t: MarkerArg),*> Args for ($($t,)*) {
            const NARGS: u16 = $n;
            const SIG0: u64 = sig_word(&[$(<$t::Repr as Primitive>::KIND),*], 0);
            const SIG1: u64 = sig_word(&[$(<$t::Repr as Primitive>::KIND),*], 1);
            const SLOTS: usize = 0 $(+ <$t::Repr as Primitive>::SLOTS)*;
            type Buf = [MaybeUninit<u64>; 2 * $n];
            #[inline(always)]
            fn new_buf() -> Self::Buf {
                [const { MaybeUninit::uninit() }; 2 * $n]
            }
            #[inline(always)]
            #[allow(unused_variables, unused_mut, unused_assignments)]
            fn encode(self, out: &mut [MaybeUninit<u64>]) {
                let ($($v,)*) = self;
                let mut at = 0;
                $(
                    $v.to_repr().store(&mut out[at..]);
                    at += <$t::Repr as Primitive>::SLOTS;
                )*
            }
        }
    };
}

args_tuple!(0;);
args_tuple!(1; A a);
args_tuple!(2; A a, B b);
args_tuple!(3; A a, B b, C c);
args_tuple!(4; A a, B b, C c, D d);
args_tuple!(5; A a, B b, C c, D d, E e);
args_tuple!(6; A a, B b, C c, D d, E e, F f);
args_tuple!(7; A a, B b, C c, D d, E e, F f, G g);
args_tuple!(8; A a, B b, C c, D d, E e, F f, G g, H h);
args_tuple!(9; A a, B b, C c, D d, E e, F f, G g, H h, I i);
args_tuple!(10; A a, B b, C c, D d, E e, F f, G g, H h, I i, J j);
args_tuple!(11; A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k);
args_tuple!(12; A a, B b, C c, D d, E e, F f, G g, H h, I i, J j, K k, L l);
