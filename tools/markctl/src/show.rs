// SPDX-License-Identifier: GPL-2.0

//! `markctl show NAME`: everything about one marker, from its directory.

use std::io::Write;

use serde::Serialize;

use crate::error::Result;
use crate::listing::{escape, Listing};
use crate::output::{table, write_json, write_lines};
use crate::tree::{MarkerDir, Tree};

/// `show --json`: the marker's files, plus its state and print flag from the
/// listing (absent if the listing does not have it).
#[derive(Debug, Serialize)]
struct ShowView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    print: Option<bool>,
    #[serde(flatten)]
    dir: &'a MarkerDir,
}

/// Runs `show`.
pub fn run(tree: &Tree, name: &str, json: bool, out: &mut dyn Write) -> Result<()> {
    let dir = tree.marker_dir(name)?;
    // The state (on/off/pending) and the print flag are only in the listing.
    let listing = tree.listing().ok();
    let entry = listing.as_ref().and_then(|l: &Listing| l.marker(name));
    let view = ShowView {
        state: entry.map(|m| m.state.as_str()),
        print: entry.map(|m| m.print),
        dir: &dir,
    };
    if json {
        return write_json(out, &view);
    }
    write_lines(out, &render(&view))
}

fn render(v: &ShowView) -> Vec<String> {
    let d = v.dir;
    let none = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let mut rows = vec![vec!["marker:".to_string(), d.name.clone()]];
    if let Some(state) = v.state {
        rows.push(vec!["state:".into(), state.into()]);
    }
    rows.push(vec!["enable:".into(), u8::from(d.enable).to_string()]);
    if let Some(print) = v.print {
        rows.push(vec!["print:".into(), u8::from(print).to_string()]);
    }
    rows.push(vec!["signature:".into(), none(&d.signature)]);
    rows.push(vec!["format:".into(), format!("\"{}\"", escape(&d.format))]);
    rows.push(vec!["modules:".into(), none(&d.modules.join(" "))]);
    rows.push(vec!["hits:".into(), d.hits.to_string()]);
    let mut out = table(&rows);
    out.push(format!("probes: {}", d.probes.len()));
    let probes: Vec<Vec<String>> = d
        .probes
        .iter()
        .map(|p| {
            vec![
                p.owner.clone(),
                p.handler_demangled.clone(),
                p.state.clone(),
                p.flags.clone(),
            ]
        })
        .collect();
    out.extend(table(&probes).into_iter().map(|l| format!("    {l}")));
    out.push(format!("sites: {}", d.sites.len()));
    let sites: Vec<Vec<String>> = d
        .sites
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                s.location_demangled.clone(),
                s.state.clone(),
                format!("enable={}", u8::from(s.enable)),
            ]
        })
        .collect();
    out.extend(table(&sites).into_iter().map(|l| format!("    {l}")));
    out
}
