// SPDX-License-Identifier: GPL-2.0

//! Code locations as the kernel's `%pS` prints them, and Rust demangling.
//!
//! The kernel prints `symbol+0xoff/0xsize`, with the mangled name of Rust
//! functions (v0 `_RNv...` or legacy `_ZN...E`).  [`demangle`] turns those
//! into paths (`markers_sample::tick`) with `rustc-demangle`, leaving C
//! symbols as they are; [`Location::demangled`] keeps the `+0xoff/0xsize`
//! suffix.

use serde::Serialize;

/// `symbol+0xoff/0xsize`: a code location without its module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The symbol as the kernel prints it (mangled for Rust).
    pub symbol: String,
    /// The offset in the symbol, as printed (`0x1c`).
    pub offset: String,
    /// The size of the symbol, as printed (`0x80`).
    pub size: String,
}

impl Location {
    /// Parses `symbol+0xoff/0xsize`.
    pub fn parse(s: &str) -> Option<Location> {
        let (symbol, rest) = s.rsplit_once('+')?;
        let (offset, size) = rest.split_once('/')?;
        parse_hex(offset)?;
        parse_hex(size)?;
        if symbol.is_empty() {
            return None;
        }
        Some(Location {
            symbol: symbol.to_string(),
            offset: offset.to_string(),
            size: size.to_string(),
        })
    }

    /// The offset as a number.
    pub fn offset_value(&self) -> u64 {
        parse_hex(&self.offset).unwrap_or(0)
    }

    /// The demangled symbol (the symbol itself for C).
    pub fn demangled_symbol(&self) -> String {
        demangle(&self.symbol)
    }

    /// `demangled+0xoff/0xsize`.
    pub fn demangled(&self) -> String {
        format!("{}+{}/{}", self.demangled_symbol(), self.offset, self.size)
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}+{}/{}", self.symbol, self.offset, self.size)
    }
}

/// Parses `0x1c` (lowercase or uppercase hex digits; the `0x` is required).
pub fn parse_hex(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// Demangles a Rust symbol, without hashes and crate disambiguators
/// (`markers_sample::tick`); any other symbol is returned unchanged.
pub fn demangle(symbol: &str) -> String {
    match rustc_demangle::try_demangle(symbol) {
        Ok(d) => format!("{d:#}"),
        Err(_) => symbol.to_string(),
    }
}

/// Demangles the location of a `%pS` string that may end in ` [module]`
/// (`sites/ID/location`, handlers in `probes`): `(freed init text) [m]` and
/// other text that is not a location pass through.
pub fn demangle_pss(s: &str) -> String {
    let (loc, module) = match s.split_once(' ') {
        Some((loc, module)) => (loc, Some(module)),
        None => (s, None),
    };
    match (Location::parse(loc), module) {
        (Some(l), Some(m)) => format!("{} {m}", l.demangled()),
        (Some(l), None) => l.demangled(),
        (None, _) => s.to_string(),
    }
}

/// Whether the symbol `wanted`, as an operator typed it, names the kernel
/// symbol `mangled`: the mangled name itself, its demangled path (with or
/// without hashes), or the last `::` components of that path.
pub fn symbol_matches(wanted: &str, mangled: &str) -> bool {
    if wanted == mangled {
        return true;
    }
    let Ok(d) = rustc_demangle::try_demangle(mangled) else {
        return false;
    };
    [format!("{d:#}"), format!("{d}")].iter().any(|path| {
        path == wanted
            || path
                .strip_suffix(wanted)
                .is_some_and(|head| head.ends_with("::"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const V0: &str = "_RNvCs1234abcd_14markers_sample4tick";
    const V0_NESTED: &str = "_RNvNtCs1234abcd_14markers_sample6module4tick";
    const LEGACY: &str = "_ZN14markers_sample4tick17h0123456789abcdefE";

    #[test]
    fn demangles_rust_passes_c() {
        assert_eq!(demangle(V0), "markers_sample::tick");
        assert_eq!(demangle(V0_NESTED), "markers_sample::module::tick");
        assert_eq!(demangle(LEGACY), "markers_sample::tick");
        assert_eq!(demangle("netsim_rx"), "netsim_rx");
        assert_eq!(
            demangle(&format!("{V0_NESTED}.llvm.1234")),
            "markers_sample::module::tick"
        );
    }

    #[test]
    fn locations() {
        let l = Location::parse(&format!("{V0}+0x1c/0x80")).unwrap();
        assert_eq!(l.symbol, V0);
        assert_eq!(l.offset_value(), 0x1c);
        assert_eq!(l.demangled(), "markers_sample::tick+0x1c/0x80");
        assert_eq!(l.to_string(), format!("{V0}+0x1c/0x80"));
        assert!(Location::parse("rx+1c/0x80").is_none());
        assert!(Location::parse("rx").is_none());
        assert!(Location::parse("+0x1/0x2").is_none());
        assert_eq!(
            demangle_pss(&format!("{LEGACY}+0x4/0x10 [markers_sample]")),
            "markers_sample::tick+0x4/0x10 [markers_sample]"
        );
        assert_eq!(
            demangle_pss("(freed init text) [netsim]"),
            "(freed init text) [netsim]"
        );
        assert_eq!(demangle_pss("rx+0x4/0x10"), "rx+0x4/0x10");
    }

    #[test]
    fn operator_symbols() {
        assert!(symbol_matches(V0_NESTED, V0_NESTED));
        assert!(symbol_matches("markers_sample::module::tick", V0_NESTED));
        assert!(symbol_matches("module::tick", V0_NESTED));
        assert!(symbol_matches("tick", V0_NESTED));
        assert!(!symbol_matches("ick", V0_NESTED));
        assert!(!symbol_matches("sample::module::tick", V0_NESTED));
        assert!(symbol_matches("tick", LEGACY));
        assert!(symbol_matches(
            "markers_sample::tick::h0123456789abcdef",
            LEGACY
        ));
        assert!(symbol_matches("netsim_rx", "netsim_rx"));
        assert!(!symbol_matches("rx", "netsim_rx"));
    }
}
