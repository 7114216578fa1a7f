// SPDX-License-Identifier: GPL-2.0

//! In-guest tests of `mark!`, the registry and the patcher.
//!
//! Loading the module runs the tests and prints one KTAP document; a failed
//! check fails the load with `-EINVAL`. Needs `markers.ko` loaded with
//! `test_mode=1` (for the planted corruption) and at least 4 online CPUs
//! (the stress test runs sites on CPUs 1-3 while CPU 0 toggles).
//!
//! Parameters (`markers_test_glue.c`): `toggles`, the number of patch
//! passes of the stress test (default 2000); `expect_no_late`, fail on late
//! int3 traps (for single-threaded TCG or hardware).

use core::ffi::{c_int, c_void, CStr as CCStr};
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kernel::bindings;
use kernel::prelude::*;
use markers::mark;
use markers::section::RawEntry;

mod ktap;
use ktap::{bytes_at, entries, jmp_to, sites_of, stats, tramp_of, Ktap, NOP5};
use markers::sys::{
    markers_disable, markers_enable, markers_hits, markers_site_state, markers_test_poke,
    markers_update, SITE_BROKEN, SITE_ENABLED,
};

module! {
    type: MarkersTest,
    name: "markers_test",
    author: "The markers developers",
    description: "In-guest tests of markers",
    license: "GPL",
}

extern "C" {
    static markers_test_toggles: u32;
    static markers_test_expect_no_late: bool;
    fn markers_test_kprobe_arm(addr: *const c_void) -> c_int;
    fn markers_test_kprobe_disarm();
    fn markers_test_kprobe_hits() -> c_int;
}

fn hits(name: &CCStr) -> i64 {
    // SAFETY: a NUL-terminated name.
    unsafe { markers_hits(name.as_ptr().cast()) }
}

fn enable(name: &CCStr) -> c_int {
    // SAFETY: a NUL-terminated name.
    unsafe { markers_enable(name.as_ptr().cast()) }
}

fn disable(name: &CCStr) -> c_int {
    // SAFETY: a NUL-terminated name.
    unsafe { markers_disable(name.as_ptr().cast()) }
}

fn site_state(e: &RawEntry) -> c_int {
    // SAFETY: any address may be asked about.
    unsafe { markers_site_state(e.code_addr() as *const c_void) }
}

// --- The marked code under test --------------------------------------------

static EVALS: AtomicU64 = AtomicU64::new(0);

/// An argument with a side effect.
#[inline(never)]
fn side_effect(v: u32) -> u32 {
    EVALS.fetch_add(1, Ordering::Relaxed);
    v
}

#[inline(never)]
fn basic_site(v: u32) {
    mark!(test_basic, "v={} e={}", black_box(v), side_effect(v));
}

#[inline(never)]
fn batch_sites(v: u64) {
    mark!(test_batch_a, "a={}", v);
    mark!(test_batch_b, "b={} s={}", v, "str");
}

#[inline(never)]
fn corrupt_sites(v: u32) {
    mark!(test_corrupt, "v={}", v);
    mark!(test_corrupt_ok, "v={}", v);
}

#[inline(never)]
fn kprobed_site(v: u32) {
    mark!(test_kprobed, "v={}", v);
}

#[inline(never)]
fn int3_site(v: u32) {
    mark!(test_foreign_int3, "v={}", v);
}

const TRACE_MAX: usize = 16;
static TRACE: [AtomicU64; TRACE_MAX] = [const { AtomicU64::new(0) }; TRACE_MAX];
static TRACE_LEN: AtomicU64 = AtomicU64::new(0);

/// Saves a stack trace; called from inside the enabled block.
#[inline(never)]
fn capture() -> u32 {
    let mut buf = [0usize; TRACE_MAX];
    // SAFETY: `buf` holds `TRACE_MAX` entries.
    let n = unsafe { bindings::stack_trace_save(buf.as_mut_ptr(), TRACE_MAX as u32, 0) };
    for (i, v) in buf.iter().enumerate() {
        TRACE[i].store(*v as u64, Ordering::Relaxed);
    }
    TRACE_LEN.store(n as u64, Ordering::Relaxed);
    n
}

#[no_mangle]
#[inline(never)]
extern "C" fn markers_test_stack_target(v: u32) -> u32 {
    mark!(test_stack, "depth={} v={}", capture(), v);
    black_box(v + 1)
}

#[no_mangle]
#[inline(never)]
extern "C" fn markers_test_stack_caller(v: u32) -> u32 {
    black_box(markers_test_stack_target(black_box(v))) + 1
}

