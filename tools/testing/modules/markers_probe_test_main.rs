// SPDX-License-Identifier: GPL-2.0

//! In-guest tests of the probe API. Loading the module runs them and prints
//! one KTAP document; a failed check fails the load. Parameter `leak=1`
//! (`markers_probe_test_glue.c`) instead loads successfully with one probe
//! left registered on purpose, for the unload safety net.

use core::ffi::{c_int, c_void, CStr};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use kernel::bindings;
use kernel::prelude::*;
use markers::mark;

mod ktap;
use ktap::{site_bytes, stats, Ktap, NOP5};
use markers::probe::{Probe, ProbeState, ENABLE, NO_FLAGS};
use markers::sys::{
    markers_disable, markers_enable, markers_hits, markers_probe_register_many,
    markers_probe_unregister_many, RawProbe,
};

module! {
    type: ProbeTest,
    name: "markers_probe_test",
    author: "The markers developers",
    description: "In-guest tests of markers probes",
    license: "GPL",
}

extern "C" {
    /// A C probe of two `u64` parameters (`markers_probe_test_glue.c`).
    static markers_probe_test_wrong_type: *const c_void;
    static markers_probe_test_leak: bool;
    static markers_probe_test_mismatch: bool;
}

// --- Marked code ------------------------------------------------------------

#[inline(never)]
fn multi_site(v: u32, name: &CStr, s: &str, flag: bool, big: i64) {
    mark!(
        ptest_multi,
        "v={} name={} s={} flag={} big={}",
        v,
        name,
        s,
        flag,
        big
    );
}

/// Twelve arguments of every kind: five travel in registers, seven on the
/// stack.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn wide_site(
    a: u8,
    b: i16,
    c: u32,
    d: i64,
    e: bool,
    f: &CStr,
    g: &str,
    h: &[u8],
    i: usize,
    j: isize,
    k: *const u8,
    l: u64,
) {
    mark!(
        ptest_wide,
        "{} {} {} {} {} {} {} {} {} {} {} {}",
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        h,
        i,
        j,
        k,
        l
    );
}

/// Hits `ptest_wide` with the arguments `on_wide` expects.
fn wide_hit() {
    wide_site(
        0xfe,
        -2,
        0xfeed_f00d,
        -(1 << 40),
        true,
        c"wide",
        "str",
        b"\x01\x02\x03",
        usize::MAX - 1,
        -5,
        WIDE_PTR as *const u8,
        0x0123_4567_89ab_cdef,
    );
}

const WIDE_PTR: usize = 0xffff_8888_0000_1234;

#[inline(never)]
fn arm_site(v: u32) {
    mark!(ptest_arm, "v={}", v);
}

#[inline(never)]
fn batch_sites(v: u32) {
    mark!(ptest_batch_a, "v={}", v);
    mark!(ptest_batch_b, "v={}", v);
}

#[inline(never)]
fn inner_site(v: u32) {
    mark!(ptest_inner, "v={}", v);
}

#[inline(never)]
fn outer_site(v: u32) {
    mark!(ptest_outer, "v={}", v);
}

#[inline(never)]
fn self_site(v: u32) {
    mark!(ptest_self, "v={}", v);
}

#[inline(never)]
fn hot_site(v: u64) {
    mark!(ptest_hot, "v={}", v);
}

#[inline(never)]
fn leak_site(v: u32) {
    mark!(ptest_leak, "v={}", v);
}

// --- Probes -----------------------------------------------------------------

/// Data of the multi-probe test: what each probe saw.
struct Seen {
    id: u32,
    calls: AtomicU32,
    ok: AtomicU32,
}

fn on_multi(d: &Seen, (v, name, s, flag, big): (u32, &CStr, &str, bool, i64)) {
    d.calls.fetch_add(1, Ordering::Relaxed);
    if v == 7 && name.to_bytes() == b"seven" && s == "str7" && flag && big == -7_000_000_000 {
        d.ok.fetch_add(d.id, Ordering::Relaxed);
    }
}

type WideSig = (
    u8,
    i16,
    u32,
    i64,
    bool,
    &'static CStr,
    &'static str,
    &'static [u8],
    usize,
    isize,
    *const c_void,
    u64,
);

