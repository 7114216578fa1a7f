// SPDX-License-Identifier: GPL-2.0

//! Control: `/sys/kernel/markers`, the operator's interface.
//!
//! - `control`: reading it lists every marker and site (`listing.rs`), in
//!   any size; writing it applies a batch of commands in the control
//!   language (`lang.rs` parses, `commands.rs` resolves and applies them).
//! - `stats`: the patcher's counters.
//! - `<marker>/` and `<marker>/sites/<id>/`: a directory per marker and per
//!   site (`nodes.rs` makes them as the registry adds markers and sites;
//!   the handlers here fill and apply their files).
//!
//! Every file and error is specified in
//! `Documentation/ABI/testing/sysfs-kernel-markers`. Writes need
//! `CAP_SYS_ADMIN` and are refused while the kernel is locked down
//! (confidentiality), as writes to tracefs are.

use core::ffi::c_void;
use core::fmt::Write;
use core::sync::atomic::Ordering;

use kernel::bindings;
use kernel::prelude::*;
use kernel::str::BStr;

use crate::marker::Marker;
use crate::nodes::{self, File, Handlers, Node};
use crate::registry::{MarkedSite, Registry, OFF, ON};
use crate::text::{BROKEN, ENABLED, PATCHING, RETIRED, STATS, TORN};

mod commands;
mod lang;
mod listing;

extern "C" {
    fn markers_locked_down() -> core::ffi::c_int;
    fn markers_capable() -> bool;
}

/// Whether the caller may write: `EPERM` without `CAP_SYS_ADMIN` or while
/// the kernel is locked down.
fn may_write() -> Result {
    // SAFETY: plain calls from process context.
    if !unsafe { markers_capable() } {
        return Err(EPERM);
    }
    // SAFETY: as above.
    if unsafe { markers_locked_down() } != 0 {
        pr_warn!("writes refused: the kernel is locked down\n");
        return Err(EPERM);
    }
    Ok(())
}

/// A sysfs attribute or binary attribute in static storage.
struct Static<T>(core::cell::UnsafeCell<T>);

// SAFETY: written only by sysfs registration, which serializes itself;
// afterwards sysfs only reads it.
unsafe impl<T> Sync for Static<T> {}

/// A `struct attribute` named `name` with mode `mode`, zeroed first (see
/// `nodes::kattr`).
const fn attribute(name: &'static core::ffi::CStr, mode: u16) -> bindings::attribute {
    // SAFETY: all-zero is a valid `attribute`.
    let mut a: bindings::attribute = unsafe { core::mem::zeroed() };
    a.name = name.as_ptr().cast();
    a.mode = mode;
    a
}

static CONTROL: Static<bindings::bin_attribute> = Static(core::cell::UnsafeCell::new({
    // SAFETY: all-zero is a valid `bin_attribute` (size 0: unknown).
    let mut b: bindings::bin_attribute = unsafe { core::mem::zeroed() };
    b.attr = attribute(c"control", 0o644);
    b.read = Some(listing::read);
    b.write = Some(commands::write);
    b
}));

static STATS_ATTR: Static<bindings::kobj_attribute> =
    Static(core::cell::UnsafeCell::new(bindings::kobj_attribute {
        attr: attribute(c"stats", 0o444),
        show: Some(stats_show),
        store: None,
    }));

static HANDLERS: Handlers = Handlers {
    show: node_show,
    store: node_store,
};

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
    /// Creates `/sys/kernel/markers` and its files; marker directories go
    /// under it from now on.
    pub(crate) fn new() -> Result<Self> {
        nodes::init();
        nodes::set_handlers(&HANDLERS);
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
        // SAFETY: `kobj` is valid; the attributes are static.
        let r = unsafe { bindings::sysfs_create_bin_file(kobj, CONTROL.0.get()) };
        if r < 0 {
            pr_err!("cannot create /sys/kernel/markers/control: {}\n", r);
            return Err(Error::from_errno(r));
        }
        // SAFETY: as above.
        let r = unsafe {
            bindings::sysfs_create_file_ns(kobj, &(*STATS_ATTR.0.get()).attr, core::ptr::null())
        };
        if r < 0 {
            pr_err!("cannot create /sys/kernel/markers/stats: {}\n", r);
            return Err(Error::from_errno(r));
        }
        nodes::set_root(kobj);
        Ok(this)
    }
}

impl Drop for Sysfs {
    fn drop(&mut self) {
        nodes::set_root(core::ptr::null_mut());
        // SAFETY: by the type invariant `kobj` is valid and we own its only
        // reference (marker directories, its children, are gone with the
        // registry); dropping it removes the directory and its files, after
        // waiting for running callbacks.
        unsafe { bindings::kobject_put(self.kobj) };
        listing::free_cache();
    }
}

