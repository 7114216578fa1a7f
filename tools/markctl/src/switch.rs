// SPDX-License-Identifier: GPL-2.0

//! `enable` and `disable`: the batch of commands written to `control`.
//!
//! Every argument becomes one command line, and all of them go to the kernel
//! in one `write(2)`, which it applies as one batch (all or nothing):
//!
//! ```text
//! markctl enable 'sample_*' foo --print    marker sample_* +ep
//!                                          marker foo +ep
//! markctl disable net_rx --module netsim   marker net_rx module netsim -e
//! markctl enable --site netsim:rx+0x1c     site netsim:rx+0x1c +e
//! ```
//!
//! The listing is read first, so that an unknown marker, an unmatched or
//! ambiguous site spec, or a malformed name is reported before anything is
//! written.

use serde::Serialize;

use crate::cli::SwitchArgs;
use crate::error::{Error, Result};
use crate::listing::Listing;
use crate::select::{is_glob, Patterns};
use crate::symbol::{parse_hex, symbol_matches};

/// The kernel refuses a batch of this many bytes or more (E2BIG).
pub const MAX_BATCH: usize = 4096;

/// Marker names the kernel refuses: files of `/sys/kernel/markers`.
pub const RESERVED: [&str; 2] = ["control", "stats"];

/// The longest marker name or glob.
pub const MAX_NAME: usize = 63;

/// The longest module name or glob (`MODULE_NAME_LEN` - 1).
pub const MAX_MODULE: usize = 55;

/// A batch ready to be written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Batch {
    /// The command lines, without newlines.
    pub lines: Vec<String>,
    /// Notes for the operator (pending enables).
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl Batch {
    /// The text written to `control`: every line ended by a newline.
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// Builds the batch of `markctl enable` (`on`) or `markctl disable`.
pub fn plan(args: &SwitchArgs, on: bool, listing: &Listing) -> Result<Batch> {
    let e = if on { '+' } else { '-' };
    if args.names.is_empty() && args.sites.is_empty() && args.module.is_none() {
        return Err(Error::usage(
            "name a marker (or glob), --module GLOB or --site SPEC",
        ));
    }
    let print = match (args.print, args.no_print) {
        (true, _) => Some('+'),
        (_, true) => Some('-'),
        _ => None,
    };
    if print.is_some() && (args.names.is_empty() || args.module.is_some()) {
        return Err(Error::usage(
            "--print and --no-print act on whole markers: name them, without --module or --site",
        ));
    }
    let mut batch = Batch::default();
    if let Some(module) = &args.module {
        check_glob(module, "module glob", true)?;
    }
    for name in &args.names {
        check_marker_target(name, on, print, args.module.as_deref(), listing)
            .map(|note| batch.notes.extend(note))?;
        let module = match &args.module {
            Some(m) => format!(" module {m}"),
            None => String::new(),
        };
        match print {
            Some(p) if p == e => batch.lines.push(format!("marker {name}{module} {e}ep")),
            Some(p) => {
                batch.lines.push(format!("marker {name}{module} {e}e"));
                batch.lines.push(format!("marker {name} {p}p"));
            }
            None => batch.lines.push(format!("marker {name}{module} {e}e")),
        }
    }
    if args.names.is_empty() {
        if let Some(module) = &args.module {
            let glob = Patterns::new(std::slice::from_ref(module))?;
            if !listing.sites().any(|s| glob.matches(&s.module)) {
                return Err(Error::not_found(format!(
                    "no loaded module matching '{module}' has marker sites"
                )));
            }
            batch.lines.push(format!("module {module} {e}e"));
        }
    }
    for spec in &args.sites {
        let site = resolve_site(spec, listing)?;
        batch.lines.push(format!("site {site} {e}e"));
    }
    let len = batch.text().len();
    if len >= MAX_BATCH {
        return Err(Error::other(format!(
            "the batch is too long ({len} bytes; a batch must be shorter than {MAX_BATCH}): \
             split it, or use globs"
        )));
    }
    Ok(batch)
}

/// Checks a name or glob of a marker command as the kernel will resolve it:
/// its characters, and that it matches a marker of the listing, or, for a
/// plain name enabled without `--module` or a print flag, that it makes a
/// pending enable (returns a note).  `print` is the sign of the print flag
/// operation, if any.
fn check_marker_target(
    name: &str,
    on: bool,
    print: Option<char>,
    module: Option<&str>,
    listing: &Listing,
) -> Result<Option<String>> {
    check_glob(name, "marker name", false)?;
    let pattern = Patterns::new(&[name.to_string()])?;
    let matched: Vec<_> = listing
        .markers
        .iter()
        .filter(|m| pattern.matches(&m.name))
        .collect();
    if matched.is_empty() {
        if is_glob(name) {
            return Err(Error::not_found(format!("no marker matches '{name}'")));
        }
        if !on || module.is_some() {
            return Err(Error::not_found(format!("unknown marker '{name}'")));
        }
        if print.is_some() {
            return Err(Error::not_found(format!(
                "no loaded module defines '{name}': the print probe needs a loaded marker"
            )));
        }
        if RESERVED.contains(&name) {
            return Err(Error::usage(format!(
                "'{name}' is a reserved name (a file of /sys/kernel/markers)"
            )));
        }
        return Ok(Some(format!(
            "no loaded module defines '{name}': it is pending, enabled when a module \
             defining it loads"
        )));
    }
    // The kernel refuses the whole batch if "+p" meets a pending marker.
    if print == Some('+') {
        if let Some(m) = matched.iter().find(|m| m.is_pending()) {
            return Err(Error::not_found(format!(
                "marker '{}' is pending: the print probe needs a loaded marker{}",
                m.name,
                if is_glob(name) {
                    " (name the loaded ones)"
                } else {
                    ""
                }
            )));
        }
    }
    if let Some(module) = module {
        let glob = Patterns::new(&[module.to_string()])?;
        if !matched
            .iter()
            .flat_map(|m| m.sites.iter())
            .any(|s| glob.matches(&s.module))
        {
            return Err(Error::not_found(format!(
                "no site of '{name}' in a module matching '{module}'"
            )));
        }
    }
    Ok(None)
}

/// Checks the characters of a marker name or glob (`[A-Za-z0-9_*?]`, 1 to
/// 63 of them), or of a module glob (also `-`, at most 55), as the kernel
/// does.
fn check_glob(s: &str, what: &str, module: bool) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "_*?".contains(c) || (module && c == '-');
    if s.is_empty() || !s.chars().all(ok) {
        return Err(Error::usage(format!(
            "bad {what} '{s}': use letters, digits, '_'{} and the globs '*' and '?'",
            if module { ", '-'" } else { "" }
        )));
    }
    let max = if module { MAX_MODULE } else { MAX_NAME };
    if s.len() > max {
        return Err(Error::usage(format!(
            "bad {what} '{s}': longer than {max} characters"
        )));
    }
    Ok(())
}

