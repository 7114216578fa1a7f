// SPDX-License-Identifier: GPL-2.0

//! Marker sites for the toggle benchmark (`markers_bench.ko toggle=1`):
//! the groups of 1, 100 and 1,000 sites of `markers_bench_gen.rs`
//! (`bsites1_m00`, `bsites100_m*`, `bsites1000_m*`). The group of 10,000
//! is `markers_bench_sites.ko`.

use core::hint::black_box;

use kernel::prelude::*;

module! {
    type: BenchSites,
    name: "markers_bench_toggle",
    author: "The markers developers",
    description: "Marker sites for the toggle benchmark: 1, 100 and 1,000 sites",
    license: "GPL",
}

/// A site: one `mark!` with one `u64` argument.
macro_rules! bench_site {
    ($name:ident, $x:expr) => {
        markers::mark!($name, "x={}", $x)
    };
}

#[path = "markers_bench_gen.rs"]
#[macro_use]
mod gen;

bench_group_1!();
bench_group_100!();
bench_group_1000!();

struct BenchSites;

impl kernel::Module for BenchSites {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // The callers are never called: their sites are what counts.
        black_box((BSITES1_CALLERS, BSITES100_CALLERS, BSITES1000_CALLERS));
        Ok(BenchSites)
    }
}