/// A `fmt::Write` into a buffer that stops at its end, keeping one byte
/// (sysfs pages end with a NUL).
pub(crate) struct Page<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Page<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    fn room(&self) -> usize {
        self.buf.len() - 1 - self.len
    }

    fn bytes(&mut self, s: &[u8]) -> core::fmt::Result {
        let n = s.len().min(self.room());
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
        if n < s.len() {
            Err(core::fmt::Error)
        } else {
            Ok(())
        }
    }
}

impl Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.bytes(s.as_bytes())
    }
}

/// Formats `addr` as `%pS` does ("symbol+0xoff/0xsize [module]") into
/// `buf`, returning the text.
pub(crate) fn symbol(addr: usize, buf: &mut [u8]) -> &[u8] {
    // SAFETY: `buf` has `buf.len()` writable bytes; the format takes one
    // pointer.
    let n = unsafe {
        bindings::scnprintf(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%pS".as_ptr().cast(),
            addr as *const c_void,
        )
    };
    // CAST: scnprintf returns what it wrote, less than `buf.len()`.
    &buf[..n as usize]
}

/// The state of a site as one word (see `sites/<id>/state`).
pub(crate) fn state_str(st: u8) -> &'static str {
    if st & BROKEN != 0 {
        "broken"
    } else if st & RETIRED != 0 {
        "retired"
    } else if st & TORN != 0 {
        "torn"
    } else if st & PATCHING != 0 {
        "patching"
    } else if st & ENABLED != 0 {
        "on"
    } else {
        "off"
    }
}

/// Where the registry keeps the object of a node's files: a marker or a
/// site, or `ENOENT` once it is gone.
///
/// # Safety
///
/// The caller holds the registry mutex (it is in `with_registry`).
unsafe fn obj<T>(n: &Node) -> Result<&T> {
    // SAFETY: the caller holds the registry mutex; a non-null object is
    // live until its node is removed, under that mutex.
    let p = unsafe { n.obj() };
    if p.is_null() {
        return Err(ENOENT);
    }
    // SAFETY: see above; marker nodes stand for markers, site nodes for
    // sites (`File` tells which).
    Ok(unsafe { &*p.cast::<T>() })
}

fn errno(e: Error) -> isize {
    e.to_errno() as isize
}

/// `show` of every marker and site file.
fn node_show(n: &Node, file: File, buf: &mut [u8]) -> isize {
    let mut p = Page::new(buf);
    let r = crate::with_registry(|r| -> Result {
        match file {
            File::SiteLocation | File::SiteState | File::SiteEnable => {
                // SAFETY: we hold the registry mutex; a site file.
                let s = unsafe { obj::<MarkedSite>(n) }?;
                let _ = site_file(&mut p, s, file);
            }
            _ => {
                // SAFETY: we hold the registry mutex; a marker file.
                let m = unsafe { obj::<Marker>(n) }?;
                let _ = marker_file(&mut p, r, m, file);
            }
        }
        Ok(())
    });
    match r {
        Ok(Ok(())) => p.len as isize,
        Ok(Err(e)) | Err(e) => errno(e),
    }
}

fn site_file(p: &mut Page<'_>, s: &MarkedSite, file: File) -> core::fmt::Result {
    let st = s.site.state.load(Ordering::Relaxed);
    match file {
        File::SiteLocation => {
            if st & RETIRED != 0 && s.site.init {
                // Freed init text: no symbol to show, and no address to
                // leak. The module is in the site's directory path's
                // marker's `modules`.
                return writeln!(p, "(freed init text)");
            }
            let mut b = [0u8; 512];
            p.bytes(symbol(s.site.addr, &mut b))?;
            writeln!(p)
        }
        File::SiteState => writeln!(p, "{}", state_str(st)),
        _ => writeln!(p, "{}", u8::from(s.wanted())),
    }
}

fn marker_file(p: &mut Page<'_>, r: &Registry, m: &Marker, file: File) -> core::fmt::Result {
    match file {
        File::Enable => writeln!(p, "{}", u8::from(m.explicit)),
        File::Format => {
            p.bytes(&m.format)?;
            writeln!(p)
        }
        File::Signature => {
            if m.loaded() {
                p.bytes(m.sig_str())?;
            } else {
                p.bytes(b"?")?;
            }
            writeln!(p)
        }
        File::Modules => {
            let mut last: Option<&CStr> = None;
            for (module, _) in r.sites().filter(|(_, s)| core::ptr::eq(s.marker, m)) {
                if last.map(|l| l.as_bytes()) != Some(module.as_bytes()) {
                    writeln!(p, "{}", BStr::from_bytes(module.as_bytes()))?;
                    last = Some(module);
                }
            }
            Ok(())
        }
        File::Probes => {
            let mut b = [0u8; 512];
            for q in r
                .probes
                .iter()
                .filter(|q| q.name.as_slice() == m.name.as_slice())
            {
                probe_line(p, r, q, &mut b)?;
            }
            Ok(())
        }
        _ => writeln!(p, "{}", r.hits(m)),
    }
}

