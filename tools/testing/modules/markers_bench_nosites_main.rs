// SPDX-License-Identifier: GPL-2.0

//! `markers_bench_sites.ko` without markers: the same generated source
//! (`markers_bench_gen.rs`) with `bench_site!` expanding to nothing but its
//! argument, the baseline of the module-load cost in `make bench`.

use core::hint::black_box;

use kernel::prelude::*;

module! {
    type: BenchSites,
    name: "markers_bench_nosites",
    author: "The markers developers",
    description: "markers_bench_sites.ko without markers (benchmark baseline)",
    license: "GPL",
}

/// No site: the same source without markers.
macro_rules! bench_site {
    ($name:ident, $x:expr) => {
        black_box($x)
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
