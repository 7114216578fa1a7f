// SPDX-License-Identifier: GPL-2.0

//! Reading `/sys/kernel/markers/control`: every marker, sorted by name,
//! each followed by its sites (the format is in
//! `Documentation/ABI/testing/sysfs-kernel-markers`).
//!
//! The listing can be far larger than a page (about 100 bytes a site), so
//! `control` is a binary attribute read at any offset. The listing is built
//! whole when a reader starts at offset 0, kept for that open file while it
//! reads on, and freed at its end: a reader sees one consistent listing.

use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::bindings;
use kernel::prelude::*;
use kernel::str::BStr;

use super::{state_str, symbol};
use crate::marker::Marker;
use crate::registry::{MarkedSite, Registry, FOLLOW, ON};
use crate::text::RETIRED;

/// A listing being read, by the open file reading it.
struct Cached {
    file: usize,
    text: KVVec<u8>,
}

/// The last listing built, taken out while a read uses it: concurrent
/// readers of other files just build their own.
static CACHE: AtomicPtr<Cached> = AtomicPtr::new(core::ptr::null_mut());

fn take() -> Option<KBox<Cached>> {
    let p = CACHE.swap(core::ptr::null_mut(), Ordering::AcqRel);
    // SAFETY: a non-null `CACHE` came from `KBox::into_raw` in `put`, and
    // the swap made it ours.
    (!p.is_null()).then(|| unsafe { KBox::from_raw(p) })
}

fn put(c: KBox<Cached>) {
    let old = CACHE.swap(KBox::into_raw(c), Ordering::AcqRel);
    if !old.is_null() {
        // SAFETY: as in `take`.
        drop(unsafe { KBox::from_raw(old) });
    }
}

/// Frees the listing kept, at module exit.
pub(super) fn free_cache() {
    drop(take());
}

/// A `fmt::Write` appending to a growing buffer; remembers a failed
/// allocation.
struct Out {
    text: KVVec<u8>,
    failed: bool,
}

impl Out {
    fn bytes(&mut self, s: &[u8]) -> core::fmt::Result {
        if self.failed || self.text.extend_from_slice(s, GFP_KERNEL).is_err() {
            self.failed = true;
            return Err(core::fmt::Error);
        }
        Ok(())
    }

    /// Appends `s` quoted, escaping what is not printable ASCII.
    fn quoted(&mut self, s: &[u8]) -> core::fmt::Result {
        self.bytes(b"\"")?;
        for &c in s {
            match c {
                b'"' => self.bytes(b"\\\"")?,
                b'\\' => self.bytes(b"\\\\")?,
                b'\n' => self.bytes(b"\\n")?,
                b'\t' => self.bytes(b"\\t")?,
                0x20..=0x7e => self.bytes(&[c])?,
                _ => write!(self, "\\x{:02x}", c)?,
            }
        }
        self.bytes(b"\"")
    }
}

impl super::Bytes for Out {
    fn put(&mut self, b: &[u8]) -> core::fmt::Result {
        self.bytes(b)
    }
}

impl Write for Out {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.bytes(s.as_bytes())
    }
}

/// Builds the listing.
fn build(r: &Registry) -> Result<KVVec<u8>> {
    // Markers by name, sites by (marker, id): sorted indices, so that the
    // walk is O(n log n) whatever the numbers.
    let mut order = KVVec::with_capacity(r.markers.len(), GFP_KERNEL)?;
    for i in 0..r.markers.len() {
        order.push(i, GFP_KERNEL)?;
    }
    order.sort_unstable_by(|&a, &b| r.markers[a].name.cmp(&r.markers[b].name));
    let nsites = r.sites().count();
    let mut sites: KVVec<(&CStr, &MarkedSite)> = KVVec::with_capacity(nsites, GFP_KERNEL)?;
    for x in r.sites() {
        sites.push(x, GFP_KERNEL)?;
    }
    sites.sort_unstable_by_key(|(_, s)| (s.marker as usize, s.id));
    let mut out = Out {
        text: KVVec::new(),
        failed: false,
    };
    let mut sym = KVec::from_elem(0u8, 512, GFP_KERNEL)?;
    let _ = writeln!(
        out,
        "# markers ABI {}: {} markers, {} sites",
        crate::ABI_VERSION,
        r.markers.len(),
        nsites
    );
    let _ = writeln!(out, "# probes: {}", r.probes.len());
    for &i in order.iter() {
        let m = &*r.markers[i];
        let _ = marker_line(&mut out, r, m);
        let mp = m as *const Marker as usize;
        let first = sites.partition_point(|(_, s)| (s.marker as usize) < mp);
        for (module, s) in sites[first..]
            .iter()
            .take_while(|(_, s)| s.marker as usize == mp)
        {
            let _ = site_line(&mut out, m, module, s, &mut sym);
        }
    }
    for q in r.probes.iter() {
        let _ = write!(out, "probe {} ", BStr::from_bytes(&q.name));
        let _ = super::probe_line(&mut out, r, q, &mut sym);
    }
    if out.failed {
        return Err(ENOMEM);
    }
    Ok(out.text)
}