/// Writes "OWNER HANDLER STATE FLAGS" and a newline for probe `q` (see
/// `<marker>/probes`), using `buf` for the symbol.
pub(crate) fn probe_line(
    out: &mut impl Bytes,
    r: &Registry,
    q: &crate::probes::Probe,
    buf: &mut [u8],
) -> core::fmt::Result {
    let handler = symbol(q.func as usize, buf);
    let owner = owner_of(handler);
    let st = match q.state(r.find(&q.name).map(|m| &m.sig)) {
        crate::probes::ProbeState::Pending => "pending",
        crate::probes::ProbeState::Attached => "attached",
        crate::probes::ProbeState::Mismatch => "mismatch",
    };
    let handler = match handler.iter().position(|&c| c == b' ') {
        Some(i) => &handler[..i],
        None => handler,
    };
    out.put(owner)?;
    out.put(b" ")?;
    out.put(handler)?;
    out.put(b" ")?;
    out.put(st.as_bytes())?;
    out.put(if q.enable { b" enable\n" } else { b" -\n" })
}

/// A byte sink of the listing and of sysfs pages.
pub(crate) trait Bytes {
    fn put(&mut self, b: &[u8]) -> core::fmt::Result;
}

impl Bytes for Page<'_> {
    fn put(&mut self, b: &[u8]) -> core::fmt::Result {
        self.bytes(b)
    }
}

/// The module `%pS` text names (" [module]" at its end), or "vmlinux".
fn owner_of(sym: &[u8]) -> &[u8] {
    match (sym.iter().rposition(|&c| c == b'['), sym.last()) {
        (Some(i), Some(b']')) => &sym[i + 1..sym.len() - 1],
        _ => b"vmlinux",
    }
}

/// Parses "0" or "1", with an optional trailing newline.
fn parse_bool(data: &[u8]) -> Result<bool> {
    match data {
        b"0" | b"0\n" => Ok(false),
        b"1" | b"1\n" => Ok(true),
        _ => Err(EINVAL),
    }
}

/// `store` of every writable marker and site file.
fn node_store(n: &Node, file: File, data: &[u8]) -> isize {
    if let Err(e) = may_write() {
        return errno(e);
    }
    let r = crate::with_registry(|r| -> Result {
        match file {
            File::SiteEnable => {
                let on = parse_bool(data)?;
                // SAFETY: we hold the registry mutex; a site file.
                let s = unsafe { obj::<MarkedSite>(n) }?;
                r.revalidate(s)?;
                s.over.set(if on { ON } else { OFF });
                patched(r.reconcile())
            }
            File::Enable => {
                let on = parse_bool(data)?;
                // SAFETY: we hold the registry mutex; a marker file.
                let m = unsafe { obj::<Marker>(n) }?;
                let i = r.index_of(m).ok_or(ENOENT)?;
                r.set_explicit(i, on);
                let refused = r.reconcile();
                // A pending marker disabled goes, with this directory.
                r.drop_unused_markers();
                patched(refused)
            }
            File::Hits => {
                if parse_bool(data)? {
                    return Err(EINVAL);
                }
                // SAFETY: we hold the registry mutex; a marker file.
                let m = unsafe { obj::<Marker>(n) }?;
                let i = r.index_of(m).ok_or(ENOENT)?;
                r.reset_hits(i);
                Ok(())
            }
            _ => Err(EINVAL),
        }
    });
    match r {
        Ok(Ok(())) => data.len() as isize,
        Ok(Err(e)) | Err(e) => errno(e),
    }
}

/// `EIO` when `refused` sites could not be patched (logged by the patcher).
fn patched(refused: usize) -> Result {
    if refused > 0 {
        pr_err!("{} sites could not be patched (see above)\n", refused);
        return Err(EIO);
    }
    Ok(())
}

/// `show` of `stats`.
///
/// # Safety
///
/// Called by sysfs with a `PAGE_SIZE` buffer.
unsafe extern "C" fn stats_show(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut u8,
) -> isize {
    // SAFETY: sysfs passes a page.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), bindings::PAGE_SIZE) };
    let mut p = Page::new(buf);
    let s = &STATS;
    for (name, v) in [
        ("int3", &s.int3),
        ("late", &s.late),
        ("passes", &s.passes),
        ("rewrites", &s.rewrites),
        ("refused", &s.refused),
        ("syncs", &s.syncs),
    ] {
        let _ = writeln!(p, "{} {}", name, v.load(Ordering::Relaxed));
    }
    p.len as isize
}