/// Checks every argument of `ptest_wide`; adds the probe's id to `ok`.
#[allow(clippy::type_complexity)]
fn on_wide(
    d: &Seen,
    (a, b, c, dd, e, f, g, h, i, j, k, l): (
        u8,
        i16,
        u32,
        i64,
        bool,
        &CStr,
        &str,
        &[u8],
        usize,
        isize,
        *const c_void,
        u64,
    ),
) {
    d.calls.fetch_add(1, Ordering::Relaxed);
    let ok = a == 0xfe
        && b == -2
        && c == 0xfeed_f00d
        && dd == -(1 << 40)
        && e
        && f.to_bytes() == b"wide"
        && g == "str"
        && h == [1, 2, 3]
        && i == usize::MAX - 1
        && j == -5
        && k as usize == WIDE_PTR
        && l == 0x0123_4567_89ab_cdef;
    if ok {
        d.ok.fetch_add(d.id, Ordering::Relaxed);
    }
}

fn count(d: &AtomicU32, _: (u32,)) {
    d.fetch_add(1, Ordering::Relaxed);
}

fn on_outer(d: &AtomicU32, (v,): (u32,)) {
    d.fetch_add(1, Ordering::Relaxed);
    inner_site(v + 1);
}

fn on_self(d: &AtomicU32, (v,): (u32,)) {
    d.fetch_add(1, Ordering::Relaxed);
    if v < 8 {
        self_site(v + 1);
    }
}

const ALIVE: u64 = 0xa11e;
const DEAD: u64 = 0xdead;
static VIOLATIONS: AtomicU64 = AtomicU64::new(0);
static HOT_CALLS: AtomicU64 = AtomicU64::new(0);

/// Data of the unregister stress test; checked by every call.
struct Guarded {
    magic: AtomicU64,
}

