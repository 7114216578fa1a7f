// SPDX-License-Identifier: GPL-2.0

//! A third-party tracer in Rust, built only through the installed kit: a
//! typed probe on `kit_rx` that counts packets and bytes per device, and
//! prints the totals when it unloads.
//!
//! It may be loaded before or after the module with the marker: a probe on a
//! marker no module defines yet is pending, and attaches when one loads.  The
//! signature names `kernel::prelude::CStr`; `core::ffi::CStr` works as well.

use core::sync::atomic::{AtomicU64, Ordering};

use kernel::prelude::*;
use markers::probe::{Probe, ENABLE};

module! {
    type: KitTracer,
    name: "markers_kit_tracer",
    author: "The markers developers",
    description: "A Rust tracer built with the markers kit",
    license: "GPL",
}

/// What the probe counts.
#[derive(Default)]
struct Rx {
    packets: AtomicU64,
    bytes: AtomicU64,
    kit0: AtomicU64,
}

/// Runs at every hit of `kit_rx`, with the arguments of the site.
fn on_rx(rx: &Rx, (len, dev): (u32, &CStr)) {
    rx.packets.fetch_add(1, Ordering::Relaxed);
    rx.bytes.fetch_add(u64::from(len), Ordering::Relaxed);
    if dev.as_bytes() == b"kit0" {
        rx.kit0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A probe for sites that pass a `u32` and a C string, with an `Rx`.
type RxProbe = Probe<(u32, &'static CStr), Rx>;

struct KitTracer {
    rx: RxProbe,
}

impl kernel::Module for KitTracer {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // ENABLE: the marker is on while this probe is attached.
        let rx = RxProbe::register(c"kit_rx", on_rx, Rx::default(), ENABLE)?;
        pr_info!("probe on kit_rx: {:?}\n", rx.state());
        Ok(KitTracer { rx })
    }
}

impl Drop for KitTracer {
    fn drop(&mut self) {
        // Read before `rx` drops, which unregisters the probe and waits for
        // running handlers.
        let rx = self.rx.data();
        pr_info!(
            "kit_rx: {} packets, {} bytes, {} on kit0\n",
            rx.packets.load(Ordering::Relaxed),
            rx.bytes.load(Ordering::Relaxed),
            rx.kit0.load(Ordering::Relaxed)
        );
    }
}
