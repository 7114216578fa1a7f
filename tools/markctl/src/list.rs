// SPDX-License-Identifier: GPL-2.0

//! `markctl list`: one row per marker of the listing, optionally with its
//! sites.

use std::io::Write;

use serde::Serialize;

use crate::cli::ListArgs;
use crate::error::Result;
use crate::listing::{Listing, Marker, Site};
use crate::output::{table, write_json, write_lines};
use crate::select::Patterns;

/// A marker in `list --json`.
#[derive(Debug, Serialize)]
pub struct MarkerView<'a> {
    /// The marker's fields.
    #[serde(flatten)]
    pub marker: &'a Marker,
    /// Its sites (only with `--sites`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sites: Option<Vec<SiteView<'a>>>,
}

/// A site in `list --sites --json`.
#[derive(Debug, Serialize)]
pub struct SiteView<'a> {
    /// The site's fields.
    #[serde(flatten)]
    pub site: &'a Site,
    /// `demangled+0xoff/0xsize` (the location as it is when it is not of
    /// that form), or `null` for freed init text.
    pub location_demangled: Option<String>,
}

/// The whole of `list --json`.
#[derive(Debug, Serialize)]
struct ListView<'a> {
    abi: u32,
    markers: Vec<MarkerView<'a>>,
}

/// Runs `list`.
pub fn run(args: &ListArgs, listing: &Listing, json: bool, out: &mut dyn Write) -> Result<()> {
    let patterns = Patterns::new(&args.patterns)?;
    let module = args
        .module
        .as_ref()
        .map(|m| Patterns::new(std::slice::from_ref(m)))
        .transpose()?;
    let in_module = |s: &Site| module.as_ref().is_none_or(|g| g.matches(&s.module));
    let markers: Vec<MarkerView> = patterns
        .select(listing)?
        .into_iter()
        .filter(|m| args.state.is_none_or(|s| m.state == s.as_str()))
        .filter(|m| module.is_none() || m.sites.iter().any(in_module))
        .map(|m| MarkerView {
            marker: m,
            sites: args.sites.then(|| {
                m.sites
                    .iter()
                    .filter(|s| in_module(s))
                    .map(|s| SiteView {
                        site: s,
                        location_demangled: s
                            .location
                            .as_ref()
                            .map(|raw| s.parsed.as_ref().map_or(raw.clone(), |l| l.demangled())),
                    })
                    .collect()
            }),
        })
        .collect();
    if json {
        return write_json(
            out,
            &ListView {
                abi: listing.abi,
                markers,
            },
        );
    }
    write_lines(out, &render(&markers))
}

/// The text of `list`: a table of markers, each followed by its sites
/// indented below it when they are asked for.
fn render(markers: &[MarkerView]) -> Vec<String> {
    let header = [
        "NAME", "STATE", "ENABLE", "PRINT", "SITES", "HITS", "PROBES", "SIG", "FORMAT",
    ];
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    rows.extend(markers.iter().map(|v| {
        let m = v.marker;
        vec![
            m.name.clone(),
            m.state.clone(),
            u8::from(m.enable).to_string(),
            u8::from(m.print).to_string(),
            m.site_count.to_string(),
            m.hits.to_string(),
            m.probes.to_string(),
            if m.signature.is_empty() {
                "-".into()
            } else {
                m.signature.clone()
            },
            format!("\"{}\"", m.format_escaped),
        ]
    }));
    let mut lines = table(&rows).into_iter();
    let mut out: Vec<String> = lines.next().into_iter().collect();
    for (v, line) in markers.iter().zip(lines) {
        out.push(line);
        let Some(sites) = &v.sites else { continue };
        let rows: Vec<Vec<String>> = sites
            .iter()
            .map(|s| {
                let s = s.site;
                vec![
                    format!("{}/{}", s.marker, s.id),
                    s.module.clone(),
                    match (&s.location, &s.parsed) {
                        (_, Some(l)) => l.demangled(),
                        (Some(raw), None) => raw.clone(),
                        (None, None) => "(freed init text)".into(),
                    },
                    s.state.clone(),
                    format!(
                        "enable={} override={}{}",
                        u8::from(s.enable),
                        s.override_.as_deref().unwrap_or("-"),
                        if s.init { " init" } else { "" }
                    ),
                ]
            })
            .collect();
        out.extend(table(&rows).into_iter().map(|l| format!("    {l}")));
    }
    out
}
