// SPDX-License-Identifier: GPL-2.0

//! `markctl stats` and `markctl watch`: hits per marker and their rates.
//!
//! Both read the hits of every marker from one read of the listing, wait,
//! read them again, and divide the difference by the time measured between
//! the two reads.  A count that went down (someone wrote `0` to `hits`)
//! counts from zero; a marker that was not there at the first read has no
//! rate.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::{StatsArgs, WatchArgs};
use crate::error::{Error, Result};
use crate::output::{out_error, table, write_json, write_lines};
use crate::select::Patterns;
use crate::tree::Tree;

/// One read of the hits of the selected markers.
#[derive(Debug, Clone)]
struct Sample {
    at: Instant,
    hits: Vec<(String, u64)>,
}

/// The hits of one marker, and its rate (`stats --json`, `watch --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The marker's name.
    pub name: String,
    /// Its hits at the last read.
    pub hits: u64,
    /// Hits between the two reads (`null` without a first read).
    pub delta: Option<u64>,
    /// Hits per second between the two reads (`null` without a first read).
    pub rate: Option<f64>,
}

/// One refresh (`stats --json` prints one, `watch --json` one per refresh).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The refresh number, from 1 (`watch` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<u64>,
    /// The interval asked for, in seconds.
    pub interval: f64,
    /// The time measured between the two reads, in seconds (`null` for
    /// counts only).
    pub elapsed: Option<f64>,
    /// One row per marker, sorted by name.
    pub markers: Vec<Row>,
}

/// Reads the hits of the markers matching `patterns`.  On the `first` read
/// a pattern that matches no marker is an error; later, a marker may go away
/// (its module unloaded) and come back.
fn sample(tree: &Tree, patterns: &Patterns, first: bool) -> Result<Sample> {
    let listing = tree.listing()?;
    let at = Instant::now();
    let markers = if first {
        patterns.select(&listing)?
    } else {
        patterns.filter(&listing)
    };
    let hits = markers
        .into_iter()
        .map(|m| (m.name.clone(), m.hits))
        .collect();
    Ok(Sample { at, hits })
}

/// The rows between two reads (counts only without `before`).
fn report(before: Option<&Sample>, after: &Sample, interval: f64) -> Report {
    let elapsed = before.map(|b| after.at.duration_since(b.at).as_secs_f64());
    let old: HashMap<&str, u64> = before
        .map(|b| b.hits.iter().map(|(n, h)| (n.as_str(), *h)).collect())
        .unwrap_or_default();
    let markers = after
        .hits
        .iter()
        .map(|(name, hits)| {
            let delta = old
                .get(name.as_str())
                .map(|&o| if *hits >= o { hits - o } else { *hits });
            Row {
                name: name.clone(),
                hits: *hits,
                delta,
                // CAST: a rate is an estimate; u64 to f64 rounding is fine.
                rate: delta.zip(elapsed).map(|(d, e)| d as f64 / e.max(1e-9)),
            }
        })
        .collect();
    Report {
        refresh: None,
        interval,
        elapsed,
        markers,
    }
}

fn render(r: &Report) -> Vec<String> {
    let mut rows = vec![vec!["NAME".to_string(), "HITS".to_string()]];
    if r.elapsed.is_some() {
        rows[0].extend(["DELTA".to_string(), "RATE/s".to_string()]);
    }
    for m in &r.markers {
        let mut row = vec![m.name.clone(), m.hits.to_string()];
        if r.elapsed.is_some() {
            row.push(m.delta.map_or("-".into(), |d| d.to_string()));
            row.push(m.rate.map_or("-".into(), |r| format!("{r:.1}")));
        }
        rows.push(row);
    }
    table(&rows)
}

fn duration(secs: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(secs)
        .map_err(|_| Error::usage(format!("bad {what} {secs}: give seconds, like 1 or 0.5")))
}

/// Runs `stats`.
pub fn run_stats(tree: &Tree, args: &StatsArgs, json: bool, out: &mut dyn Write) -> Result<()> {
    let interval = duration(args.interval, "interval")?;
    let patterns = Patterns::new(&args.patterns)?;
    let first = sample(tree, &patterns, true)?;
    let report = if interval.is_zero() {
        report(None, &first, 0.0)
    } else {
        std::thread::sleep(interval);
        report(
            Some(&first),
            &sample(tree, &patterns, false)?,
            args.interval,
        )
    };
    if json {
        write_json(out, &report)
    } else {
        write_lines(out, &render(&report))
    }
}

/// Runs `watch`: on a terminal (`tty`) each refresh redraws the screen;
/// otherwise refreshes follow each other, separated by blank lines.
pub fn run_watch(
    tree: &Tree,
    args: &WatchArgs,
    json: bool,
    tty: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let interval = duration(args.interval, "interval")?;
    if interval.is_zero() {
        return Err(Error::usage("watch needs an interval above 0"));
    }
    let patterns = Patterns::new(&args.patterns)?;
    let mut before = sample(tree, &patterns, true)?;
    let mut refresh = 0;
    while args.count.is_none_or(|c| refresh < c) {
        std::thread::sleep(interval);
        let after = sample(tree, &patterns, false)?;
        refresh += 1;
        let mut r = report(Some(&before), &after, args.interval);
        r.refresh = Some(refresh);
        if json {
            write_json(out, &r)?;
        } else {
            let head = format!(
                "markctl watch: every {}s, refresh {refresh}{}",
                args.interval,
                if tty { " (Ctrl-C quits)" } else { "" }
            );
            if tty {
                // Home, clear the screen.
                write!(out, "\x1b[H\x1b[2J").map_err(out_error)?;
            } else if refresh > 1 {
                writeln!(out).map_err(out_error)?;
            }
            write_lines(out, &[head])?;
            write_lines(out, &render(&r))?;
            out.flush().map_err(out_error)?;
        }
        before = after;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        let t0 = Instant::now();
        let before = Sample {
            at: t0,
            hits: vec![("a".into(), 10), ("b".into(), 100)],
        };
        let after = Sample {
            at: t0 + Duration::from_secs(2),
            hits: vec![("a".into(), 30), ("b".into(), 4), ("c".into(), 7)],
        };
        let r = report(Some(&before), &after, 2.0);
        assert_eq!(r.elapsed, Some(2.0));
        assert_eq!(r.markers[0].delta, Some(20));
        assert_eq!(r.markers[0].rate, Some(10.0));
        // Reset to 0 in between: counts from zero.
        assert_eq!(r.markers[1].delta, Some(4));
        assert_eq!(r.markers[2].delta, None);
        assert_eq!(r.markers[2].rate, None);
        let text = render(&r);
        assert_eq!(text[0], "NAME  HITS  DELTA  RATE/s");
        assert_eq!(text[1], "a     30    20     10.0");
        assert_eq!(text[3], "c     7     -      -");
        let counts = report(None, &after, 0.0);
        assert_eq!(render(&counts)[1], "a     30");
        assert!(counts.markers.iter().all(|m| m.rate.is_none()));
    }
}
