// SPDX-License-Identifier: GPL-2.0

//! The markers core module, `markers.ko`.
//!
//! The pipeline, one file each, each importing only the ones after it: the
//! site and its section entry are emitted by the client crate
//! (`rust/markers`); [`section`] validates a loading module's `__markers`
//! section (untrusted input); [`registry`] keeps every client module, marker
//! and probe (probe changes in its child `attach`), with [`marker`],
//! [`probes`] (arrays and dispatchers) and [`tramps`] (trampolines);
//! [`patcher`] rewrites sites with the int3 protocol, [`table`] holds the
//! int3 handler and the table it reads, and [`text`] the bytes and states
//! both share; `markers_glue.c` is the C glue. [`control`] is the sysfs
//! interface on top.
//!
//! This file holds the module itself and the exported C ABI
//! (`include/linux/markers.h`), which `markers_glue.c` exports with
//! `EXPORT_SYMBOL_GPL`, together with the parts Rust cannot express on 6.12
//! (notifier registration, `vmap`, `sync_core`).
//!
//! C header: [include/linux/markers.h](../../include/linux/markers.h)

use core::ffi::{c_int, c_uint, c_ulong, c_void};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use kernel::bindings;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;
use markers::sys::{RawProbe, Stats, PROBE_ENABLE};

mod control;
mod hits;
mod marker;
mod nodes;
mod patcher;
mod probes;
mod registry;
mod section;
mod table;
mod text;
mod tramps;

use registry::{ProbeSpec, Registry};

module! {
    type: Markers,
    name: "markers",
    author: "The markers developers",
    description: "Static markers for Rust kernel code",
    license: "GPL",
}

/// Version of the binary interface between `markers.ko` and its clients.
///
/// It must equal `MARKERS_ABI_VERSION` in `include/linux/markers.h`; `init`
/// refuses to load a module whose two halves disagree.
const ABI_VERSION: u32 = 2;

extern "C" {
    /// The exported ABI version, defined by `markers_glue.c`.
    ///
    /// Every descriptor points at it, so a client cannot load without the
    /// core module, and the core module cannot be unloaded under a client.
    static markers_abi_version: u32;
    /// `markers.test_mode` module parameter (`markers_glue.c`).
    static markers_test_mode: bool;
    fn markers_glue_init() -> c_int;
    fn markers_glue_exit();
    fn markers_fault_arm(action: c_ulong);
    fn markers_fault_disarm();
}

/// Addresses of `markers_dispatch_<n>`, by arity: where a trampoline jumps
/// while its marker does not call its only probe directly.
pub(crate) fn dispatch_addrs() -> [usize; markers::section::ARGS_MAX + 1] {
    core::array::from_fn(|n| probes::fns(n).dispatch as usize)
}

/// Address of `markers_abi_version`, which valid descriptors point at.
pub(crate) fn abi_version_ptr() -> *const u32 {
    core::ptr::addr_of!(markers_abi_version)
}

/// The registry, reachable from notifier callbacks and exported functions.
///
/// Set in `init` before any callback is registered, cleared in `drop` after
/// every callback is unregistered; the pointee is pinned in `Markers`.
static REGISTRY: AtomicPtr<Mutex<Registry>> = AtomicPtr::new(core::ptr::null_mut());