fn on_hot(d: &&'static Guarded, _: (u64,)) {
    HOT_CALLS.fetch_add(1, Ordering::Relaxed);
    if d.magic.load(Ordering::Relaxed) != ALIVE {
        VIOLATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// A C-ABI probe that counts calls in its `AtomicU32` data.
///
/// # Safety
///
/// Registered with an `AtomicU32` as data.
unsafe extern "C" fn c_count(data: *mut c_void, _a0: u64) {
    // SAFETY: registered with an `AtomicU32` as data.
    unsafe { &*(data as *const AtomicU32) }.fetch_add(1, Ordering::Relaxed);
}

/// Runs `ptest_hot` until stopped.
///
/// # Safety
///
/// Called by the kernel as a kthread function.
unsafe extern "C" fn hot_thread(_data: *mut c_void) -> c_int {
    let mut i = 0u64;
    // SAFETY: in the kernel thread.
    while !unsafe { bindings::kthread_should_stop() } {
        hot_site(i);
        i += 1;
        if i % 1000 == 0 {
            ktap::quiesce();
        }
    }
    0
}

// --- Tests --------------------------------------------------------------------

const NTESTS: u32 = 20;
static STOP: AtomicBool = AtomicBool::new(false);

fn hits(name: &CStr) -> i64 {
    // SAFETY: a NUL-terminated name.
    unsafe { markers_hits(name.as_ptr().cast()) }
}

fn run(t: &mut Ktap) -> Result {
    // 1-2: bad registrations fail at once.
    let r =
        Probe::<(u64,), AtomicU32>::register(c"ptest_multi", count64, AtomicU32::new(0), ENABLE);
    t.check(
        "a signature mismatch with a loaded marker is -EINVAL",
        matches!(r, Err(e) if e == EINVAL),
    );
    let r = Probe::<(u32,), AtomicU32>::register(c"bad-name", count, AtomicU32::new(0), ENABLE);
    t.check(
        "a malformed name is -EINVAL",
        matches!(r, Err(e) if e == EINVAL),
    );

    // 3: a probe on a name no module defines is pending.
    let pending =
        Probe::<(u32,), AtomicU32>::register(c"ptest_nowhere", count, AtomicU32::new(0), NO_FLAGS)?;
    t.check(
        "a probe on an unknown marker is pending",
        pending.state() == ProbeState::Pending,
    );

    arguments(t)?;
    c_api(t);
    batches(t);
    reentry(t)?;
    unregister_stress(t)?;

    // 20: the pending probe is still pending, and goes cleanly.
    t.check(
        "the pending probe is still pending",
        pending.state() == ProbeState::Pending,
    );
    drop(pending);
    Ok(())
}

/// Tests 4-7: several probes and wide markers, every argument and datum right.
fn arguments(t: &mut Ktap) -> Result {
    // 4-5: several probes, all called with the right arguments and data.
    let seen = |id| Seen {
        id,
        calls: AtomicU32::new(0),
        ok: AtomicU32::new(0),
    };
    type Multi = Probe<(u32, &'static CStr, &'static str, bool, i64), Seen>;
    let p1 = Multi::register(c"ptest_multi", on_multi, seen(1), ENABLE)?;
    let p2 = Multi::register(c"ptest_multi", on_multi, seen(2), NO_FLAGS)?;
    let p3 = Multi::register(c"ptest_multi", on_multi, seen(3), NO_FLAGS)?;
    multi_site(7, c"seven", "str7", true, -7_000_000_000);
    let all = [&p1, &p2, &p3];
    t.check(
        "three probes attached, each called once with the right arguments and its own data",
        all.iter().all(|p| {
            p.state() == ProbeState::Attached
                && p.data().calls.load(Ordering::Relaxed) == 1
                && p.data().ok.load(Ordering::Relaxed) == p.data().id
        }),
    );
    drop(p1);
    multi_site(7, c"seven", "str7", true, -7_000_000_000);
    let multi_ok = p2.data().calls.load(Ordering::Relaxed) == 1;

    t.check(
        "after the enabling probe goes, the marker is disarmed: no more calls",
        multi_ok && site_bytes(b"ptest_multi") == NOP5,
    );
    drop(p2);
    drop(p3);

    // 6-7: twelve arguments, seven on the stack: to the only probe
    // directly, then to two through the dispatcher; hits counted either
    // way.
    let w1 = Probe::<WideSig, Seen>::register(c"ptest_wide", on_wide, seen(1), ENABLE)?;
    let h0 = hits(c"ptest_wide");
    wide_hit();
    wide_hit();
    t.check(
        "the only probe of a 12-argument marker gets every argument right, hits counted",
        w1.data().ok.load(Ordering::Relaxed) == 2 && hits(c"ptest_wide") == h0 + 2,
    );
    let w2 = Probe::<WideSig, Seen>::register(c"ptest_wide", on_wide, seen(2), NO_FLAGS)?;
    wide_hit();
    t.check(
        "two probes of a 12-argument marker get every argument right, hits counted",
        w1.data().ok.load(Ordering::Relaxed) == 3
            && w2.data().ok.load(Ordering::Relaxed) == 2
            && hits(c"ptest_wide") == h0 + 3,
    );
    drop(w2);
    drop(w1);
    Ok(())
}

/// Tests 8-12: the C API: duplicates, the probe type, arming.
fn c_api(t: &mut Ktap) {
    // 8: the same (handler, data) twice is -EEXIST (C API, fixed data).
    static C_DATA: AtomicU32 = AtomicU32::new(0);
    let raw = RawProbe {
        name: c"ptest_arm".as_ptr().cast(),
        sig: c"I".as_ptr().cast(),
        func: c_count as *const c_void,
        data: &C_DATA as *const AtomicU32 as *mut c_void,
        flags: 0,
    };
    // SAFETY: valid entries with static strings and data.
    let (r1, r2) = unsafe {
        (
            markers_probe_register_many(&raw, 1),
            markers_probe_register_many(&raw, 1),
        )
    };
    t.check(
        "the same (handler, data) twice is -EEXIST",
        r1 == 0 && r2 == -(bindings::EEXIST as c_int),
    );

    // 9: a C probe of the wrong type: refused under kCFI (its call would fail
    // the dispatcher's type check), accepted without CFI.
    static WRONG_DATA: AtomicU32 = AtomicU32::new(0);
    let wrong = RawProbe {
        // SAFETY: a constant of the glue.
        func: unsafe { markers_probe_test_wrong_type },
        data: &WRONG_DATA as *const AtomicU32 as *mut c_void,
        ..raw
    };
    // SAFETY: a valid entry with static strings and data.
    let r = unsafe { markers_probe_register_many(&wrong, 1) };
    let ok = if cfg!(CONFIG_CFI_CLANG) {
        r == -(bindings::EINVAL as c_int)
    } else {
        // SAFETY: the entry just registered.
        r == 0 && unsafe { markers_probe_unregister_many(&wrong, 1) } == 0
    };
    t.check(
        "a C probe of the wrong type is refused under kCFI (accepted without)",
        ok,
    );

    // 10-12: arming. The probe of test 8 has no ENABLE flag.
    arm_site(1);
    t.check(
        "a probe without ENABLE does not arm its marker",
        C_DATA.load(Ordering::Relaxed) == 0 && site_bytes(b"ptest_arm") == NOP5,
    );
    // SAFETY: a NUL-terminated name.
    unsafe { markers_enable(c"ptest_arm".as_ptr().cast()) };
    arm_site(2);
    t.check(
        "it gets hits once the marker is enabled explicitly",
        C_DATA.load(Ordering::Relaxed) == 1 && site_bytes(b"ptest_arm")[0] == 0xe9,
    );
    // SAFETY: a NUL-terminated name; a registered probe.
    let r = unsafe {
        markers_disable(c"ptest_arm".as_ptr().cast());
        markers_probe_unregister_many(&raw, 1)
    };
    t.check(
        "disable and unregister",
        r == 0 && site_bytes(b"ptest_arm") == NOP5,
    );
}

/// Tests 13-14: a batch of probes on two markers, one pass each way.
fn batches(t: &mut Ktap) {
    // 13-14: a batch of probes on two markers: one pass each way.
    static B: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];
    let mk = |name: &'static CStr, i: usize| RawProbe {
        name: name.as_ptr().cast(),
        sig: c"I".as_ptr().cast(),
        func: c_count as *const c_void,
        data: &B[i] as *const AtomicU32 as *mut c_void,
        flags: 1,
    };
    let batch = [
        mk(c"ptest_batch_a", 0),
        mk(c"ptest_batch_a", 1),
        mk(c"ptest_batch_b", 2),
        mk(c"ptest_batch_b", 3),
    ];
    let s0 = stats();
    // SAFETY: valid entries.
    let r = unsafe { markers_probe_register_many(batch.as_ptr(), 4) };
    let s1 = stats();
    batch_sites(1);
    t.check(
        "registering 4 probes on 2 markers: one patch pass, all called",
        r == 0 && s1.passes == s0.passes + 1 && B.iter().all(|b| b.load(Ordering::Relaxed) == 1),
    );
    // SAFETY: the same valid entries.
    let r = unsafe { markers_probe_unregister_many(batch.as_ptr(), 4) };
    let s2 = stats();
    batch_sites(2);
    t.check(
        "unregistering them: one patch pass, none called after",
        r == 0 && s2.passes == s1.passes + 1 && B.iter().all(|b| b.load(Ordering::Relaxed) == 1),
    );
}