/// Tries a kprobe at `addr`; returns what `register_kprobe()` returned,
/// after unregistering the kprobe if it was placed.
fn kprobe_try(addr: usize) -> c_int {
    // SAFETY: `addr` is in this module's text.
    let r = unsafe { markers_test_kprobe_arm(addr as *const c_void) };
    if r == 0 {
        // SAFETY: armed just above.
        unsafe { markers_test_kprobe_disarm() };
    }
    r
}

static STOP: AtomicBool = AtomicBool::new(false);
static LOOPS: AtomicU64 = AtomicU64::new(0);

#[inline(never)]
fn hot_site(i: u64) {
    mark!(test_hot, "i={} cpu={}", i, i & 3);
}

/// A thread that runs `test_hot` until stopped.
///
/// # Safety
///
/// Called by the kernel as a kthread function.
unsafe extern "C" fn hot_thread(_data: *mut c_void) -> c_int {
    let mut i = 0u64;
    // SAFETY: called in the kernel thread.
    while !unsafe { bindings::kthread_should_stop() } {
        if !STOP.load(Ordering::Relaxed) {
            for _ in 0..1000 {
                hot_site(i);
                i += 1;
            }
            ktap::quiesce();
        } else {
            // SAFETY: plain sleep.
            unsafe { bindings::msleep(1) };
        }
    }
    LOOPS.fetch_add(i, Ordering::Relaxed);
    0
}

const NTESTS: u32 = 24;

