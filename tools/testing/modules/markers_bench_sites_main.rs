// SPDX-License-Identifier: GPL-2.0

//! 10,000 marker sites over 100 markers (`bsites10000_m00` to `_m99`, 100
//! sites each): the toggle benchmark's largest group, and the client whose
//! load time `make bench` compares with `markers_bench_nosites.ko`, the
//! same source without markers.

use core::hint::black_box;

use kernel::prelude::*;

module! {
    type: BenchSites,
    name: "markers_bench_sites",
    author: "The markers developers",
    description: "10,000 marker sites over 100 markers (benchmark)",
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

bench_group_10000!();

struct BenchSites;

impl kernel::Module for BenchSites {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // The callers are never called: their sites are what counts.
        black_box((BSITES10000_CALLERS,));
        Ok(BenchSites)
    }
}