/// Tests 15-16: probes that hit markers.
fn reentry(t: &mut Ktap) -> Result {
    // 15-16: re-entry.
    let inner =
        Probe::<(u32,), AtomicU32>::register(c"ptest_inner", count, AtomicU32::new(0), ENABLE)?;
    let outer =
        Probe::<(u32,), AtomicU32>::register(c"ptest_outer", on_outer, AtomicU32::new(0), ENABLE)?;
    outer_site(1);
    t.check(
        "a probe that hits another marker: both probes run",
        outer.data().load(Ordering::Relaxed) == 1 && inner.data().load(Ordering::Relaxed) == 1,
    );
    drop(outer);
    drop(inner);
    let selfp =
        Probe::<(u32,), AtomicU32>::register(c"ptest_self", on_self, AtomicU32::new(0), ENABLE)?;
    self_site(1);
    let depth = selfp.data().load(Ordering::Relaxed);
    pr_info!(
        "# a probe re-entering its own marker ran {} times for one hit\n",
        depth
    );
    t.check(
        "a probe may re-enter its own marker: 8 nested hits, none dropped",
        depth == 8,
    );
    drop(selfp);
    Ok(())
}

/// Tests 17-19: unregistration while other CPUs hit the site.
fn unregister_stress(t: &mut Ktap) -> Result {
    // 17-19: unregister while 4 CPUs hit the site.
    let mut tasks = [core::ptr::null_mut::<bindings::task_struct>(); 3];
    for (k, task) in tasks.iter_mut().enumerate() {
        // SAFETY: a valid thread function without data; a constant name.
        let p = unsafe {
            bindings::kthread_create_on_node(
                Some(hot_thread),
                core::ptr::null_mut(),
                -1,
                c"ptest_hot".as_ptr().cast(),
            )
        };
        if (p as usize) >= (-4095isize) as usize {
            break;
        }
        // SAFETY: a new thread.
        unsafe {
            bindings::kthread_bind(p, (k + 1) as u32);
            bindings::wake_up_process(p);
        }
        *task = p;
    }
    // Each round's probe has its own data slot, poisoned right after its
    // unregistration returns: a handler running later would see the poison.
    static SLOTS: [Guarded; 100] = [const {
        Guarded {
            magic: AtomicU64::new(ALIVE),
        }
    }; 100];
    let mut rounds = 0;
    for (i, slot) in SLOTS.iter().enumerate() {
        let p = Probe::<(u64,), &'static Guarded>::register(c"ptest_hot", on_hot, slot, ENABLE)?;
        for _ in 0..100 {
            hot_site(i as u64);
        }
        drop(p);
        slot.magic.store(DEAD, Ordering::Relaxed);
        rounds += 1;
    }
    let calls_after = HOT_CALLS.load(Ordering::Relaxed);
    // SAFETY: a plain sleep: a handler still running would add calls now.
    unsafe { bindings::msleep(50) };
    let calls_later = HOT_CALLS.load(Ordering::Relaxed);
    STOP.store(true, Ordering::Relaxed);
    for task in tasks.iter().filter(|t| !t.is_null()) {
        // SAFETY: our running thread.
        unsafe { bindings::kthread_stop(*task) };
    }
    pr_info!(
        "# unregister stress: {} rounds, {} handler calls, {} on dead data\n",
        rounds,
        calls_after,
        VIOLATIONS.load(Ordering::Relaxed)
    );
    t.check(
        "unregister stress: 3 CPUs hit the site while probes come and go",
        tasks.iter().all(|t| !t.is_null()) && calls_after > 0,
    );
    t.check(
        "unregister stress: no handler ran on freed data",
        VIOLATIONS.load(Ordering::Relaxed) == 0,
    );
    t.check(
        "unregister stress: no handler runs after unregister",
        calls_later == calls_after && site_bytes(b"ptest_hot") == NOP5,
    );
    Ok(())
}