/// Clients plus probes registered, updated after every registry operation
/// and read without the lock: a module event with nothing registered (a
/// module with no markers going while no probe exists) needs no lock.
static INTEREST: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` with the registry locked.
pub(crate) fn with_registry<R>(f: impl FnOnce(&mut Registry) -> R) -> Result<R> {
    let p = REGISTRY.load(Ordering::Acquire);
    if p.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: see `REGISTRY`: non-null means alive.
    let mut guard = unsafe { &*p }.lock();
    let r = f(&mut guard);
    INTEREST.store(guard.interest(), Ordering::Relaxed);
    Ok(r)
}

/// The core module's state, alive from `init` to `exit`.
struct Markers {
    _sysfs: control::Sysfs,
    registry: Pin<KBox<Mutex<Registry>>>,
}

impl kernel::Module for Markers {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `markers_abi_version` is an immutable `u32` defined in C in
        // this same module.
        let c_abi = unsafe { markers_abi_version };
        if c_abi != ABI_VERSION {
            pr_err!(
                "ABI mismatch: Rust side {}, C side {}\n",
                ABI_VERSION,
                c_abi
            );
            return Err(EINVAL);
        }
        let registry = KBox::pin_init(new_mutex!(Registry::new(), "markers_registry"), GFP_KERNEL)?;
        REGISTRY.store(
            &*registry as *const Mutex<Registry> as *mut _,
            Ordering::Release,
        );
        let sysfs = match control::Sysfs::new() {
            Ok(s) => s,
            Err(e) => {
                REGISTRY.store(core::ptr::null_mut(), Ordering::Release);
                return Err(e);
            }
        };
        // SAFETY: registers the module and die notifiers; the registry they
        // reach is published above.
        let r = unsafe { markers_glue_init() };
        if r < 0 {
            REGISTRY.store(core::ptr::null_mut(), Ordering::Release);
            return Err(Error::from_errno(r));
        }
        pr_info!("loaded (ABI {})\n", ABI_VERSION);
        Ok(Markers {
            _sysfs: sysfs,
            registry,
        })
    }
}

impl Drop for Markers {
    fn drop(&mut self) {
        // Clients depend on markers.ko, so none is left: every site is gone
        // and no pass is running. Unregister the notifiers (the glue waits a
        // grace period for running int3 handlers), then drop the table.
        // SAFETY: undoes `markers_glue_init`.
        unsafe { markers_glue_exit() };
        REGISTRY.store(core::ptr::null_mut(), Ordering::Release);
        let mut r = self.registry.lock();
        if r.nclients() != 0 {
            pr_warn!(
                "unloading with {} client modules registered\n",
                r.nclients()
            );
        }
        // Pending markers are all that is left: their directories go
        // before /sys/kernel/markers does.
        r.forget_markers();
        drop(r);
        drop(table::unpublish_at_exit());
        pr_info!("unloaded\n");
    }
}

/// Module notifier callback (via `markers_glue.c`): `action` is the
/// `MODULE_STATE_*` the module `m` enters. Returns 0 or a negative errno,
/// which fails a loading module.
#[no_mangle]
pub extern "C" fn markers_module_event(action: c_ulong, m: *mut bindings::module) -> c_int {
    let coming = action as u32 == bindings::module_state_MODULE_STATE_COMING;
    // A module without a `__markers` section never takes the registry mutex
    // on its way in (the section is found in its own symbol table), nor on
    // its way out while nothing is registered. (A module's own events are
    // serialized with its init and exit, so the count cannot miss what the
    // module itself registered.)
    let bounds = if coming {
        match section::bounds(m) {
            Some(b) => Some(b),
            None => return 0,
        }
    } else {
        if INTEREST.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        None
    };
    // SAFETY: test-mode fault injection around this event (a no-op unless
    // markers.ko was loaded with test_mode=1 and a fail_nth_* knob is set).
    unsafe { markers_fault_arm(action) };
    let r = with_registry(|r| match (action as u32, bounds) {
        (bindings::module_state_MODULE_STATE_COMING, Some(b)) => {
            let expect = section::Expect {
                abi: abi_version_ptr(),
                indirect: dispatch_addrs(),
            };
            r.module_coming(m, b, &expect)
        }
        (bindings::module_state_MODULE_STATE_LIVE, _) => {
            r.module_live(m);
            Ok(())
        }
        (bindings::module_state_MODULE_STATE_GOING, _) => {
            r.module_going(m);
            Ok(())
        }
        _ => Ok(()),
    });
    // SAFETY: undoes `markers_fault_arm`.
    unsafe { markers_fault_disarm() };
    match r {
        Ok(Ok(())) | Err(_) => 0,
        Ok(Err(e)) => e.to_errno(),
    }
}

fn errno(r: Result<Result<c_int>>) -> c_int {
    match r {
        Ok(Ok(v)) => v,
        Ok(Err(e)) | Err(e) => e.to_errno(),
    }
}

/// Enables or disables the named markers in one patch pass.
///
/// Returns 0, `-EINVAL` for a malformed name or `n == 0`, `-ENOENT` for an
/// unknown name (nothing changes), `-EIO` when some sites could not be
/// patched (they are logged; the others are patched).
///
/// # Safety
///
/// `names` must point at `n` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn markers_update(names: *const *const u8, n: c_uint, enable: bool) -> c_int {
    if names.is_null() || n == 0 {
        return EINVAL.to_errno();
    }
    let mut v = KVec::new();
    for i in 0..n as usize {
        // SAFETY: the caller passes `n` valid strings.
        match unsafe { registry::c_name(*names.add(i)) } {
            Ok(s) => {
                if v.push(s, GFP_KERNEL).is_err() {
                    return ENOMEM.to_errno();
                }
            }
            Err(e) => return e.to_errno(),
        }
    }
    errno(with_registry(|r| {
        r.set_enabled(&v, enable)
            .map(|refused| if refused > 0 { EIO.to_errno() } else { 0 })
    }))
}

/// Enables the named marker: `markers_update(&name, 1, true)`.
///
/// # Safety
///
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn markers_enable(name: *const u8) -> c_int {
    // SAFETY: forwarded.
    unsafe { markers_update(&name, 1, true) }
}

/// Disables the named marker: `markers_update(&name, 1, false)`.
///
/// # Safety
///
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn markers_disable(name: *const u8) -> c_int {
    // SAFETY: forwarded.
    unsafe { markers_update(&name, 1, false) }
}

/// Number of times an enabled site of the named marker ran, or a negative
/// errno (`-EINVAL`, `-ENOENT`).
///
/// # Safety
///
/// `name` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn markers_hits(name: *const u8) -> i64 {
    // SAFETY: the caller passes a valid string.
    let name = match unsafe { registry::c_name(name) } {
        Ok(n) => n,
        Err(e) => return e.to_errno() as i64,
    };
    match with_registry(|r| r.find(name).map(|m| r.hits(m))) {
        Ok(Some(h)) => h as i64,
        Ok(None) => ENOENT.to_errno() as i64,
        Err(e) => e.to_errno() as i64,
    }
}

/// The `MARKERS_SITE_*` state bits of the site at `addr`, or `-ENOENT`.
#[no_mangle]
pub extern "C" fn markers_site_state(addr: *const c_void) -> c_int {
    match with_registry(|r| {
        r.site_at(addr as usize)
            .map(|s| s.state.load(Ordering::Relaxed))
    }) {
        Ok(Some(st)) => st as c_int,
        Ok(None) => ENOENT.to_errno(),
        Err(e) => e.to_errno(),
    }
}

/// Copies the patcher's counters to `*out`.
///
/// # Safety
///
/// `out` must be valid for writes.
#[no_mangle]
pub unsafe extern "C" fn markers_get_stats(out: *mut Stats) {
    let s = &text::STATS;
    let v = Stats {
        int3: s.int3.load(Ordering::Relaxed),
        late: s.late.load(Ordering::Relaxed),
        passes: s.passes.load(Ordering::Relaxed),
        rewrites: s.rewrites.load(Ordering::Relaxed),
        refused: s.refused.load(Ordering::Relaxed),
        syncs: s.syncs.load(Ordering::Relaxed),
    };
    // SAFETY: the caller passes a writable `struct markers_stats`.
    unsafe { out.write(v) };
}

/// Test only: writes `byte` at `addr + offset` of a registered, disabled
/// site, to plant a corruption the patcher must refuse. Refused with
/// `-EPERM` unless `markers.ko` was loaded with `test_mode=1`.
#[no_mangle]
pub extern "C" fn markers_test_poke(addr: *const c_void, offset: c_uint, byte: u8) -> c_int {
    // SAFETY: a plain read of a module parameter.
    if !unsafe { markers_test_mode } {
        pr_err!("markers_test_poke: refused, markers.ko not loaded with test_mode=1\n");
        return EPERM.to_errno();
    }
    if offset >= 5 {
        return EINVAL.to_errno();
    }
    errno(with_registry(|r| match r.site_at(addr as usize) {
        Some(s) if !s.enabled() => {
            extern "C" {
                fn markers_text_write(addr: *mut c_void, src: *const c_void, len: usize) -> i32;
                fn markers_text_flush();
            }
            // SAFETY: `addr + offset` is inside a registered site, which is
            // module text; the write is a test's deliberate corruption.
            let r = unsafe {
                markers_text_write(
                    (s.addr + offset as usize) as *mut c_void,
                    (&byte as *const u8).cast(),
                    1,
                )
            };
            // SAFETY: plain call from process context.
            unsafe { markers_text_flush() };
            Ok(r)
        }
        Some(_) => Err(EBUSY),
        // Unknown or retired (its text may be freed).
        None => Err(ENOENT),
    }))
}

/// Test only: makes the text writes of the next patch passes fail with
/// `-ENOMEM` at the protocol steps in `steps` (bit n for step n: 1, 3, 5),
/// `count` times in all (each write is tried three times). `count == 0`
/// clears it. Returns the number of failures injected since the last call,
/// or `-EPERM` unless `markers.ko` was loaded with `test_mode=1`.
#[no_mangle]
pub extern "C" fn markers_test_fail_writes(steps: c_uint, count: c_uint) -> c_int {
    // SAFETY: a plain read of a module parameter.
    if !unsafe { markers_test_mode } {
        pr_err!("markers_test_fail_writes: refused, markers.ko not loaded with test_mode=1\n");
        return EPERM.to_errno();
    }
    let (skip, steps) = (steps >> 8, steps & 0xff);
    if steps & !0b10_1010 != 0 || skip > 0xff {
        return EINVAL.to_errno();
    }
    let f = &patcher::WRITE_FAULT;
    f.steps.store(0, Ordering::Relaxed);
    f.left.store(count, Ordering::Relaxed);
    f.skip.store(skip, Ordering::Relaxed);
    f.steps.store(steps, Ordering::Relaxed);
    f.hit.swap(0, Ordering::Relaxed) as c_int
}

/// Reads entry `i` of a batch of `struct markers_probe`.
///
/// # Safety
///
/// `p` must point at more than `i` valid `struct markers_probe` whose
/// strings are NUL-terminated.
unsafe fn spec<'a>(p: *const RawProbe, i: usize, need_sig: bool) -> Result<ProbeSpec<'a>> {
    // SAFETY: the caller passes more than `i` entries.
    let r = unsafe { &*p.add(i) };
    // SAFETY: the caller passes NUL-terminated strings.
    let name = unsafe { registry::c_name(r.name) }?;
    let sig: &[u8] = if r.sig.is_null() {
        if need_sig {
            return Err(EINVAL);
        }
        b""
    } else {
        // SAFETY: as above.
        unsafe { CStr::from_char_ptr(r.sig) }.as_bytes()
    };
    let func = r.func;
    if func.is_null() {
        return Err(EINVAL);
    }
    if r.flags & !PROBE_ENABLE != 0 {
        return Err(EINVAL);
    }
    Ok(ProbeSpec {
        name,
        sig,
        func,
        data: r.data,
        enable: r.flags & PROBE_ENABLE != 0,
    })
}

/// Reads a batch of `struct markers_probe` into specs.
///
/// # Safety
///
/// `p` must point at `n` valid `struct markers_probe` whose strings are
/// NUL-terminated.
unsafe fn specs<'a>(p: *const RawProbe, n: c_uint) -> Result<KVec<ProbeSpec<'a>>> {
    if p.is_null() || n == 0 {
        return Err(EINVAL);
    }
    let mut v = KVec::with_capacity(n as usize, GFP_KERNEL)?;
    for i in 0..n as usize {
        // SAFETY: forwarded from the caller.
        v.push(unsafe { spec(p, i, true) }?, GFP_KERNEL)?;
    }
    Ok(v)
}

/// Registers `n` probes: all or none, one patch pass. See
/// `include/linux/markers.h`.
///
/// # Safety
///
/// `probes` must point at `n` valid entries.
#[no_mangle]
pub unsafe extern "C" fn markers_probe_register_many(probes: *const RawProbe, n: c_uint) -> c_int {
    // SAFETY: forwarded from the caller.
    let v = match unsafe { specs(probes, n) } {
        Ok(v) => v,
        Err(e) => return e.to_errno(),
    };
    errno(with_registry(|r| r.probes_register(&v).map(|()| 0)))
}

/// Unregisters `n` probes: all or none, one patch pass, one grace period.
/// Never fails for lack of memory (nothing here allocates); `-EIO` when a
/// trampoline jumping to one of them cannot be rewritten (the probes stay
/// registered: the caller must not free their data).
///
/// # Safety
///
/// `probes` must point at `n` valid entries.
#[no_mangle]
pub unsafe extern "C" fn markers_probe_unregister_many(
    probes: *const RawProbe,
    n: c_uint,
) -> c_int {
    if probes.is_null() || n == 0 {
        return EINVAL.to_errno();
    }
    errno(with_registry(|r| {
        r.probes_unregister(n as usize, |i| {
            // SAFETY: `i < n`, and the caller passes `n` valid entries.
            unsafe { spec(probes, i, false) }
        })
        .map(|()| 0)
    }))
}

/// State of a registered probe: 0 pending, 1 attached, 2 signature
/// mismatch, or `-ENOENT`.
///
/// # Safety
///
/// `probe` must point at a valid entry.
#[no_mangle]
pub unsafe extern "C" fn markers_probe_state(probe: *const RawProbe) -> c_int {
    if probe.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: forwarded from the caller: one entry.
    let p = match unsafe { spec(probe, 0, false) } {
        Ok(p) => p,
        Err(e) => return e.to_errno(),
    };
    errno(with_registry(|r| r.probe_state(&p).map(|s| s as c_int)))
}

/// Waits until no probe handler that was unregistered before the call can
/// still be running.
#[no_mangle]
pub extern "C" fn markers_probe_synchronize() {
    probes::synchronize();
}