fn marker_line(out: &mut Out, r: &Registry, m: &Marker) -> core::fmt::Result {
    let state = if !m.loaded() {
        "pending"
    } else if m.armed() {
        "on"
    } else {
        "off"
    };
    let nprobes = r
        .probes
        .iter()
        .filter(|q| q.name.as_slice() == m.name.as_slice())
        .count();
    write!(
        out,
        "marker {} {} enable={} print={} sites={} hits={} probes={} sig=",
        BStr::from_bytes(&m.name),
        state,
        u8::from(m.explicit),
        u8::from(r.has_print(&m.name)),
        m.nsites,
        r.hits(m),
        nprobes,
    )?;
    out.bytes(if m.loaded() { m.sig_str() } else { b"?" })?;
    out.bytes(b" format=")?;
    out.quoted(&m.format)?;
    out.bytes(b"\n")
}

fn site_line(
    out: &mut Out,
    m: &Marker,
    module: &CStr,
    s: &MarkedSite,
    sym: &mut [u8],
) -> core::fmt::Result {
    let st = s.site.state.load(Ordering::Relaxed);
    write!(
        out,
        "site {}/{} {} ",
        BStr::from_bytes(&m.name),
        s.id,
        BStr::from_bytes(module.as_bytes())
    )?;
    if st & RETIRED != 0 && s.site.init {
        out.bytes(b"-")?;
    } else {
        let loc = symbol(s.site.addr, sym);
        // The module is a column of its own: drop `%pS`'s " [module]".
        let end = loc.iter().position(|&c| c == b' ').unwrap_or(loc.len());
        out.bytes(&loc[..end])?;
    }
    writeln!(
        out,
        " {} enable={} override={} init={}",
        state_str(st),
        u8::from(s.wanted()),
        match s.over.get() {
            FOLLOW => "-",
            ON => "on",
            _ => "off",
        },
        u8::from(s.site.init)
    )
}

/// `read` of `control`: `count` bytes of the listing at `pos`.
///
/// # Safety
///
/// Called by sysfs with `count` writable bytes at `buf`.
pub(super) unsafe extern "C" fn read(
    file: *mut bindings::file,
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::bin_attribute,
    buf: *mut u8,
    pos: bindings::loff_t,
    count: usize,
) -> isize {
    let Ok(pos) = usize::try_from(pos) else {
        return EINVAL.to_errno() as isize;
    };
    let c = match take() {
        Some(c) if pos != 0 && c.file == file as usize => c,
        _ => {
            let text = match crate::with_registry(|r| build(r)) {
                Ok(Ok(t)) => t,
                Ok(Err(e)) | Err(e) => return e.to_errno() as isize,
            };
            match KBox::new(
                Cached {
                    file: file as usize,
                    text,
                },
                GFP_KERNEL,
            ) {
                Ok(c) => c,
                Err(_) => return ENOMEM.to_errno() as isize,
            }
        }
    };
    if pos >= c.text.len() {
        // The end: the listing goes.
        return 0;
    }
    let n = count.min(c.text.len() - pos);
    // SAFETY: sysfs passes `count` writable bytes; `pos + n` is within the
    // listing.
    unsafe { core::ptr::copy_nonoverlapping(c.text.as_ptr().add(pos), buf.cast::<u8>(), n) };
    put(c);
    // CAST: at most `count`, which sysfs bounds by a page.
    n as isize
}
