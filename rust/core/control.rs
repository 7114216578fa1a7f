// SPDX-License-Identifier: GPL-2.0

//! Control: `/sys/kernel/markers`.
//!
//! For now one file, `/sys/kernel/markers/control` (root only):
//!
//! - reading it lists the patcher's counters, every marker (name, state,
//!   number of sites, hits, signature, format) and every site (address as
//!   `%pS`, module, state);
//! - writing `enable NAME...` or `disable NAME...` switches the named markers
//!   in one patch pass per line; `print NAME...` attaches the built-in print
//!   probe (output in `/sys/kernel/tracing/instances/markers/trace`), which
//!   arms the marker, and `noprint NAME...` detaches it. An unknown verb or a malformed name fails
//!   the write with `-EINVAL`, an unknown marker with `-ENOENT`, and nothing
//!   of that line changes.
//!
//! The format is provisional and not an ABI: the control issue replaces it
//! with per-marker and per-site sysfs files and a batch control language.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::fmt::Write;
use core::sync::atomic::Ordering;

use kernel::bindings;
use kernel::prelude::*;
use kernel::str::BStr;

use crate::text::{BROKEN, ENABLED, PATCHING, RETIRED, STATS, TORN};

/// A sysfs attribute in static storage.
struct Attr(UnsafeCell<bindings::kobj_attribute>);

// SAFETY: the attribute is written only by sysfs registration, which
// serializes itself; afterwards sysfs only reads it.
unsafe impl Sync for Attr {}

/// A sysfs `struct attribute` named `name` with mode `mode`.
///
/// Zero first: with `CONFIG_DEBUG_LOCK_ALLOC` the structure has lockdep
/// fields too. A null `key` makes sysfs use the attribute's own `skey`,
/// which lockdep accepts for an attribute in static storage.
const fn attribute(name: &'static core::ffi::CStr, mode: u16) -> bindings::attribute {
    // SAFETY: all-zero is a valid `attribute` (null pointers, no lockdep
    // key, `ignore_lockdep` false).
    let mut a: bindings::attribute = unsafe { core::mem::zeroed() };
    a.name = name.as_ptr().cast();
    a.mode = mode;
    a
}

static CONTROL: Attr = Attr(UnsafeCell::new(bindings::kobj_attribute {
    attr: attribute(c"control", 0o600),
    show: Some(control_show),
    store: Some(control_store),
}));

/// The directory `/sys/kernel/markers` and its files.
///
/// # Invariants
///
/// `kobj` is a valid kobject created by `kobject_create_and_add` that this
/// value holds the only reference to; it is released on drop.
pub(crate) struct Sysfs {
    kobj: *mut bindings::kobject,
}

// SAFETY: the kobject is only used through kernel functions that take their
// own locks; the pointer itself may move between threads.
unsafe impl Send for Sysfs {}
// SAFETY: `Sysfs` offers no methods that act on the kobject through `&self`.
unsafe impl Sync for Sysfs {}

impl Sysfs {
    /// Creates `/sys/kernel/markers` and its files.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: the name is a NUL-terminated string that outlives the call
        // (the kobject copies it); `kernel_kobj` is the kernel's
        // `/sys/kernel` kobject, valid for the kernel's lifetime.
        let kobj = unsafe {
            bindings::kobject_create_and_add(c"markers".as_ptr().cast(), bindings::kernel_kobj)
        };
        if kobj.is_null() {
            pr_err!("cannot create /sys/kernel/markers\n");
            return Err(ENOMEM);
        }
        // INVARIANT: `kobj` was just created and its one reference is ours.
        let this = Self { kobj };
        // SAFETY: `kobj` is valid; the attribute is static.
        let r = unsafe {
            bindings::sysfs_create_file_ns(kobj, &(*CONTROL.0.get()).attr, core::ptr::null())
        };
        if r < 0 {
            pr_err!("cannot create /sys/kernel/markers/control: {}\n", r);
            return Err(Error::from_errno(r));
        }
        Ok(this)
    }
}

impl Drop for Sysfs {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `kobj` is valid and we own its only
        // reference; dropping it removes the directory and its files, after
        // waiting for running show/store calls.
        unsafe { bindings::kobject_put(self.kobj) };
    }
}

/// A `fmt::Write` into a sysfs page that stops at its end.
struct Page {
    buf: *mut u8,
    len: usize,
}

const PAGE: usize = bindings::PAGE_SIZE;

impl Write for Page {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(PAGE - 1 - self.len);
        // SAFETY: sysfs passes a PAGE_SIZE buffer; `len + n < PAGE`.
        unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), self.buf.add(self.len), n) };
        self.len += n;
        if n < s.len() {
            Err(core::fmt::Error)
        } else {
            Ok(())
        }
    }
}

impl Page {
    /// Appends `%pS` of `addr`.
    fn symbol(&mut self, addr: usize) {
        let room = PAGE - 1 - self.len;
        // SAFETY: the buffer has `room + 1` bytes left at `len`; the format
        // takes one pointer.
        let n = unsafe {
            bindings::scnprintf(
                self.buf.add(self.len).cast(),
                room + 1,
                c"%pS".as_ptr().cast(),
                addr as *const c_void,
            )
        };
        self.len += n as usize;
    }
}

fn state_str(st: u8) -> &'static str {
    if st & BROKEN != 0 {
        "broken"
    } else if st & RETIRED != 0 {
        "retired"
    } else if st & TORN != 0 {
        if st & ENABLED != 0 {
            "on-torn"
        } else {
            "off-torn"
        }
    } else if st & PATCHING != 0 {
        "patching"
    } else if st & ENABLED != 0 {
        "on"
    } else {
        "off"
    }
}

