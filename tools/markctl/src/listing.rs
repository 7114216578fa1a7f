// SPDX-License-Identifier: GPL-2.0

//! The listing read from `/sys/kernel/markers/control`.
//!
//! ```text
//! # markers ABI 2: M markers, S sites
//! marker NAME STATE enable=E print=P sites=N hits=H probes=Q sig=SIG format="FMT"
//! site NAME/ID MODULE LOCATION SSTATE enable=W override=O init=I
//! ```
//!
//! [`Listing::parse`] reads it into [`Marker`]s, each holding its [`Site`]s.
//! Other lines (such as the kernel's `probe NAME OWNER HANDLER STATE FLAGS`
//! lines, after the markers) and unknown `key=value` fields are ignored, so
//! that additions to ABI 2 still parse; a header naming another ABI version
//! is refused.  A location that is not `symbol+0xoff/0xsize` is kept as
//! it is.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::symbol::Location;

/// The ABI version of the listing this tool understands.
pub const ABI_VERSION: u32 = 2;

/// A parsed listing: every marker, sorted by name as the kernel prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// The ABI version from the header line.
    pub abi: u32,
    /// The markers, each with its sites.
    pub markers: Vec<Marker>,
}

/// One `marker` line of the listing, and its `site` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Marker {
    /// The marker's name.
    pub name: String,
    /// `on`, `off` or `pending`.
    pub state: String,
    /// The operator's enable (`enable=1`).
    pub enable: bool,
    /// Whether the built-in print probe is attached (`print=1`).
    pub print: bool,
    /// The number of its sites (`sites=N`).
    pub site_count: u64,
    /// Its hits (`hits=H`).
    pub hits: u64,
    /// The number of probes registered on its name (`probes=Q`).
    pub probes: u64,
    /// Its signature letters; empty for no arguments, `?` while pending.
    pub signature: String,
    /// Its format string, unescaped.
    pub format: String,
    /// Its format string as the listing escapes it (without the quotes).
    #[serde(skip)]
    pub format_escaped: String,
    /// Its sites, in listing order.
    #[serde(skip)]
    pub sites: Vec<Site>,
}

/// One `site` line of the listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Site {
    /// The name of its marker.
    pub marker: String,
    /// Its number under `sites/`.
    pub id: u64,
    /// The module holding it.
    pub module: String,
    /// Its location as listed (`symbol+0xoff/0xsize`); `None` for a site
    /// in freed init text (`-`).
    pub location: Option<String>,
    /// Its location parsed; `None` also for a location not of the form
    /// `symbol+0xoff/0xsize`.
    #[serde(skip)]
    pub parsed: Option<Location>,
    /// Its state (`off`, `on`, `broken`, `retired`, `torn`, `patching`).
    pub state: String,
    /// Whether it should jump (`enable=W`).
    pub enable: bool,
    /// `None` when it follows its marker, else `on` or `off`.
    #[serde(rename = "override")]
    pub override_: Option<String>,
    /// Whether it is in init text.
    pub init: bool,
}

impl Marker {
    /// Whether this marker is pending (no loaded module defines it).
    pub fn is_pending(&self) -> bool {
        self.state == "pending"
    }
}

impl Listing {
    /// Parses the whole text of `control`.
    pub fn parse(text: &str) -> Result<Listing> {
        let mut listing = Listing::default();
        let mut header = false;
        for (i, line) in text.lines().enumerate() {
            let bad = |what: &str| Error::other(format!("control line {}: {what}: {line}", i + 1));
            if let Some(rest) = line.strip_prefix("# markers ABI ") {
                let version = rest.split(':').next().unwrap_or("");
                listing.abi = version.trim().parse().map_err(|_| bad("bad header"))?;
                if listing.abi != ABI_VERSION {
                    return Err(Error::other(format!(
                        "control speaks markers ABI {}, markctl knows ABI {ABI_VERSION}: \
                         update markctl",
                        listing.abi
                    )));
                }
                header = true;
            } else if line.starts_with('#') || line.trim().is_empty() {
                continue;
            } else if let Some(rest) = line.strip_prefix("marker ") {
                listing
                    .markers
                    .push(parse_marker(rest).ok_or_else(|| bad("bad marker line"))?);
            } else if let Some(rest) = line.strip_prefix("site ") {
                let site = parse_site(rest).ok_or_else(|| bad("bad site line"))?;
                let marker = listing
                    .markers
                    .iter_mut()
                    .rev()
                    .find(|m| m.name == site.marker)
                    .ok_or_else(|| bad("site of an unlisted marker"))?;
                marker.sites.push(site);
            } else if !header {
                return Err(bad("unknown line before the header"));
            }
            // Other lines (the kernel's `probe` lines, and whatever a later
            // ABI 2 adds) are not needed here.
        }
        if !header {
            return Err(Error::other(
                "control has no '# markers ABI' header: not a markers listing",
            ));
        }
        Ok(listing)
    }