/// Resolves a `--site` spec to the selector of a `site` command:
/// `MARKER/ID` as it is, `MODULE:SYMBOL+0xOFF` with the mangled symbol and
/// the offset as the listing prints them.
pub fn resolve_site(spec: &str, listing: &Listing) -> Result<String> {
    let bad = || {
        Error::usage(format!(
            "bad site '{spec}': use MARKER/ID or MODULE:SYMBOL+0xOFF"
        ))
    };
    if let Some((module, location)) = spec.split_once(':') {
        let (symbol, offset) = location.rsplit_once('+').ok_or_else(bad)?;
        let (offset, size) = match offset.split_once('/') {
            Some((o, s)) => (o, Some(parse_hex(s).ok_or_else(bad)?)),
            None => (offset, None),
        };
        let offset = parse_hex(offset).ok_or_else(bad)?;
        if module.is_empty() || symbol.is_empty() || symbol.starts_with(':') {
            return Err(bad());
        }
        let mut found: Vec<String> = listing
            .sites()
            .filter(|s| s.module == module)
            .filter_map(|s| s.parsed.as_ref())
            .filter(|l| l.offset_value() == offset && symbol_matches(symbol, &l.symbol))
            .filter(|l| size.is_none_or(|size| parse_hex(&l.size) == Some(size)))
            .map(|l| format!("{module}:{}+{}", l.symbol, l.offset))
            .collect();
        found.sort();
        found.dedup();
        return match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(Error::not_found(format!(
                "no site at '{spec}' (markctl list --sites --module {module} lists them)"
            ))),
            _ => Err(Error::usage(format!(
                "site '{spec}' is ambiguous: {}; give more of the path, or the mangled name",
                found.join(", ")
            ))),
        };
    }
    let (marker, id) = spec.split_once('/').ok_or_else(bad)?;
    let id: u64 = id.parse().map_err(|_| bad())?;
    check_glob(marker, "marker name", false)?;
    if is_glob(marker) {
        return Err(bad());
    }
    match listing.marker(marker) {
        None => Err(Error::not_found(format!("unknown marker '{marker}'"))),
        Some(m) if !m.sites.iter().any(|s| s.id == id) => {
            Err(Error::not_found(format!("unknown site '{spec}'")))
        }
        Some(_) => Ok(format!("{marker}/{id}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "\
# markers ABI 2: 3 markers, 4 sites
marker later pending enable=1 print=0 sites=0 hits=0 probes=0 sig=? format=\"\"
marker sample_tick on enable=1 print=0 sites=3 hits=5 probes=0 sig=i format=\"%d\"
site sample_tick/0 markers_sample _RNvNtCs1234abcd_14markers_sample5inner4tick+0x1c/0x80 on enable=1 override=- init=0
site sample_tick/1 markers_sample _RNvNtCs1234abcd_14markers_sample5outer4tick+0x1c/0x60 on enable=1 override=- init=0
site sample_tick/2 markers_sample _ZN14markers_sample4init17h0123456789abcdefE+0x8/0x40 on enable=1 override=- init=1
marker net_rx off enable=0 print=0 sites=1 hits=0 probes=0 sig= format=\"\"
site net_rx/0 netsim netsim_rx+0x10/0x40 off enable=0 override=- init=0
";

    fn listing() -> Listing {
        Listing::parse(LISTING).unwrap()
    }

    fn args(names: &[&str]) -> SwitchArgs {
        SwitchArgs {
            names: names.iter().map(|s| s.to_string()).collect(),
            module: None,
            sites: Vec::new(),
            print: false,
            no_print: false,
            dry_run: false,
        }
    }

    #[test]
    fn marker_lines() {
        let b = plan(&args(&["sample_*", "net_rx"]), true, &listing()).unwrap();
        assert_eq!(b.text(), "marker sample_* +e\nmarker net_rx +e\n");
        let b = plan(&args(&["net_rx"]), false, &listing()).unwrap();
        assert_eq!(b.text(), "marker net_rx -e\n");
    }

    #[test]
    fn print_and_module() {
        let mut a = args(&["sample_tick"]);
        a.print = true;
        assert_eq!(
            plan(&a, true, &listing()).unwrap().text(),
            "marker sample_tick +ep\n"
        );
        a.print = false;
        a.no_print = true;
        assert_eq!(
            plan(&a, true, &listing()).unwrap().text(),
            "marker sample_tick +e\nmarker sample_tick -p\n"
        );
        assert_eq!(
            plan(&a, false, &listing()).unwrap().text(),
            "marker sample_tick -ep\n"
        );
        let mut a = args(&["net_*"]);
        a.module = Some("netsim".into());
        assert_eq!(
            plan(&a, true, &listing()).unwrap().text(),
            "marker net_* module netsim +e\n"
        );
        a.print = true;
        assert_eq!(plan(&a, true, &listing()).unwrap_err().code, 2);
        let mut a = args(&[]);
        a.module = Some("net*".into());
        assert_eq!(
            plan(&a, false, &listing()).unwrap().text(),
            "module net* -e\n"
        );
        a.module = Some("nothere".into());
        assert_eq!(plan(&a, false, &listing()).unwrap_err().code, 5);
        let mut a = args(&["sample_tick"]);
        a.module = Some("netsim".into());
        assert_eq!(plan(&a, true, &listing()).unwrap_err().code, 5);
    }

    #[test]
    fn pending_and_unknown() {
        let b = plan(&args(&["brand_new"]), true, &listing()).unwrap();
        assert_eq!(b.text(), "marker brand_new +e\n");
        assert_eq!(b.notes.len(), 1);
        assert_eq!(
            plan(&args(&["brand_new"]), false, &listing())
                .unwrap_err()
                .code,
            5
        );
        assert_eq!(
            plan(&args(&["nope_*"]), true, &listing()).unwrap_err().code,
            5
        );
        assert_eq!(
            plan(&args(&["later"]), false, &listing()).unwrap().text(),
            "marker later -e\n"
        );
        let mut a = args(&["later"]);
        a.print = true;
        assert_eq!(plan(&a, true, &listing()).unwrap_err().code, 5);
        // A glob that takes in a pending marker, with +p.
        let mut a = args(&["*"]);
        a.print = true;
        let e = plan(&a, true, &listing()).unwrap_err();
        assert!(e.message.contains("'later' is pending"), "{}", e.message);
        a.print = false;
        a.no_print = true;
        assert_eq!(
            plan(&a, false, &listing()).unwrap().text(),
            "marker * -ep\n"
        );
        let mut a = args(&["brand_new"]);
        a.no_print = true;
        assert_eq!(plan(&a, true, &listing()).unwrap_err().code, 5);
        assert_eq!(
            plan(&args(&["stats"]), true, &listing()).unwrap_err().code,
            2
        );
        assert_eq!(
            plan(&args(&["control"]), false, &listing())
                .unwrap_err()
                .code,
            5
        );
    }

    #[test]
    fn bad_input() {
        assert_eq!(plan(&args(&[]), true, &listing()).unwrap_err().code, 2);
        for bad in ["a b", "a;b", "x\n", "", "a#", "sample/tick"] {
            assert_eq!(
                plan(&args(&[bad]), true, &listing()).unwrap_err().code,
                2,
                "{bad:?}"
            );
        }
        let long = "a".repeat(64);
        assert_eq!(plan(&args(&[&long]), true, &listing()).unwrap_err().code, 2);
        let mut a = args(&["sample_tick"]);
        a.names = vec!["sample_tick".to_string(); 300];
        let e = plan(&a, true, &listing()).unwrap_err();
        assert!(e.message.contains("too long"), "{}", e.message);
    }

    #[test]
    fn site_specs() {
        let l = listing();
        let ok = |s: &str| resolve_site(s, &l).unwrap();
        let code = |s: &str| resolve_site(s, &l).unwrap_err().code;
        assert_eq!(ok("sample_tick/1"), "sample_tick/1");
        assert_eq!(
            ok("markers_sample:markers_sample::inner::tick+0x1c"),
            "markers_sample:_RNvNtCs1234abcd_14markers_sample5inner4tick+0x1c"
        );
        assert_eq!(
            ok("markers_sample:outer::tick+0x1C"),
            "markers_sample:_RNvNtCs1234abcd_14markers_sample5outer4tick+0x1c"
        );
        assert_eq!(
            ok("markers_sample:_RNvNtCs1234abcd_14markers_sample5outer4tick+0x1c/0x60"),
            "markers_sample:_RNvNtCs1234abcd_14markers_sample5outer4tick+0x1c"
        );
        assert_eq!(
            ok("markers_sample:init+0x8"),
            "markers_sample:_ZN14markers_sample4init17h0123456789abcdefE+0x8"
        );
        assert_eq!(ok("netsim:netsim_rx+0x10"), "netsim:netsim_rx+0x10");
        // Both inner::tick and outer::tick.
        let e = resolve_site("markers_sample:tick+0x1c", &l).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.contains("ambiguous"), "{}", e.message);
        assert_eq!(code("markers_sample:tick+0x1d"), 5);
        assert_eq!(code("markers_sample:inner::tick+0x1c/0x60"), 5);
        assert_eq!(code("netsim:rx+0x10"), 5);
        assert_eq!(code("sample_tick/9"), 5);
        assert_eq!(code("nope/0"), 5);
        for bad in [
            "markers_sample",
            "m:tick",
            "m:tick+1c",
            ":tick+0x1",
            "a/b",
            "a*/1",
        ] {
            assert_eq!(code(bad), 2, "{bad}");
        }
    }

    #[test]
    fn sites_and_markers_in_one_batch() {
        let mut a = args(&["net_rx"]);
        a.sites = vec![
            "markers_sample:inner::tick+0x1c".into(),
            "sample_tick/2".into(),
        ];
        assert_eq!(
            plan(&a, false, &listing()).unwrap().text(),
            "marker net_rx -e\n\
             site markers_sample:_RNvNtCs1234abcd_14markers_sample5inner4tick+0x1c -e\n\
             site sample_tick/2 -e\n"
        );
    }
}
