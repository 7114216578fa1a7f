// SPDX-License-Identifier: GPL-2.0

//! Sample tracer in Rust: attaches typed probes to the sample module's
//! markers by name, counts hits, and prints what it saw.
//!
//! It may be loaded before or after `markers_sample.ko`: a probe on a marker
//! no module defines yet is pending, and attaches when the module loads.
//!
//! - `sample_tick` (`u64`, `&CStr`, `u64`): registered with [`ENABLE`], so
//!   the marker is armed while this probe is attached; prints every 10th
//!   tick.
//! - `sample_state` (`&str`, `bool`, pointer): registered without flags, so
//!   it sees hits only while someone else enables the marker.

use core::ffi::{c_void, CStr};
use core::sync::atomic::{AtomicU64, Ordering};

use kernel::prelude::*;
use markers::probe::{Probe, ENABLE, NO_FLAGS};

module! {
    type: Tracer,
    name: "markers_tracer",
    author: "The markers developers",
    description: "Sample tracer: typed probes on the sample's markers",
    license: "GPL",
}

/// Per-probe data.
struct Counter {
    hits: AtomicU64,
    last: AtomicU64,
}

impl Counter {
    fn new() -> Self {
        Self {
            hits: AtomicU64::new(0),
            last: AtomicU64::new(0),
        }
    }
}

fn on_tick(c: &Counter, (tick, by, ticks): (u64, &CStr, u64)) {
    c.hits.fetch_add(1, Ordering::Relaxed);
    c.last.store(tick, Ordering::Relaxed);
    if tick % 10 == 0 {
        pr_info!("tick {} by {:?} (ticks={})\n", tick, by, ticks);
    }
}

fn on_state(c: &Counter, (parity, ok, _at): (&str, bool, *const c_void)) {
    c.hits.fetch_add(1, Ordering::Relaxed);
    c.last.store(
        u64::from(ok) + 2 * u64::from(parity == "odd"),
        Ordering::Relaxed,
    );
}

type TickProbe = Probe<(u64, &'static CStr, u64), Counter>;
type StateProbe = Probe<(&'static str, bool, *const c_void), Counter>;

struct Tracer {
    tick: TickProbe,
    state: StateProbe,
}

impl kernel::Module for Tracer {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let tick = TickProbe::register(c"sample_tick", on_tick, Counter::new(), ENABLE)?;
        let state = StateProbe::register(c"sample_state", on_state, Counter::new(), NO_FLAGS)?;
        pr_info!(
            "tracer loaded: sample_tick {:?}, sample_state {:?}\n",
            tick.state(),
            state.state()
        );
        Ok(Tracer { tick, state })
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        // Read before the fields drop (and unregister) below.
        pr_info!(
            "tracer unloading: sample_tick {} hits (last tick {}), sample_state {} hits\n",
            self.tick.data().hits.load(Ordering::Relaxed),
            self.tick.data().last.load(Ordering::Relaxed),
            self.state.data().hits.load(Ordering::Relaxed)
        );
    }
}
