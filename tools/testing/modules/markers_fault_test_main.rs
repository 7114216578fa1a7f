// SPDX-License-Identifier: GPL-2.0

//! In-guest fault injection tests of `markers.ko`: loading the module runs
//! them and prints one KTAP document; a failed check fails the load.
//!
//! - Allocation failures: the kernel's per-task fail-nth fails the n-th
//!   allocation of a registration, an unregistration or an enable, for
//!   n = 1, 2, ... until an attempt makes fewer than n allocations. Each
//!   attempt must either succeed or return `-ENOMEM` having changed nothing;
//!   unregistration must always succeed.
//! - Text write failures at each step of the int3 protocol
//!   (`markers_test_fail_writes()`, `markers.ko` loaded with `test_mode=1`),
//!   on sites and on trampolines.
//! - Throughout, each probe checks that it is called with its own data.
//!
//! Needs failslab and fail_page_alloc set not to ignore sleeping
//! allocations (`tools/testing/guest/tests/60-faults.sh` does it). With
//! `hot=1` the module instead runs the `ftest_hot` site on one CPU until it
//! is unloaded, for the module-lifecycle fault tests.

use core::ffi::{c_int, c_void, CStr};
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::bindings;
use kernel::prelude::*;
use markers::mark;

mod ktap;
use ktap::{site_bytes, sites_of, Ktap, NOP5};
use markers::sys::{
    markers_disable, markers_enable, markers_hits, markers_probe_register_many,
    markers_probe_state, markers_probe_unregister_many, markers_site_state,
    markers_test_fail_writes, markers_test_poke, RawProbe, PROBE_ENABLE, SITE_ENABLED, SITE_TORN,
};

module! {
    type: FaultTest,
    name: "markers_fault_test",
    author: "The markers developers",
    description: "In-guest fault injection tests of markers",
    license: "GPL",
}

extern "C" {
    static markers_fault_test_hot: bool;
    fn markers_fault_test_arm(n: u32) -> c_int;
    fn markers_fault_test_fired() -> bool;
}

// --- Marked code ------------------------------------------------------------

#[inline(never)]
fn one_site(v: u32) {
    mark!(ftest_one, "v={}", v);
}

#[inline(never)]
fn two_site(v: u32) {
    mark!(ftest_two, "v={}", v);
}

#[inline(never)]
fn hot_site(v: u64) {
    mark!(ftest_hot, "v={}", v);
}

/// Runs once, from init: its site is retired when the module goes live.
#[link_section = ".init.text"]
#[inline(never)]
fn init_site(v: u32) {
    mark!(ftest_init, "v={}", v);
}

/// The init-text site's address, poked at unload: a retired site must be
/// refused, never written (its text is freed).
static INIT_SITE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

// --- Probes -----------------------------------------------------------------

/// A probe's data: a magic only its own handler accepts, and its calls.
struct Cookie {
    #[expect(dead_code, reason = "read through a raw pointer by `tally`")]
    magic: u64,
    calls: AtomicU64,
}

static A: Cookie = Cookie {
    magic: 0xa,
    calls: AtomicU64::new(0),
};
static B: Cookie = Cookie {
    magic: 0xb,
    calls: AtomicU64::new(0),
};
/// Calls of a handler with data that is not its own.
static FOREIGN: AtomicU64 = AtomicU64::new(0);

