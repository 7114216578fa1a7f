// SPDX-License-Identifier: GPL-2.0

//! The C interface of `markers.ko` (`include/linux/markers.h`), for Rust.
//!
//! Tracer modules normally use [`Probe`](crate::Probe); these are the raw
//! declarations it is built on, shared with `markers.ko` (which defines the
//! functions) and with the test modules. The layouts here are the C
//! structures' layouts.
//!
//! C header: [include/linux/markers.h](../../../include/linux/markers.h)

use core::ffi::{c_int, c_uint, c_void};

/// `struct markers_stats`: counters of the patcher.
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

/// `MARKERS_PROBE_ENABLE`.
pub const PROBE_ENABLE: u32 = 1;
/// `MARKERS_SITE_ENABLED`.
pub const SITE_ENABLED: c_int = 0x01;
/// `MARKERS_SITE_PATCHING`.
pub const SITE_PATCHING: c_int = 0x02;
/// `MARKERS_SITE_BROKEN`.
pub const SITE_BROKEN: c_int = 0x04;
/// `MARKERS_SITE_RETIRED`.
pub const SITE_RETIRED: c_int = 0x08;
/// `MARKERS_SITE_TORN`.
pub const SITE_TORN: c_int = 0x10;

extern "C" {
    /// See `include/linux/markers.h`.
    pub fn markers_update(names: *const *const u8, n: c_uint, enable: bool) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_enable(name: *const u8) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_disable(name: *const u8) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_hits(name: *const u8) -> i64;
    /// See `include/linux/markers.h`.
    pub fn markers_site_state(addr: *const c_void) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_get_stats(out: *mut Stats);
    /// See `include/linux/markers.h`.
    pub fn markers_test_poke(addr: *const c_void, offset: c_uint, byte: u8) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_test_fail_writes(steps: c_uint, count: c_uint) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_test_text_alias(site: *const c_void) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_probe_register_many(probes: *const RawProbe, n: c_uint) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_probe_unregister_many(probes: *const RawProbe, n: c_uint) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_probe_state(probe: *const RawProbe) -> c_int;
    /// See `include/linux/markers.h`.
    pub fn markers_probe_synchronize();
}
