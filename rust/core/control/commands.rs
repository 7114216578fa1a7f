// SPDX-License-Identifier: GPL-2.0

//! Writing `/sys/kernel/markers/control`: a batch of commands, parsed
//! whole (`lang.rs`), resolved against the registry one by one in order
//! (a later command sees what an earlier one switched), then committed in
//! one patch pass (`registry/batch.rs`); or, at the first command that is
//! malformed or selects nothing, undone whole, with a log line naming it.

use kernel::bindings;
use kernel::prelude::*;
use kernel::str::BStr;

use super::lang::{self, Command, SiteSpec, SyntaxError, FLAG_ENABLE, FLAG_PRINT};
use super::{may_write, symbol};
use crate::registry::{Registry, OFF, ON};
use crate::section;

/// A command that cannot be applied: the errno and why.
struct Refusal {
    err: Error,
    msg: &'static str,
}

fn refuse<T>(err: Error, msg: &'static str) -> core::result::Result<T, Refusal> {
    Err(Refusal { err, msg })
}

/// `write` of `control`.
///
/// # Safety
///
/// Called by sysfs with `count` readable bytes at `buf`.
pub(super) unsafe extern "C" fn write(
    _file: *mut bindings::file,
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::bin_attribute,
    buf: *mut u8,
    _pos: bindings::loff_t,
    count: usize,
) -> isize {
    // SAFETY: sysfs passes `count` readable bytes.
    let data = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match batch(data) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

fn batch(data: &[u8]) -> Result {
    may_write()?;
    // kernfs hands a write over in pieces of at most a page: one that fills
    // a page may have been cut, and a batch must be applied whole or not.
    if data.len() >= bindings::PAGE_SIZE {
        pr_err!(
            "control: a batch must be shorter than {} bytes: -E2BIG, nothing changed\n",
            bindings::PAGE_SIZE
        );
        return Err(E2BIG);
    }
    if let Some((line, b)) = lang::bad_byte(data) {
        pr_err!(
            "control: line {}: byte {:#04x} is not printable ASCII: -EINVAL, nothing changed\n",
            line,
            b
        );
        return Err(EINVAL);
    }
    let mut cmds: KVec<(usize, Command<'_>)> = KVec::new();
    for (line, text) in lang::commands(data) {
        match lang::parse(text) {
            Ok(c) => cmds.push((line, c), GFP_KERNEL)?,
            Err(SyntaxError { msg, word }) => {
                pr_err!(
                    "control: line {}: {}: '{}': -EINVAL, nothing changed\n",
                    line,
                    msg,
                    BStr::from_bytes(word)
                );
                return Err(EINVAL);
            }
        }
    }
    if cmds.is_empty() {
        pr_err!("control: no command in the write: -EINVAL\n");
        return Err(EINVAL);
    }
    crate::with_registry(|r| apply(r, &cmds))?
}

/// Resolves and applies the commands, or undoes them all.
fn apply(r: &mut Registry, cmds: &[(usize, Command<'_>)]) -> Result {
    let snap = r.snapshot()?;
    let mut sym = KVec::from_elem(0u8, 512, GFP_KERNEL)?;
    for &(line, ref c) in cmds {
        let res = if c.on_sites() {
            sites(r, c, &mut sym)
        } else {
            markers(r, c)
        };
        if let Err(Refusal { err, msg }) = res {
            r.restore(snap);
            pr_err!(
                "control: line {}: {}: {}, nothing changed\n",
                line,
                msg,
                err.to_errno()
            );
            return Err(err);
        }
    }
    match r.commit(snap) {
        Ok(0) => Ok(()),
        Ok(n) => {
            pr_err!(
                "control: {} sites could not be patched (see above): -EIO\n",
                n
            );
            Err(EIO)
        }
        Err(e) => {
            pr_err!(
                "control: the print probes could not be changed: {}\n",
                e.to_errno()
            );
            Err(e)
        }
    }
}

/// A command on markers: their enable and print probe.
fn markers(r: &mut Registry, c: &Command<'_>) -> core::result::Result<(), Refusal> {
    let pat = c.marker.unwrap_or(b"*");
    let enable = c.op.apply(c.flags, FLAG_ENABLE);
    let print = c.op.apply(c.flags, FLAG_PRINT);
    let mut matched = 0;
    for i in 0..r.markers.len() {
        if !lang::glob_match(pat, &r.markers[i].name) {
            continue;
        }
        matched += 1;
        one_marker(r, i, enable, print)?;
    }
    if matched > 0 {
        return Ok(());
    }
    // A pending enable: an exact name, enabled, nothing else asked.
    if lang::is_glob(pat) || enable != Some(true) {
        return refuse(ENOENT, "no marker matches");
    }
    if print == Some(true) {
        return refuse(
            ENOENT,
            "no module defines the marker: the print probe needs its signature",
        );
    }
    if section::reserved_name(pat) {
        return refuse(
            EINVAL,
            "the name is reserved (a file of /sys/kernel/markers)",
        );
    }
    match r.add_pending(pat) {
        Ok(_) => Ok(()),
        Err(e) => refuse(e, "cannot add a pending marker"),
    }
}

fn one_marker(
    r: &mut Registry,
    i: usize,
    enable: Option<bool>,
    print: Option<bool>,
) -> core::result::Result<(), Refusal> {
    if let Some(e) = enable {
        r.set_explicit(i, e);
    }
    let Some(p) = print else {
        return Ok(());
    };
    if !r.markers[i].loaded() {
        if p {
            return refuse(
                ENOENT,
                "a pending marker has no signature: the print probe needs a loaded marker",
            );
        }
        return Ok(());
    }
    // The last command on a marker wins.
    r.markers[i].want_print = Some(p);
    Ok(())
}

/// A command on sites: switches each selected site on or off on its own.
fn sites(r: &Registry, c: &Command<'_>, sym: &mut [u8]) -> core::result::Result<(), Refusal> {
    let want = c.op.apply(c.flags, FLAG_ENABLE);
    let mut matched = 0;
    for (module, s) in r.sites() {
        // SAFETY: the marker outlives its sites.
        let name = unsafe { &(*s.marker).name };
        if c.marker.is_some_and(|p| !lang::glob_match(p, name)) {
            continue;
        }
        if c.module
            .is_some_and(|p| !lang::glob_match(p, module.as_bytes()))
        {
            continue;
        }
        match c.site {
            Some(SiteSpec::Id { marker, id }) if marker != name.as_slice() || id != s.id => {
                continue
            }
            Some(SiteSpec::Location {
                module: m,
                symbol: sy,
                offset,
            }) if m != module.as_bytes() || !at(s.site.addr, sy, offset, sym) => continue,
            _ => {}
        }
        matched += 1;
        if let Some(on) = want {
            s.over.set(if on { ON } else { OFF });
        }
    }
    if matched == 0 {
        return refuse(ENOENT, "no site matches");
    }
    Ok(())
}

/// Whether `addr` is at `symbol+offset`, as `%pS` names it.
fn at(addr: usize, sym: &[u8], offset: usize, buf: &mut [u8]) -> bool {
    let loc = symbol(addr, buf);
    // "symbol+0xoff/0xsize [module]"
    let loc = &loc[..loc.iter().position(|&c| c == b' ').unwrap_or(loc.len())];
    let Some(plus) = loc.iter().rposition(|&c| c == b'+') else {
        return false;
    };
    if &loc[..plus] != sym {
        return false;
    }
    let rest = &loc[plus + 1..];
    let end = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
    let hex = rest[..end].strip_prefix(b"0x").unwrap_or(&rest[..end]);
    let mut v: usize = 0;
    for &c in hex {
        let Some(d) = (c as char).to_digit(16) else {
            return false;
        };
        v = v.wrapping_mul(16).wrapping_add(d as usize);
    }
    v == offset
}