/// Counts a call if `data` is the cookie with `magic`, else a foreign call
/// (without touching the foreign data).
///
/// # Safety
///
/// `data` must be readable for 8 bytes.
unsafe fn tally(data: *mut c_void, magic: u64) {
    // SAFETY: the caller guarantees 8 readable bytes (a cookie, or the
    // foreign object a buggy dispatch passed, which starts with a word).
    if unsafe { core::ptr::read_volatile(data as *const u64) } != magic {
        FOREIGN.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // SAFETY: the magic says it is our cookie.
    unsafe { &*(data as *const Cookie) }
        .calls
        .fetch_add(1, Ordering::Relaxed);
}

/// Probe A.
///
/// # Safety
///
/// Registered with `&A` as data.
unsafe extern "C" fn probe_a(data: *mut c_void, _v: u64) {
    // SAFETY: see `tally`.
    unsafe { tally(data, 0xa) }
}

/// Probe B.
///
/// # Safety
///
/// Registered with `&B` as data.
unsafe extern "C" fn probe_b(data: *mut c_void, _v: u64) {
    // SAFETY: see `tally`.
    unsafe { tally(data, 0xb) }
}

fn raw(name: &'static CStr, which: &'static Cookie) -> RawProbe {
    let func = if core::ptr::eq(which, &A) {
        probe_a as *const c_void
    } else {
        probe_b as *const c_void
    };
    RawProbe {
        name: name.as_ptr().cast(),
        sig: c"I".as_ptr().cast(),
        func,
        data: which as *const Cookie as *mut c_void,
        flags: PROBE_ENABLE,
    }
}

fn reg(p: &RawProbe) -> c_int {
    // SAFETY: one valid entry with static strings and data.
    unsafe { markers_probe_register_many(p, 1) }
}

fn unreg(p: &RawProbe) -> c_int {
    // SAFETY: as above.
    unsafe { markers_probe_unregister_many(p, 1) }
}

fn state(p: &RawProbe) -> c_int {
    // SAFETY: as above.
    unsafe { markers_probe_state(p) }
}

fn calls(c: &Cookie) -> u64 {
    c.calls.load(Ordering::Relaxed)
}

/// Runs `site` five times; returns the calls A and B gained.
fn hit5(site: fn(u32)) -> (u64, u64) {
    let (a, b) = (calls(&A), calls(&B));
    for i in 0..5 {
        site(i);
    }
    (calls(&A) - a, calls(&B) - b)
}

fn hits(name: &CStr) -> i64 {
    // SAFETY: a NUL-terminated name.
    unsafe { markers_hits(name.as_ptr().cast()) }
}

fn site_state(name: &[u8]) -> c_int {
    let addr = sites_of(name).first().map_or(0, |e| e.code_addr());
    // SAFETY: a lookup by address; nothing is dereferenced.
    unsafe { markers_site_state(addr as *const c_void) }
}

fn fail_writes(steps: u32, count: u32) -> c_int {
    // SAFETY: plain call.
    unsafe { markers_test_fail_writes(steps, count) }
}

/// Attempts of a fail-nth sweep before it is declared endless.
const SWEEP_MAX: u32 = 400;

/// Runs `prep`, then `op` with its n-th allocation failing, for n = 1, 2, ... until an
/// attempt makes fewer than n allocations. `check` judges each attempt's
/// result (after the failure is disarmed) and undoes a success. Returns the
/// number of attempts and whether every check held.
fn sweep(
    what: &str,
    mut prep: impl FnMut() -> bool,
    mut op: impl FnMut() -> c_int,
    mut check: impl FnMut(c_int) -> bool,
) -> (u32, bool) {
    let mut all = true;
    for n in 1..=SWEEP_MAX {
        if !prep() {
            pr_info!("# {}: set-up failed before attempt {}\n", what, n);
            return (n, false);
        }
        // SAFETY: plain calls on the current task.
        let armed = unsafe { markers_fault_test_arm(n) } == 0;
        let r = op();
        // SAFETY: as above.
        let fired = unsafe { markers_fault_test_fired() };
        if !check(r) {
            pr_info!(
                "# {}: attempt failing allocation {} returned {}: check failed\n",
                what,
                n,
                r
            );
            all = false;
        }
        if !armed || !fired {
            pr_info!("# {}: {} allocation points failed in turn\n", what, n - 1);
            return (n, all && armed);
        }
    }
    (SWEEP_MAX, false)
}

fn enomem(r: c_int) -> bool {
    r == ENOMEM.to_errno()
}

fn eio(r: c_int) -> bool {
    r == EIO.to_errno()
}

// --- Tests --------------------------------------------------------------------

const NTESTS: u32 = 14;

fn run(t: &mut Ktap) {
    let a1 = raw(c"ftest_one", &A);
    let b1 = raw(c"ftest_one", &B);
    probe_sweeps(t, &a1, &b1);
    write_failures(t);
    tramp_failures(t, &a1, &b1);
    t.check(
        "no probe was ever called with data not its own",
        FOREIGN.load(Ordering::Relaxed) == 0,
    );
}

/// Tests 1-6: registration, unregistration and enabling, each allocation
/// failing in turn.
fn probe_sweeps(t: &mut Ktap, a1: &RawProbe, b1: &RawProbe) {
    // 1. Registering the only probe of a marker.
    let (_, ok) = sweep(
        "register one probe",
        || true,
        || reg(a1),
        |r| {
            if r == 0 {
                let ok = hit5(one_site) == (5, 0);
                ok && unreg(a1) == 0 && hit5(one_site) == (0, 0)
            } else {
                enomem(r) && state(a1) == ENOENT.to_errno() && site_bytes(b"ftest_one") == NOP5
            }
        },
    );
    t.check(
        "registration under allocation failures: done, or -ENOMEM and nothing changed",
        ok,
    );

    // 2. Adding a second probe while the first is called directly.
    let ok0 = reg(a1) == 0 && hit5(one_site) == (5, 0);
    let (_, ok) = sweep(
        "register a second probe",
        || true,
        || reg(b1),
        |r| {
            if r == 0 {
                hit5(one_site) == (5, 5) && unreg(b1) == 0 && hit5(one_site) == (5, 0)
            } else {
                enomem(r) && state(b1) == ENOENT.to_errno() && hit5(one_site) == (5, 0)
            }
        },
    );
    t.check(
        "a second probe under allocation failures: the first keeps its data throughout",
        ok0 && ok,
    );

    // 3. Unregistering one of two probes never fails for lack of memory.
    let (_, ok) = sweep(
        "unregister one of two probes",
        || reg(b1) == 0,
        || unreg(b1),
        |r| r == 0 && hit5(one_site) == (5, 0),
    );
    t.check(
        "unregistering one of two probes under allocation failures always succeeds",
        ok,
    );

    // 4. Unregistering the only, directly called probe.
    let (_, ok) = sweep(
        "unregister the only probe",
        || true,
        || unreg(a1),
        |r| {
            let ok = r == 0 && hit5(one_site) == (0, 0) && state(a1) == ENOENT.to_errno();
            ok && reg(a1) == 0
        },
    );
    t.check(
        "unregistering a directly called probe under allocation failures always succeeds",
        ok,
    );
    let ok = unreg(a1) == 0 && hit5(one_site) == (0, 0);
    t.check("and the marker is silent after it", ok);

    // 6. Enabling under allocation failures.
    let (_, ok) = sweep(
        "enable",
        || true,
        // SAFETY: a NUL-terminated name.
        || unsafe { markers_enable(c"ftest_two".as_ptr().cast()) },
        |r| {
            let h = hits(c"ftest_two");
            two_site(1);
            let counted = hits(c"ftest_two") - h;
            // SAFETY: as above.
            let off = unsafe { markers_disable(c"ftest_two".as_ptr().cast()) } == 0;
            off && if r == 0 {
                counted == 1
            } else {
                enomem(r) && counted == 0
            }
        },
    );
    t.check(
        "enabling under allocation failures: done, or -ENOMEM and nothing changed",
        ok,
    );
}

/// Tests 7-9: a site's text write failing at each step of the protocol.
fn write_failures(t: &mut Ktap) {
    let enable = || {
        // SAFETY: a NUL-terminated name.
        unsafe { markers_enable(c"ftest_two".as_ptr().cast()) }
    };
    let disable = || {
        // SAFETY: a NUL-terminated name.
        unsafe { markers_disable(c"ftest_two".as_ptr().cast()) }
    };
    fail_writes(1 << 1, 1000);
    let r = enable();
    let h = hits(c"ftest_two");
    two_site(1);
    let injected = fail_writes(0, 0);
    let ok = eio(r) && injected > 0 && hits(c"ftest_two") == h && site_bytes(b"ftest_two") == NOP5;
    // The marker is on; the next pass retries the site.
    let h = hits(c"ftest_two");
    let again = enable();
    two_site(1);
    let ok = ok && again == 0 && hits(c"ftest_two") == h + 1 && disable() == 0;
    t.check(
        "step 1 write failing: -EIO, the site untouched; the next pass retries it",
        ok,
    );
    for step in [3u32, 5] {
        fail_writes(1 << step, 1000);
        let r = enable();
        fail_writes(0, 0);
        let st = site_state(b"ftest_two");
        let h = hits(c"ftest_two");
        two_site(1);
        let dh = hits(c"ftest_two") - h;
        let off = disable();
        let (st2, bytes) = (site_state(b"ftest_two"), site_bytes(b"ftest_two"));
        pr_info!(
            "# step {}: enable {}, state {:#x}, hits +{}, disable {}, then state {:#x} bytes {:02x?}\n",
            step,
            r,
            st,
            dh,
            off,
            st2,
            bytes
        );
        // The torn site traps, and the handler runs it as enabled; the next
        // pass (here, disabling) finishes the rewrite.
        let ok = eio(r) && st & SITE_TORN != 0 && st & SITE_ENABLED != 0 && dh == 1;
        let ok = ok && off == 0 && st2 == 0 && bytes == NOP5;
        t.check(
            if step == 3 {
                "step 3 write failing: -EIO, the site torn but running enabled; the next pass repairs it"
            } else {
                "step 5 write failing: -EIO, the site torn but running enabled; the next pass repairs it"
            },
            ok,
        );
    }
}

/// Tests 10-13: trampolines whose text writes fail.
fn tramp_failures(t: &mut Ktap, a1: &RawProbe, b1: &RawProbe) {
    // 10-11. A trampoline that cannot leave its probe.
    let ok0 = reg(a1) == 0 && hit5(one_site) == (5, 0);
    fail_writes(1 << 1, 1000);
    let r = unreg(a1);
    let still = state(a1) == 1 && hit5(one_site) == (5, 0);
    let r2 = reg(b1);
    let b_absent = state(b1) == ENOENT.to_errno() && hit5(one_site) == (5, 0);
    fail_writes(0, 0);
    t.check(
        "unregistering a probe whose trampoline cannot be rewritten: -EIO, still called with its own data",
        ok0 && eio(r) && still,
    );
    t.check(
        "registering a second probe then: -EIO, nothing changed",
        eio(r2) && b_absent,
    );

    // 12. A trampoline that cannot be pointed at its probe stays indirect.
    let r0 = unreg(a1);
    // The marker's sites are enabled first: only the trampoline passes
    // write. The first (leaving the marker's dispatcher) goes through, the
    // second (pointing at the probe) fails.
    let a_quiet = RawProbe {
        flags: 0,
        ..raw(c"ftest_one", &A)
    };
    // SAFETY: a NUL-terminated name.
    let on = unsafe { markers_enable(c"ftest_one".as_ptr().cast()) };
    fail_writes(1 << 8 | 1 << 1, 1000);
    let r = reg(&a_quiet);
    fail_writes(0, 0);
    let got = hit5(one_site);
    // SAFETY: as above.
    let off = unsafe { markers_disable(c"ftest_one".as_ptr().cast()) };
    let r0 = if on == 0 && off == 0 { r0 } else { -1 };
    pr_info!("# unregister {}, register {}, calls {:?}\n", r0, r, got);
    let ok = r0 == 0 && r == 0 && got == (5, 0);
    t.check(
        "a trampoline that cannot be pointed at its probe stays indirect and correct",
        ok,
    );

    // 13. Leaving torn at step 3: the trap runs the indirect path.
    let ok0 = unreg(a1) == 0 && reg(a1) == 0 && hit5(one_site) == (5, 0);
    fail_writes(1 << 3, 1000);
    let r = unreg(a1);
    fail_writes(0, 0);
    let ok = ok0 && r == 0 && hit5(one_site) == (0, 0);
    let ok = ok && reg(a1) == 0 && hit5(one_site) == (5, 0) && unreg(a1) == 0;
    t.check(
        "a trampoline torn while leaving its probe no longer calls it, and is repaired later",
        ok,
    );
}

// --- The hot mode -------------------------------------------------------------

/// Runs `ftest_hot` until stopped.
///
/// # Safety
///
/// Called by the kernel as a kthread function.
unsafe extern "C" fn hot_thread(_data: *mut c_void) -> c_int {
    let mut i = 0u64;
    // SAFETY: in the kernel thread.
    while !unsafe { bindings::kthread_should_stop() } {
        hot_site(i);
        // CONFIG_PREEMPT: the loop is preempted, no yield needed.
        i += 1;
        if i % 1000 == 0 {
            ktap::quiesce();
        }
    }
    0
}

struct FaultTest {
    hot: *mut bindings::task_struct,
}

// SAFETY: the task pointer is only used to stop the thread in `drop`.
unsafe impl Send for FaultTest {}
// SAFETY: as above.
unsafe impl Sync for FaultTest {}

impl kernel::Module for FaultTest {
    // In init text, like C's `__init`: it calls `init_site`.
    #[link_section = ".init.text"]
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: a plain read of a module parameter.
        if unsafe { markers_fault_test_hot } {
            // SAFETY: a valid thread function without data; a constant name.
            let p = unsafe {
                bindings::kthread_create_on_node(
                    Some(hot_thread),
                    core::ptr::null_mut(),
                    -1,
                    c"ftest_hot".as_ptr().cast(),
                )
            };
            if (p as usize) >= (-4095isize) as usize {
                return Err(ENOMEM);
            }
            // SAFETY: a new thread.
            unsafe { bindings::wake_up_process(p) };
            init_site(1);
            let addr = sites_of(b"ftest_init").first().map_or(0, |e| e.code_addr());
            INIT_SITE.store(addr, Ordering::Relaxed);
            return Ok(FaultTest { hot: p });
        }
        let mut t = Ktap::begin("markers_fault_test", NTESTS);
        run(&mut t);
        if t.failed > 0 || t.n != NTESTS {
            return Err(EINVAL);
        }
        Ok(FaultTest {
            hot: core::ptr::null_mut(),
        })
    }
}

impl Drop for FaultTest {
    fn drop(&mut self) {
        if !self.hot.is_null() {
            // SAFETY: our running thread.
            unsafe { bindings::kthread_stop(self.hot) };
            let addr = INIT_SITE.load(Ordering::Relaxed);
            // SAFETY: a request by address; markers.ko checks it before
            // writing anything.
            let r = unsafe { markers_test_poke(addr as *const c_void, 0, 0x90) };
            pr_info!("poking the retired init site: {}\n", r);
        }
    }
}
