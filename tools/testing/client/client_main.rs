// SPDX-License-Identifier: GPL-2.0

//! A module outside the markers tree that places a marker, built with only
//! the documented boilerplate (`scripts/markers-client.mk`) by
//! `scripts/check-client.sh`.

use kernel::prelude::*;
use markers::mark;

module! {
    type: Client,
    name: "markers_client",
    author: "The markers developers",
    description: "Out-of-tree client of markers",
    license: "GPL",
}

struct Client;

impl kernel::Module for Client {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        mark!(client_init, "hello {}", 42u32);
        Ok(Client)
    }
}
