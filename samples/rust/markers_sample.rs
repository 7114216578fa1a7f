// SPDX-License-Identifier: GPL-2.0

//! Sample client of `markers.ko`.
//!
//! A module that uses markers depends on the core module: it cannot load
//! without it, and the core module cannot be unloaded under it.

use kernel::prelude::*;

module! {
    type: MarkersSample,
    name: "markers_sample",
    author: "The markers developers",
    description: "Sample module using markers",
    license: "GPL",
}

extern "C" {
    /// Exported by `markers.ko`.
    static markers_abi_version: u32;
}

struct MarkersSample;

impl kernel::Module for MarkersSample {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `markers_abi_version` is an immutable `u32` exported by
        // `markers.ko`, which is loaded (this module links against it).
        let abi = unsafe { markers_abi_version };
        pr_info!("sample loaded against markers ABI {}\n", abi);
        Ok(MarkersSample)
    }
}

impl Drop for MarkersSample {
    fn drop(&mut self) {
        pr_info!("sample unloaded\n");
    }
}
