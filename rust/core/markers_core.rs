// SPDX-License-Identifier: GPL-2.0

//! The markers core module, `markers.ko`.
//!
//! This crate is the root of the core module. It owns the `/sys/kernel/markers`
//! directory that the control interface grows into, and it is where the
//! registry (which walks every client module's `__markers` section), the
//! patcher and the probe API live as they land.
//!
//! The parts of the core that Rust cannot express on 6.12 (symbol exports,
//! wrappers around inline kernel functions) live in `markers_glue.c`, linked
//! into the same module.
//!
//! C header: [include/linux/markers.h](../../include/linux/markers.h)

use kernel::bindings;
use kernel::prelude::*;

module! {
    type: Markers,
    name: "markers",
    author: "The markers developers",
    description: "Static markers for Rust kernel code",
    license: "GPL",
}

/// The sysfs directory `/sys/kernel/markers`.
///
/// # Invariants
///
/// `kobj` is a valid kobject created by `kobject_create_and_add` that this
/// value holds the only reference to; it is released on drop.
struct SysfsRoot {
    kobj: *mut bindings::kobject,
}

impl SysfsRoot {
    /// Creates `/sys/kernel/markers`.
    fn new() -> Result<Self> {
        // SAFETY: the name is a NUL-terminated string that outlives the call
        // (the kobject copies it); `kernel_kobj` is the kernel's `/sys/kernel`
        // kobject, valid for the kernel's lifetime.
        let kobj = unsafe {
            bindings::kobject_create_and_add(c"markers".as_ptr().cast(), bindings::kernel_kobj)
        };
        if kobj.is_null() {
            pr_err!("cannot create /sys/kernel/markers\n");
            return Err(ENOMEM);
        }
        // INVARIANT: `kobj` was just created and its one reference is ours.
        Ok(Self { kobj })
    }
}

impl Drop for SysfsRoot {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `kobj` is valid and we own its only
        // reference; dropping it removes the directory.
        unsafe { bindings::kobject_put(self.kobj) };
    }
}

// SAFETY: the kobject is only used through kernel functions that take their
// own locks; the pointer itself may move between threads.
unsafe impl Send for SysfsRoot {}
// SAFETY: `SysfsRoot` offers no methods that act on the kobject through `&self`.
unsafe impl Sync for SysfsRoot {}

/// The core module's state, alive from `init` to `exit`.
struct Markers {
    _sysfs: SysfsRoot,
}

impl kernel::Module for Markers {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `markers_abi_version` is an immutable `u32` defined in C in
        // this same module.
        let c_abi = unsafe { markers_abi_version };
        if c_abi != ABI_VERSION {
            pr_err!(
                "ABI mismatch: Rust side {}, C side {}\n",
                ABI_VERSION,
                c_abi
            );
            return Err(EINVAL);
        }
        let sysfs = SysfsRoot::new()?;
        pr_info!("loaded (ABI {})\n", ABI_VERSION);
        Ok(Markers { _sysfs: sysfs })
    }
}

impl Drop for Markers {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}

/// Version of the binary interface between `markers.ko` and its clients.
///
/// It must equal `MARKERS_ABI_VERSION` in `include/linux/markers.h`; `init`
/// refuses to load a module whose two halves disagree.
const ABI_VERSION: u32 = 1;

extern "C" {
    /// The exported ABI version, defined by `markers_glue.c`.
    ///
    /// Client modules reference it, so a client cannot load without the core
    /// module, and the core module cannot be unloaded while a client is loaded.
    static markers_abi_version: u32;
}
