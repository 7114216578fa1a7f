// SPDX-License-Identifier: GPL-2.0

//! A module outside the markers tree that places a marker and attaches a
//! typed probe to it, built with only the documented boilerplate
//! (`scripts/markers-client.mk`) by `scripts/check-client.sh`.

use core::sync::atomic::{AtomicU32, Ordering};

use kernel::prelude::*;
use markers::mark;
use markers::probe::{Probe, ENABLE};

module! {
    type: Client,
    name: "markers_client",
    author: "The markers developers",
    description: "Out-of-tree client of markers",
    license: "GPL",
}

fn on_hello(count: &AtomicU32, (v,): (u32,)) {
    count.fetch_add(v, Ordering::Relaxed);
}

struct Client {
    _probe: Probe<(u32,), AtomicU32>,
}

impl kernel::Module for Client {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let probe = Probe::<(u32,), AtomicU32>::register(
            c"client_hello",
            on_hello,
            AtomicU32::new(0),
            ENABLE,
        )?;
        mark!(client_hello, "hello {}", 42u32);
        pr_info!("probe saw {}\n", probe.data().load(Ordering::Relaxed));
        Ok(Client { _probe: probe })
    }
}