/// `show` of `control`: lists counters, markers and sites.
///
/// # Safety
///
/// Called by sysfs with a `PAGE_SIZE` buffer.
unsafe extern "C" fn control_show(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut u8,
) -> isize {
    let mut p = Page {
        buf: buf.cast(),
        len: 0,
    };
    let _ = writeln!(
        p,
        "# int3 {} late {} passes {} rewrites {} refused {} syncs {}",
        STATS.int3.load(Ordering::Relaxed),
        STATS.late.load(Ordering::Relaxed),
        STATS.passes.load(Ordering::Relaxed),
        STATS.rewrites.load(Ordering::Relaxed),
        STATS.refused.load(Ordering::Relaxed),
        STATS.syncs.load(Ordering::Relaxed),
    );
    let _ = crate::with_registry(|r| {
        let _ = writeln!(p, "# marker state sites hits probes signature format");
        for m in r.markers.iter() {
            let nprobes = r
                .probes
                .iter()
                .filter(|q| q.name.as_slice() == m.name.as_slice() && q.sig == m.sig)
                .count();
            let _ = writeln!(
                p,
                "{} {} {} {} {} \"{}\" \"{}\"",
                BStr::from_bytes(&m.name),
                if m.armed() { "on" } else { "off" },
                m.nsites,
                r.hits(m),
                nprobes,
                BStr::from_bytes(m.sig_str()),
                BStr::from_bytes(&m.format),
            );
        }
        let _ = writeln!(p, "# probe marker state signature flags handler");
        for q in r.probes.iter() {
            let st = match q.state(r.find(&q.name).map(|m| &m.sig)) {
                crate::probes::ProbeState::Pending => "pending",
                crate::probes::ProbeState::Attached => "attached",
                crate::probes::ProbeState::Mismatch => "mismatch",
            };
            let _ = write!(
                p,
                "  probe {} {} \"{}\" {} ",
                BStr::from_bytes(&q.name),
                st,
                BStr::from_bytes(q.sig_str()),
                if q.enable { "enable" } else { "-" },
            );
            p.symbol(q.func as usize);
            let _ = writeln!(p);
        }
        let _ = writeln!(p, "# site module marker state");
        for (module, ms) in r.sites() {
            let s = &ms.site;
            let _ = write!(p, "  ");
            if s.state.load(Ordering::Relaxed) & RETIRED != 0 {
                // Freed init text: no symbol to show, and no address to leak.
                let _ = write!(p, "(freed init text)");
            } else {
                p.symbol(s.addr);
            }
            // SAFETY: the marker outlives its sites (registry invariant).
            let name = unsafe { &(*ms.marker).name };
            let _ = writeln!(
                p,
                " {} {} {}{}",
                module,
                BStr::from_bytes(name),
                state_str(s.state.load(Ordering::Relaxed)),
                if s.init { " init" } else { "" },
            );
        }
    });
    p.len as isize
}

/// Applies one line of a control write.
fn control_line(line: &[u8]) -> Result {
    let mut words = line
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let Some(verb) = words.next() else {
        return Ok(());
    };
    let enable = match verb {
        b"enable" | b"print" => true,
        b"disable" | b"noprint" => false,
        _ => {
            pr_err!(
                "control: unknown command '{}' (expected enable, disable, print or noprint)\n",
                BStr::from_bytes(verb)
            );
            return Err(EINVAL);
        }
    };
    let mut names = KVec::new();
    for w in words {
        names.push(w, GFP_KERNEL)?;
    }
    if names.is_empty() {
        pr_err!("control: '{}' needs marker names\n", BStr::from_bytes(verb));
        return Err(EINVAL);
    }
    if verb == b"print" || verb == b"noprint" {
        // All the line's names or none.
        return crate::with_registry(|r| r.set_print(&names, enable))?.inspect_err(|e| {
            pr_err!(
                "control: {}: failed ({}), nothing changed\n",
                BStr::from_bytes(line),
                e.to_errno()
            );
        });
    }
    let r = crate::with_registry(|r| r.set_enabled(&names, enable))?;
    match r {
        Ok(0) => Ok(()),
        Ok(n) => {
            pr_err!("control: {} sites could not be patched (see above)\n", n);
            Err(EIO)
        }
        Err(e) => {
            // Name the culprit: the first malformed or unknown name.
            let _ = crate::with_registry(|r| {
                for name in names.iter() {
                    if !crate::registry::valid_name(name) {
                        pr_err!(
                            "control: '{}' is not a marker name (1-63 characters of [A-Za-z0-9_]): -EINVAL, nothing changed\n",
                            BStr::from_bytes(name)
                        );
                        return;
                    }
                    if r.find(name).is_none() {
                        pr_err!(
                            "control: no loaded module defines marker '{}': -ENOENT, nothing changed\n",
                            BStr::from_bytes(name)
                        );
                        return;
                    }
                }
            });
            Err(e)
        }
    }
}

/// `store` of `control`: applies `enable`/`disable` lines.
///
/// # Safety
///
/// Called by sysfs with `count` readable bytes at `buf`.
unsafe extern "C" fn control_store(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *const u8,
    count: usize,
) -> isize {
    // SAFETY: sysfs passes `count` readable bytes.
    let data = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    for line in data.split(|&c| c == b'\n') {
        if let Err(e) = control_line(line) {
            return e.to_errno() as isize;
        }
    }
    count as isize
}