fn count64(d: &AtomicU32, _: (u64,)) {
    d.fetch_add(1, Ordering::Relaxed);
}

/// Leaked on purpose with `leak=1`.
static LEAK_DATA: AtomicU32 = AtomicU32::new(0);

struct ProbeTest {
    _mismatch: Option<Probe<(u32,), AtomicU32>>,
}

impl kernel::Module for ProbeTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: a plain read of a module parameter.
        if unsafe { markers_probe_test_mismatch } {
            // `sample_exit` is a `u64` marker of markers_sample.ko: if that
            // module is not loaded, this probe waits pending, and is logged
            // and left unattached when it loads.
            let p = Probe::<(u32,), AtomicU32>::register(
                c"sample_exit",
                count,
                AtomicU32::new(0),
                ENABLE,
            )?;
            pr_info!("mismatch mode: probe on sample_exit is {:?}\n", p.state());
            return Ok(ProbeTest { _mismatch: Some(p) });
        }
        // SAFETY: a plain read of a module parameter.
        if unsafe { markers_probe_test_leak } {
            let raw = RawProbe {
                name: c"ptest_leak".as_ptr().cast(),
                sig: c"I".as_ptr().cast(),
                func: c_count as *const c_void,
                data: &LEAK_DATA as *const AtomicU32 as *mut c_void,
                flags: 1,
            };
            // SAFETY: a valid entry with static strings and data.
            let r = unsafe { markers_probe_register_many(&raw, 1) };
            leak_site(1);
            pr_info!(
                "leak mode: probe registered ({}), {} calls; not unregistering\n",
                r,
                LEAK_DATA.load(Ordering::Relaxed)
            );
            return Ok(ProbeTest { _mismatch: None });
        }
        let mut t = Ktap::begin("markers_probe_test", NTESTS);
        if let Err(e) = run(&mut t) {
            pr_info!("# a registration failed unexpectedly: {}\n", e.to_errno());
            t.failed += 1;
        }
        if t.failed > 0 || t.n != NTESTS {
            pr_err!("{} tests failed, {} of {} ran\n", t.failed, t.n, NTESTS);
            return Err(EINVAL);
        }
        Ok(ProbeTest { _mismatch: None })
    }
}
