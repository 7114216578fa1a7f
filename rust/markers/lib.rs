// SPDX-License-Identifier: GPL-2.0

//! Static markers for Rust kernel code: the client crate.
//!
//! A module that places markers uses this crate (`--extern markers`, see
//! `Documentation/markers.rst` for the build boilerplate) and writes
//!
//! ```no_run
//! use kernel::prelude::*;
//! use markers::mark;
//!
//! fn rx(len: u32, dev: &CStr) {
//!     mark!(net_rx, "len={} dev={}", len, dev);
//! }
//! ```
//!
//! While the marker is disabled the site is one 5-byte NOP: no load, no
//! compare, no call, and the argument expressions are not evaluated. When it
//! is enabled, `markers.ko` patches the NOP into a `jmp` to an out-of-line
//! block that evaluates the arguments and hands them to the marker's probes.
//!
//! This crate holds only macros, types, constants and `#[inline]` or generic
//! functions: every piece of code it has is instantiated in the client, so no
//! module has to export this crate's symbols. The pieces are:
//!
//! - [`mark!`] (`site.rs`): the site, its `__markers` entry and its descriptor.
//! - [`section`]: the layout of `__markers` entries and descriptors, shared
//!   with the registry in `markers.ko` that reads them.
//! - [`args`]: the argument types a marker accepts and their signature.
//! - [`probe`]: typed probes for tracer modules.
//! - `event.rs`: the recorders of the markers' trace events, instantiated
//!   per signature in the module (named by each site's descriptor).
//! - [`sys`]: the raw C interface of `markers.ko`.
//!
//! A tracer module attaches a typed [`Probe`] to the marker by name:
//!
//! ```no_run
//! use kernel::prelude::*;
//! use markers::probe::{Probe, ENABLE};
//!
//! fn on_rx(_: &(), (len, dev): (u32, &CStr)) {
//!     pr_info!("{} bytes on {}\n", len, dev);
//! }
//!
//! let rx = Probe::<(u32, &'static CStr), ()>::register(c"net_rx", on_rx, (), ENABLE)?;
//! # Ok::<(), Error>(())
//! ```
//!
//! C header: [include/linux/markers.h](../../include/linux/markers.h)

#![no_std]

pub mod args;
mod event;
pub mod probe;
pub mod section;
mod site;
pub mod sys;

pub use args::{Args, MarkerArg, Primitive, Span};
pub use probe::Probe;

/// Internals used by the expansion of [`mark!`]; not a stable interface.
#[doc(hidden)]
pub mod __private {
    pub use crate::args::Signature;
    pub use crate::event::{
        rec0, rec1, rec10, rec11, rec12, rec2, rec3, rec4, rec5, rec6, rec7, rec8, rec9,
    };
    pub use crate::section::{SiteState, DESC_LAYOUT, DESC_MAGIC};
    pub use crate::site::{bytes, check_format, check_name, fire, Invocation, JumpKey};
}

/// Prefix of the crate's own log lines (`pr_err!` in `Probe`'s drop).
#[doc(hidden)]
pub const __LOG_PREFIX: &[u8] = b"markers\0";
