// SPDX-License-Identifier: GPL-2.0

//! A third-party module with markers, built only through the installed kit
//! (`make install`, then `make -C $KDIR M=$PWD` here; see
//! Documentation/markers.rst, "Quick start").
//!
//! When it loads it "receives" eight packets of 64, 128, 192, ... bytes on
//! the device `kit0`, with a marker on each one, then one summary marker.

use kernel::{c_str, prelude::*};
use markers::mark;

module! {
    type: KitSample,
    name: "markers_kit_sample",
    author: "The markers developers",
    description: "A module with markers, built with the markers kit",
    license: "GPL",
}

/// Packets received at load time.
const PACKETS: u32 = 8;

/// One received packet: a marker with the length and the device's name.
fn rx(len: u32, dev: &CStr) -> u64 {
    // Disabled: a 5-byte NOP; `len` and `dev` are not even read.
    mark!(kit_rx, "len={} dev={}", len, dev);
    u64::from(len)
}

struct KitSample;

impl kernel::Module for KitSample {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let n = PACKETS;
        let bytes: u64 = (1..=n).map(|i| rx(64 * i, c_str!("kit0"))).sum();
        mark!(kit_done, "packets={} bytes={}", n, bytes);
        pr_info!("received {} packets, {} bytes\n", n, bytes);
        Ok(KitSample)
    }
}
