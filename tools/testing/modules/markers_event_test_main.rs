// SPDX-License-Identifier: GPL-2.0

//! Markers fired on demand, for the trace-event tests
//! (`tools/testing/guest/tests/68-events.sh`): writing N to
//! `/sys/kernel/debug/markers_event_test/fire` runs, for i = 0 .. N-1,
//!
//! - `ev_rx` with `len` = 64 * i (u32), `dev` = "even" or "odd" (C string),
//!   `delta` = -i (i64) and `ok` = i % 3 == 0 (bool);
//! - `ev_misc` with `tag` = "t" followed by i % 10 (string), `data` = the
//!   bytes i, i + 1, i + 2 (bytes), `b` = i (u8), `s` = -i (i16), `p` =
//!   0x1000 + i (pointer), `z` = 2 * i (usize), `h` = -i (i8), `u` = 100 * i
//!   (u16), `w` = -100,000 * i (i32), `q` = 2^40 + i (u64) and `n` = -2 * i
//!   (isize).
//!
//! and then once `ev_big` with a string of 2,000 `x`, a C string of 5,000
//! `y` and 5,000 bytes 0x5a, more than an entry holds (the last two are
//! cut).
//!
//! The expected values of each event are derived from i alone, so a test
//! can compare every recorded field.

use core::ffi::c_int;

use kernel::prelude::*;
use markers::mark;

module! {
    type: EventTest,
    name: "markers_event_test",
    author: "The markers developers",
    description: "Markers fired on demand, for the trace-event tests",
    license: "GPL",
}

extern "C" {
    fn markers_event_test_glue_init() -> c_int;
    fn markers_event_test_glue_exit();
}

#[inline(never)]
fn rx(i: u32) {
    let dev = if i % 2 == 0 { c"even" } else { c"odd" };
    mark!(
        ev_rx,
        "len={} dev={} delta={} ok={}",
        64 * i,
        dev,
        -i64::from(i),
        i % 3 == 0
    );
}

#[inline(never)]
fn misc(i: u32) {
    const DIGITS: [&str; 10] = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"];
    // CAST: the tests fire fewer than 250 events; the bytes wrap otherwise.
    let b = i as u8;
    let data = [b, b.wrapping_add(1), b.wrapping_add(2)];
    let p = (0x1000 + i as usize) as *const core::ffi::c_void;
    // CAST: as above (below 250: every value fits its type).
    let (h, s) = ((i as i8).wrapping_neg(), -(i as i16));
    mark!(
        ev_misc,
        "tag={} data={} b={} s={} p={} z={} h={} u={} w={} q={} n={}",
        DIGITS[(i % 10) as usize],
        &data[..],
        b,
        s,
        p,
        2 * i as usize,
        h,
        // CAST: as above.
        100 * i as u16,
        -100_000 * i as i32,
        (1u64 << 40) + u64::from(i),
        -2 * i as isize
    );
}

/// For `ev_big`: a 2,000-byte string, a 5,000-byte C string (with its NUL)
/// and 5,000 bytes.
static BIG_STR: [u8; 2000] = [b'x'; 2000];
static BIG_CSTR: [u8; 5001] = {
    let mut b = [b'y'; 5001];
    b[5000] = 0;
    b
};
static BIG_BYTES: [u8; 5000] = [0x5a; 5000];

#[inline(never)]
fn big() {
    // The bytes are ASCII: a valid `str`; one NUL, at the end: a `CStr`.
    let s = core::str::from_utf8(&BIG_STR).unwrap_or("");
    let c = core::ffi::CStr::from_bytes_with_nul(&BIG_CSTR).unwrap_or(c"");
    mark!(ev_big, "s={} c={} b={}", s, c, &BIG_BYTES[..]);
}

/// Fires `ev_rx` and `ev_misc` `n` times, then `ev_big` once (the debugfs
/// file `fire`).
#[no_mangle]
pub extern "C" fn markers_event_test_fire(n: u32) {
    for i in 0..n {
        rx(i);
        misc(i);
    }
    big();
}

struct EventTest;

impl kernel::Module for EventTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: undone in `drop`.
        kernel::error::to_result(unsafe { markers_event_test_glue_init() })?;
        Ok(EventTest)
    }
}

impl Drop for EventTest {
    fn drop(&mut self) {
        // SAFETY: made in `init`.
        unsafe { markers_event_test_glue_exit() };
    }
}