    /// The marker named `name`.
    pub fn marker(&self, name: &str) -> Option<&Marker> {
        self.markers.iter().find(|m| m.name == name)
    }

    /// Every site of every marker.
    pub fn sites(&self) -> impl Iterator<Item = &Site> {
        self.markers.iter().flat_map(|m| m.sites.iter())
    }
}

/// Splits `key=value`.
fn field<'a>(token: &'a str, key: &str) -> Option<&'a str> {
    token.strip_prefix(key)?.strip_prefix('=')
}

/// Parses `0` or `1`.
fn flag(value: &str) -> Option<bool> {
    match value {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// Parses the rest of a `marker` line.
fn parse_marker(rest: &str) -> Option<Marker> {
    let (head, format) = rest.split_once(" format=\"")?;
    let format_escaped = format.strip_suffix('"')?.to_string();
    let mut tokens = head.split(' ');
    let mut m = Marker {
        name: tokens.next().filter(|n| !n.is_empty())?.to_string(),
        state: tokens.next().filter(|s| !s.is_empty())?.to_string(),
        format: unescape(&format_escaped)?,
        format_escaped,
        ..Marker::default()
    };
    let mut seen = 0;
    for token in tokens {
        let (key, value) = token.split_once('=')?;
        match key {
            "enable" => m.enable = flag(value)?,
            "print" => m.print = flag(value)?,
            "sites" => m.site_count = value.parse().ok()?,
            "hits" => m.hits = value.parse().ok()?,
            "probes" => m.probes = value.parse().ok()?,
            "sig" => m.signature = value.to_string(),
            _ => continue,
        }
        seen += 1;
    }
    (seen == 6).then_some(m)
}

/// Parses the rest of a `site` line.
fn parse_site(rest: &str) -> Option<Site> {
    let mut tokens = rest.split_whitespace();
    let (marker, id) = tokens.next()?.rsplit_once('/')?;
    let module = tokens.next()?.to_string();
    let location = match tokens.next()? {
        "-" => None,
        loc => Some(loc.to_string()),
    };
    let mut site = Site {
        marker: marker.to_string(),
        id: id.parse().ok()?,
        module,
        parsed: location.as_deref().and_then(Location::parse),
        location,
        state: tokens.next()?.to_string(),
        ..Site::default()
    };
    let mut seen = 0;
    for token in tokens {
        if let Some(v) = field(token, "enable") {
            site.enable = flag(v)?;
        } else if let Some(v) = field(token, "override") {
            site.override_ = match v {
                "-" => None,
                "on" | "off" => Some(v.to_string()),
                _ => return None,
            };
        } else if let Some(v) = field(token, "init") {
            site.init = flag(v)?;
        } else {
            continue;
        }
        seen += 1;
    }
    (seen == 3).then_some(site)
}

/// Escapes a format string as the listing does: `\\`, `\"`, `\n`, `\t`,
/// and `\xNN` for any other byte outside printable ASCII.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b' '..=b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// Undoes the listing's escapes of a format string: `\\`, `\"`, `\n`, `\t`
/// and `\xNN`.  Bytes that are not UTF-8 become U+FFFD.
pub fn unescape(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next()? {
            b'\\' => out.push(b'\\'),
            b'"' => out.push(b'"'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'x' => {
                let hex = [bytes.next()?, bytes.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
            }
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# markers ABI 2: 3 markers, 3 sites
marker late_one pending enable=1 print=0 sites=0 hits=0 probes=1 sig=? format=\"\"
marker sample_tick on enable=1 print=1 sites=2 hits=42 probes=2 sig=iI format=\"tick %d \\\"%u\\\"\\n\"
site sample_tick/0 markers_sample _RNvCs1234abcd_14markers_sample4tick+0x1c/0x80 on enable=1 override=- init=0
site sample_tick/3 markers_sample - retired enable=1 override=off init=1
marker void_mark off enable=0 print=0 sites=1 hits=0 probes=0 sig= format=\"\\x01\\t\\\\\"
site void_mark/0 netsim rx+0x10/0x40 off enable=0 override=- init=0
";

    #[test]
    fn parses_markers_and_sites() {
        let l = Listing::parse(SAMPLE).unwrap();
        assert_eq!(l.abi, 2);
        assert_eq!(l.markers.len(), 3);
        let p = &l.markers[0];
        assert!(p.is_pending() && p.enable && !p.print);
        assert_eq!((p.signature.as_str(), p.probes), ("?", 1));
        let t = l.marker("sample_tick").unwrap();
        assert_eq!(t.format, "tick %d \"%u\"\n");
        assert_eq!(t.format_escaped, "tick %d \\\"%u\\\"\\n");
        assert_eq!((t.hits, t.site_count, t.probes), (42, 2, 2));
        assert_eq!(t.sites.len(), 2);
        let s = &t.sites[0];
        assert_eq!((s.id, s.module.as_str()), (0, "markers_sample"));
        let loc = s.parsed.as_ref().unwrap();
        assert_eq!(
            s.location.as_deref(),
            Some("_RNvCs1234abcd_14markers_sample4tick+0x1c/0x80")
        );
        assert_eq!(loc.symbol, "_RNvCs1234abcd_14markers_sample4tick");
        assert_eq!(loc.offset, "0x1c");
        assert!(s.override_.is_none() && !s.init && s.enable);
        let r = &t.sites[1];
        assert!(r.location.is_none() && r.parsed.is_none() && r.init);
        assert_eq!(r.override_.as_deref(), Some("off"));
        let v = l.marker("void_mark").unwrap();
        assert_eq!(v.signature, "");
        assert_eq!(v.format, "\u{1}\t\\");
        assert_eq!(l.sites().count(), 3);
    }

    #[test]
    fn tolerates_new_fields_refuses_new_abi() {
        let text = "# markers ABI 2: 1 markers, 0 sites\n\
                    marker a off enable=0 print=0 sites=0 hits=0 probes=0 new=7 sig= format=\"\"\n";
        assert_eq!(Listing::parse(text).unwrap().markers[0].name, "a");
        let err = Listing::parse("# markers ABI 3: 0 markers, 0 sites\n").unwrap_err();
        assert!(err.message.contains("ABI 3"));
        assert!(Listing::parse("").is_err());
        assert!(Listing::parse("bogus\n# markers ABI 2: 0 markers, 0 sites\n").is_err());
        let probes = "# markers ABI 2: 0 markers, 0 sites\n# probes: 1\n\
                      probe foo vmlinux foo_probe+0x0/0x10 pending -\n";
        assert!(Listing::parse(probes).unwrap().markers.is_empty());
        let raw = "# markers ABI 2: 1 markers, 1 sites\n\
                   marker a on enable=1 print=0 sites=1 hits=0 probes=0 sig= format=\"\"\n\
                   site a/0 m 0xffffffffc0001234 on enable=1 override=- init=0\n";
        let l = Listing::parse(raw).unwrap();
        let s = &l.markers[0].sites[0];
        assert_eq!(s.location.as_deref(), Some("0xffffffffc0001234"));
        assert!(s.parsed.is_none());
        let missing = "# markers ABI 2: 1 markers, 0 sites\nmarker a off enable=0 format=\"\"\n";
        assert!(Listing::parse(missing).is_err());
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape("a\\x41\\\\").unwrap(), "aA\\");
        assert!(unescape("\\q").is_none());
        let raw = "a\"b\\c\nd\te\u{1}é";
        assert_eq!(escape(raw), "a\\\"b\\\\c\\nd\\te\\x01\\xc3\\xa9");
        assert_eq!(unescape(&escape(raw)).unwrap(), raw);
        assert!(unescape("\\x4").is_none());
    }
}