fn run(t: &mut Ktap) {
    // 1-2: the sites are registered and disabled.
    let basic = sites_of(b"test_basic");
    t.check(
        "test_basic has one registered site",
        basic.len() == 1 && site_state(basic[0]) == 0,
    );
    let all_nop = entries().iter().all(|e| bytes_at(e.code_addr()) == NOP5);
    pr_info!("# {} sites in this module\n", entries().len());
    t.check(
        "every disabled site holds the 5-byte NOP",
        all_nop && !entries().is_empty(),
    );

    // 3-5: enable, fire, disable.
    let b = basic[0];
    let evals0 = EVALS.load(Ordering::Relaxed);
    for i in 0..10 {
        basic_site(i);
    }
    t.check(
        "arguments are not evaluated while disabled",
        EVALS.load(Ordering::Relaxed) == evals0 && hits(c"test_basic") == 0,
    );
    let r = enable(c"test_basic");
    let have = bytes_at(b.code_addr());
    pr_info!(
        "# enabled test_basic: {:02x?}, expected {:02x?}\n",
        have,
        jmp_to(b)
    );
    t.check(
        "enabling writes jmp rel32 to the site's block",
        r == 0 && have == jmp_to(b) && site_state(b) == SITE_ENABLED,
    );
    for i in 0..3 {
        basic_site(i);
    }
    t.check(
        "an enabled site fires, arguments evaluated once per hit",
        hits(c"test_basic") == 3 && EVALS.load(Ordering::Relaxed) == evals0 + 3,
    );
    let r = disable(c"test_basic");
    t.check(
        "disabling restores the NOP (read back)",
        r == 0 && bytes_at(b.code_addr()) == NOP5 && site_state(b) == 0,
    );
    basic_site(7);
    t.check(
        "a disabled site no longer fires",
        hits(c"test_basic") == 3 && EVALS.load(Ordering::Relaxed) == evals0 + 3,
    );

    // 8-9: a batch across markers is one pass of three serializations.
    let s0 = stats();
    let names = [
        c"test_batch_a".as_ptr().cast::<u8>(),
        c"test_batch_b".as_ptr().cast::<u8>(),
    ];
    // SAFETY: two NUL-terminated names.
    let r = unsafe { markers_update(names.as_ptr(), 2, true) };
    let s1 = stats();
    batch_sites(1);
    t.check(
        "two markers enabled in one pass, three syncs",
        r == 0
            && s1.passes == s0.passes + 1
            && s1.syncs == s0.syncs + 3
            && s1.rewrites == s0.rewrites + 2
            && hits(c"test_batch_a") == 1
            && hits(c"test_batch_b") == 1,
    );
    // SAFETY: as above.
    let r = unsafe { markers_update(names.as_ptr(), 2, false) };
    t.check(
        "and disabled in one pass",
        r == 0
            && stats().passes == s1.passes + 1
            && sites_of(b"test_batch_a")
                .iter()
                .all(|e| bytes_at(e.code_addr()) == NOP5),
    );

    // 10-11: bad names.
    t.check(
        "an unknown marker is -ENOENT",
        enable(c"test_no_such_marker") == -(bindings::ENOENT as c_int),
    );
    t.check(
        "a malformed name is -EINVAL",
        enable(c"bad-name!") == -(bindings::EINVAL as c_int),
    );

    // 12-13: a planted wrong byte: the site is refused, the rest of the
    // batch applies (no rollback).
    let bad = sites_of(b"test_corrupt");
    let good = sites_of(b"test_corrupt_ok");
    // SAFETY: the site is ours and disabled; test_mode allows the write.
    let p = unsafe { markers_test_poke(bad[0].code_addr() as *const c_void, 3, 0x55) };
    let s0 = stats();
    let names = [
        c"test_corrupt".as_ptr().cast::<u8>(),
        c"test_corrupt_ok".as_ptr().cast::<u8>(),
    ];
    // SAFETY: two NUL-terminated names.
    let r = unsafe { markers_update(names.as_ptr(), 2, true) };
    let s1 = stats();
    t.check(
        "a corrupted site is refused and marked broken, its bytes untouched",
        p == 0
            && r == -(bindings::EIO as c_int)
            && site_state(bad[0]) & SITE_BROKEN != 0
            && bytes_at(bad[0].code_addr()) == [0x0f, 0x1f, 0x44, 0x55, 0x00]
            && s1.refused == s0.refused + 1,
    );
    corrupt_sites(1);
    t.check(
        "the rest of its batch still applies",
        site_state(good[0]) == SITE_ENABLED
            && bytes_at(good[0].code_addr()) == jmp_to(good[0])
            && hits(c"test_corrupt_ok") == 1,
    );
    disable(c"test_corrupt_ok");

    // 14: a foreign int3 at byte 0 (what a kprobe leaves) is refused.
    let i3 = sites_of(b"test_foreign_int3");
    // SAFETY: as above. The site is never executed afterwards.
    let p = unsafe { markers_test_poke(i3[0].code_addr() as *const c_void, 0, 0xcc) };
    let r = enable(c"test_foreign_int3");
    // Byte 0 goes back to the NOP's: registering a kprobe anywhere in a
    // module decodes the module's jump-label sites (`jump_label_text_reserved`),
    // and `arch_jump_entry_size()` BUGs on an int3 there.
    // SAFETY: as above; the site is broken, not enabled.
    let back = unsafe { markers_test_poke(i3[0].code_addr() as *const c_void, 0, 0x0f) };
    t.check(
        "a site with a foreign int3 is refused",
        p == 0
            && r == -(bindings::EIO as c_int)
            && site_state(i3[0]) & SITE_BROKEN != 0
            && back == 0
            && bytes_at(i3[0].code_addr()) == NOP5,
    );
    // Never called (the site is broken), only kept in the module.
    black_box(int3_site as fn(u32));

    // 15-17: kprobes are kept off sites and trampolines, which the patcher
    // rewrites without `text_mutex` (an armed kprobe's int3 would be
    // overwritten, and its disarm would write a stale byte over the jmp);
    // elsewhere in a marked function a kprobe and the marker coexist.
    let kp = sites_of(b"test_kprobed");
    let site = kp[0].code_addr();
    let tramp = tramp_of(kp[0]);
    let on_site = kprobe_try(site);
    let on_tramp = kprobe_try(tramp);
    pr_info!(
        "# register_kprobe: on the site {}, on its trampoline {}\n",
        on_site,
        on_tramp
    );
    t.check(
        "a kprobe on a marker site is refused",
        on_site == -(bindings::EINVAL as c_int) && bytes_at(site) == NOP5,
    );
    t.check(
        "a kprobe on a marker's trampoline is refused",
        on_tramp == -(bindings::EINVAL as c_int),
    );
    // The instruction after the site (the function's entry may be the site
    // itself, after its ENDBR): hit while the marker is off, and the marker
    // enables under it.
    // SAFETY: an instruction boundary in this module's text.
    let armed = unsafe { markers_test_kprobe_arm((site + 5) as *const c_void) };
    kprobed_site(1);
    // SAFETY: plain read.
    let kh = unsafe { markers_test_kprobe_hits() };
    let r = enable(c"test_kprobed");
    kprobed_site(2);
    if armed == 0 {
        // SAFETY: armed above.
        unsafe { markers_test_kprobe_disarm() };
    }
    disable(c"test_kprobed");
    pr_info!(
        "# kprobe after the site: register {}, hits {}; enable {}, marker hits {}\n",
        armed,
        kh,
        r,
        hits(c"test_kprobed")
    );
    t.check(
        "a kprobe right after a site is placed, and the marker enables under it",
        armed == 0 && r == 0 && kh >= 1 && hits(c"test_kprobed") == 1,
    );

    // 18: unwinding from inside the enabled block.
    enable(c"test_stack");
    markers_test_stack_caller(5);
    disable(c"test_stack");
    let n = TRACE_LEN.load(Ordering::Relaxed) as usize;
    let (mut saw_target, mut saw_caller) = (false, false);
    let mut sym = [0u8; 512];
    for slot in TRACE.iter().take(n.min(TRACE_MAX)) {
        // SAFETY: `sym` is larger than KSYM_SYMBOL_LEN for these names.
        unsafe { bindings::sprint_symbol(sym.as_mut_ptr(), slot.load(Ordering::Relaxed) as usize) };
        let len = sym.iter().position(|&c| c == 0).unwrap_or(0);
        let s = &sym[..len];
        pr_info!("#   {}\n", kernel::str::BStr::from_bytes(s));
        saw_target |= s.starts_with(b"markers_test_stack_target+");
        saw_caller |= s.starts_with(b"markers_test_stack_caller+");
    }
    t.check(
        "a stack trace from the enabled block names the marked function and its caller",
        hits(c"test_stack") == 1 && saw_target && saw_caller,
    );

    // 19-24: 3 CPUs run a site while this CPU toggles it.
    // SAFETY: a plain read of a module parameter.
    let toggles = unsafe { markers_test_toggles };
    // SAFETY: a plain read of the online CPU count.
    let cpus = unsafe { bindings::__num_online_cpus.counter };
    t.check("at least 4 CPUs online", cpus >= 4);
    let mut tasks = [core::ptr::null_mut::<bindings::task_struct>(); 3];
    let mut started = true;
    for (k, task) in tasks.iter_mut().enumerate() {
        // SAFETY: a valid thread function without data; a constant name.
        let p = unsafe {
            bindings::kthread_create_on_node(
                Some(hot_thread),
                core::ptr::null_mut(),
                -1,
                c"markers_hot".as_ptr().cast(),
            )
        };
        if (p as usize) >= (-4095isize) as usize {
            started = false;
            break;
        }
        // SAFETY: `p` is a new thread, not yet woken.
        unsafe {
            bindings::kthread_bind(p, (k + 1) as u32);
            bindings::wake_up_process(p);
        }
        *task = p;
    }
    let s0 = stats();
    let h0 = hits(c"test_hot");
    let mut errors = 0;
    if started {
        for i in 0..toggles {
            let r = if i % 2 == 0 {
                enable(c"test_hot")
            } else {
                disable(c"test_hot")
            };
            if r != 0 {
                errors += 1;
            }
        }
        disable(c"test_hot");
    }
    STOP.store(true, Ordering::Relaxed);
    for task in tasks.iter().filter(|t| !t.is_null()) {
        // SAFETY: our thread, still running.
        unsafe { bindings::kthread_stop(*task) };
    }
    let s1 = stats();
    let hot = sites_of(b"test_hot");
    pr_info!(
        "# stress: {} passes, {} site executions, {} hits, {} int3 traps, {} late traps\n",
        s1.passes - s0.passes,
        LOOPS.load(Ordering::Relaxed),
        hits(c"test_hot") - h0,
        s1.int3 - s0.int3,
        s1.late - s0.late
    );
    t.check(
        "stress: every toggle applied",
        started && errors == 0 && s1.passes - s0.passes >= toggles as u64,
    );
    t.check("stress: the enabled site fired", hits(c"test_hot") > h0);
    t.check("stress: the int3 handler was taken", s1.int3 > s0.int3);
    t.check(
        "stress: the site ends disabled, NOP read back",
        hot.len() == 1 && bytes_at(hot[0].code_addr()) == NOP5 && site_state(hot[0]) == 0,
    );
    // Late traps come from multi-threaded TCG (see patcher.rs); without it
    // there must be none.
    // SAFETY: a plain read of a module parameter.
    if unsafe { markers_test_expect_no_late } {
        t.check("stress: no late traps", s1.late == s0.late);
    } else {
        t.skip(
            "stress: no late traps",
            "expected only with expect_no_late=1 (single-threaded TCG or hardware)",
        );
    }
}

struct MarkersTest;

impl kernel::Module for MarkersTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut t = Ktap::begin("markers_test", NTESTS);
        run(&mut t);
        if t.n != NTESTS {
            pr_info!("# ran {} tests, planned {}\n", t.n, NTESTS);
        }
        if t.failed > 0 {
            pr_err!("{} tests failed\n", t.failed);
            return Err(EINVAL);
        }
        Ok(MarkersTest)
    }
}
