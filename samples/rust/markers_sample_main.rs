// SPDX-License-Identifier: GPL-2.0

//! Sample module with marker sites.
//!
//! A kernel thread ticks ten times a second; each tick passes a few sites:
//!
//! - `sample_tick` (`u64`, `&CStr`, a custom type) once per tick;
//! - `sample_loop` (`u32`, `u32`) in a hot loop of 64 iterations per tick;
//! - `sample_state` (`&str`, `bool`, pointer) at two sites, one per branch;
//! - `sample_generic` (`u32`) in a generic function;
//! - `sample_init` (`i32`) once, in init text.
//!
//! Enable them with `markctl enable sample_tick` (or `echo 1 >
//! /sys/kernel/markers/sample_tick/enable`) and watch their hits with
//! `markctl stats`.

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::bindings;
use kernel::prelude::*;
use markers::{mark, MarkerArg};

module! {
    type: MarkersSample,
    name: "markers_sample",
    author: "The markers developers",
    description: "Sample module with marker sites",
    license: "GPL",
}

/// A custom argument type: travels as its `u64`.
#[derive(Clone, Copy)]
struct Ticks(u64);

impl MarkerArg for Ticks {
    type Repr = u64;
    fn to_repr(&self) -> u64 {
        self.0
    }
}

static TICKS: AtomicU64 = AtomicU64::new(0);

/// Sum of squares, with a site in the loop: disabled, the loop body is the
/// NOP plus the arithmetic.
#[inline(never)]
fn sum_squares(n: u32) -> u32 {
    let mut sum = 0u32;
    for i in 0..n {
        mark!(sample_loop, "i={} sum={}", i, sum);
        sum = sum.wrapping_add(i.wrapping_mul(i));
    }
    sum
}

/// A site in a generic function, instantiated twice with one signature.
#[inline(never)]
fn report<T: MarkerArg<Repr = u32>>(v: T) {
    mark!(sample_generic, "v={}", v);
}

#[inline(never)]
fn tick(n: u64) {
    mark!(
        sample_tick,
        "tick {} by {} ticks={}",
        n,
        c"ticker",
        Ticks(n)
    );
    let sum = sum_squares(64);
    if n % 2 == 0 {
        mark!(
            sample_state,
            "{} ok={} at {}",
            "even",
            true,
            &TICKS as *const AtomicU64
        );
    } else {
        mark!(
            sample_state,
            "{} ok={} at {}",
            "odd",
            sum != 0,
            &TICKS as *const AtomicU64
        );
    }
    report(sum);
    let by_ref: &u32 = &sum;
    report(by_ref);
    TICKS.store(n + 1, Ordering::Relaxed);
}

/// The ticking thread.
///
/// # Safety
///
/// Called by the kernel as a kthread function.
unsafe extern "C" fn ticker(_data: *mut c_void) -> c_int {
    let mut n = 0u64;
    // SAFETY: called from the kernel thread created in `init`.
    while !unsafe { bindings::kthread_should_stop() } {
        tick(n);
        n += 1;
        // SAFETY: plain sleep in process context.
        unsafe { bindings::msleep_interruptible(100) };
    }
    0
}

/// Init-only work: lives in `.init.text`, freed after init. Its site is
/// retired when the module goes live.
#[link_section = ".init.text"]
#[inline(never)]
fn init_work() -> i32 {
    // SAFETY: a read of the online CPU count.
    let cpus = unsafe { bindings::__num_online_cpus.counter };
    mark!(sample_init, "init on {} CPUs", cpus);
    cpus
}

struct MarkersSample {
    task: *mut bindings::task_struct,
}

// SAFETY: the task pointer is only used to stop the thread.
unsafe impl Send for MarkersSample {}
// SAFETY: no method acts on the task through `&self`.
unsafe impl Sync for MarkersSample {}

impl kernel::Module for MarkersSample {
    // In init text, like C's `__init`: it calls `init_work`.
    #[link_section = ".init.text"]
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let cpus = init_work();
        // SAFETY: `ticker` is a valid thread function that takes no data;
        // the name is a NUL-terminated format without conversions.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(ticker),
                core::ptr::null_mut(),
                -1,
                c"markers_sample".as_ptr().cast(),
            )
        };
        if (task as usize) >= (-4095isize) as usize {
            return Err(Error::from_errno(task as isize as i32));
        }
        // SAFETY: `task` is a new kernel thread.
        unsafe { bindings::wake_up_process(task) };
        pr_info!("sample loaded: {} CPUs, ticking every 100 ms\n", cpus);
        Ok(MarkersSample { task })
    }
}

impl Drop for MarkersSample {
    fn drop(&mut self) {
        // SAFETY: `task` is our thread, still running until stopped here.
        unsafe { bindings::kthread_stop(self.task) };
        let n = TICKS.load(Ordering::Relaxed);
        mark!(sample_exit, "exit after {} ticks", n);
        pr_info!("sample unloaded after {} ticks\n", n);
    }
}
