// SPDX-License-Identifier: GPL-2.0

//! Selecting markers by name: shell globs, matched with `globset`.

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};
use crate::listing::{Listing, Marker};

/// A set of name patterns; an empty set matches every name.
#[derive(Debug, Clone)]
pub struct Patterns {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Patterns {
    /// Compiles `patterns` (`*`, `?`, `[...]`, `{a,b}`); a malformed one is
    /// a usage error.
    pub fn new(patterns: &[String]) -> Result<Patterns> {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            let glob = Glob::new(p).map_err(|e| Error::usage(format!("bad pattern '{p}': {e}")))?;
            builder.add(glob);
        }
        let set = builder
            .build()
            .map_err(|e| Error::usage(format!("bad pattern: {e}")))?;
        Ok(Patterns {
            patterns: patterns.to_vec(),
            set,
        })
    }

    /// Whether `name` matches (always, for an empty set).
    pub fn matches(&self, name: &str) -> bool {
        self.patterns.is_empty() || self.set.is_match(name)
    }

    /// The markers of `listing` that match.
    pub fn filter<'a>(&self, listing: &'a Listing) -> Vec<&'a Marker> {
        listing
            .markers
            .iter()
            .filter(|m| self.matches(&m.name))
            .collect()
    }

    /// The markers of `listing` that match, failing with exit code 5 when a
    /// pattern matches none.
    pub fn select<'a>(&self, listing: &'a Listing) -> Result<Vec<&'a Marker>> {
        let mut used = vec![false; self.patterns.len()];
        let mut out = Vec::new();
        for m in &listing.markers {
            let hits = self.set.matches(&m.name);
            for &i in &hits {
                used[i] = true;
            }
            if self.patterns.is_empty() || !hits.is_empty() {
                out.push(m);
            }
        }
        if let Some(i) = used.iter().position(|u| !u) {
            let p = &self.patterns[i];
            return Err(Error::not_found(if is_glob(p) {
                format!("no marker matches '{p}'")
            } else {
                format!("unknown marker '{p}'")
            }));
        }
        Ok(out)
    }
}

/// Whether `s` holds glob characters.
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let p = Patterns::new(&["sample_*".into(), "net_r?".into()]).unwrap();
        assert!(p.matches("sample_tick") && p.matches("net_rx") && !p.matches("net_rxx"));
        assert!(Patterns::new(&[]).unwrap().matches("anything"));
        assert_eq!(Patterns::new(&["a[".into()]).unwrap_err().code, 2);
        let text = "# markers ABI 2: 2 markers, 0 sites\n\
                    marker a off enable=0 print=0 sites=0 hits=0 probes=0 sig= format=\"\"\n\
                    marker b off enable=0 print=0 sites=0 hits=0 probes=0 sig= format=\"\"\n";
        let l = Listing::parse(text).unwrap();
        let p = Patterns::new(&["b".into()]).unwrap();
        assert_eq!(p.select(&l).unwrap()[0].name, "b");
        assert_eq!(p.filter(&l).len(), 1);
        let p = Patterns::new(&["b".into(), "c".into()]).unwrap();
        assert_eq!(p.filter(&l).len(), 1);
        let e = p.select(&l).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (5, "unknown marker 'c'"));
    }
}
