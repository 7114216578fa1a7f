// SPDX-License-Identifier: GPL-2.0

//! markctl's batches against the kernel's own parser of the control
//! language, `rust/core/control/lang.rs` (compiled here as
//! `tools/control-lang` compiles it): every line markctl writes must parse,
//! mean what markctl meant, and markctl's checks of names and globs must
//! agree with the kernel's.

mod common;

// The parser's other users (the registry) are not here.
#[allow(dead_code)]
#[path = "../../../rust/core/control/lang.rs"]
mod lang;

use clap::Parser as _;
use markctl::cli::{Cli, Command};
use markctl::listing::Listing;
use markctl::select::Patterns;
use markctl::switch::plan;

use common::{LEGACY, LISTING, V0};

/// The batch of `markctl ARGS` on the fake listing, or the exit code.
fn batch(args: &[&str]) -> Result<String, u8> {
    let cli = Cli::try_parse_from(std::iter::once("markctl").chain(args.iter().copied())).unwrap();
    let listing = Listing::parse(LISTING).unwrap();
    let (args, on) = match &cli.command {
        Command::Enable(a) => (a, true),
        Command::Disable(a) => (a, false),
        _ => unreachable!(),
    };
    plan(args, on, &listing)
        .map(|b| b.text())
        .map_err(|e| e.code)
}

/// Parses `text` as the kernel does: every command, as a whole batch.
fn kernel_parse(text: &str) -> Vec<lang::Command<'_>> {
    assert_eq!(lang::bad_byte(text.as_bytes()), None);
    assert!(text.len() < 4096);
    lang::commands(text.as_bytes())
        .map(|(n, line)| {
            lang::parse(line).unwrap_or_else(|e| {
                panic!(
                    "line {n} {:?}: {} ({:?})",
                    String::from_utf8_lossy(line),
                    e.msg,
                    String::from_utf8_lossy(e.word)
                )
            })
        })
        .collect()
}

#[test]
fn marker_batches_parse() {
    let text = batch(&["enable", "sample_*", "net_rx", "brand_new"]).unwrap();
    let cmds = kernel_parse(&text);
    assert_eq!(cmds.len(), 3);
    assert_eq!(cmds[0].marker, Some(&b"sample_*"[..]));
    assert!(cmds.iter().all(|c| !c.on_sites()));
    assert!(cmds
        .iter()
        .all(|c| c.op == lang::Op::Add && c.flags == lang::FLAG_ENABLE));

    let text = batch(&["disable", "sample_tick", "--no-print"]).unwrap();
    let c = kernel_parse(&text)[0];
    assert_eq!(
        (c.op, c.flags),
        (lang::Op::Remove, lang::FLAG_ENABLE | lang::FLAG_PRINT)
    );

    let text = batch(&["enable", "sample_tick", "--no-print"]).unwrap();
    let cmds = kernel_parse(&text);
    assert_eq!(
        cmds[0].op.apply(cmds[0].flags, lang::FLAG_ENABLE),
        Some(true)
    );
    assert_eq!(cmds[0].op.apply(cmds[0].flags, lang::FLAG_PRINT), None);
    assert_eq!(cmds[1].op.apply(cmds[1].flags, lang::FLAG_ENABLE), None);
    assert_eq!(
        cmds[1].op.apply(cmds[1].flags, lang::FLAG_PRINT),
        Some(false)
    );
}

#[test]
fn site_batches_parse() {
    let text = batch(&[
        "disable",
        "--site",
        "markers_sample:markers_sample::tick+0x1c",
        "--site",
        "markers_sample:inner::tick+0x2c/0x90",
        "--site",
        "netsim:netsim_rx+0x10",
        "--site",
        "sample_tick/1",
    ])
    .unwrap();
    let cmds = kernel_parse(&text);
    let sites: Vec<_> = cmds.iter().map(|c| c.site.unwrap()).collect();
    assert_eq!(
        sites,
        [
            lang::SiteSpec::Location {
                module: b"markers_sample",
                symbol: V0.as_bytes(),
                offset: 0x1c
            },
            lang::SiteSpec::Location {
                module: b"markers_sample",
                symbol: LEGACY.as_bytes(),
                offset: 0x2c
            },
            lang::SiteSpec::Location {
                module: b"netsim",
                symbol: b"netsim_rx",
                offset: 0x10
            },
            lang::SiteSpec::Id {
                marker: b"sample_tick",
                id: 1
            },
        ]
    );
    assert!(cmds
        .iter()
        .all(|c| c.on_sites() && c.op == lang::Op::Remove && c.flags == lang::FLAG_ENABLE));

    let text = batch(&["enable", "net_*", "--module", "net*"]).unwrap();
    let c = kernel_parse(&text)[0];
    assert_eq!(
        (c.marker, c.module),
        (Some(&b"net_*"[..]), Some(&b"net*"[..]))
    );
}

#[test]
fn name_checks_agree() {
    let long = "a".repeat(63);
    let too_long = "a".repeat(64);
    let long_glob = format!("{}*", "a".repeat(62));
    let too_long_glob = format!("{}*", "a".repeat(63));
    for name in [
        "a",
        "sample_tick",
        "S_1",
        "*",
        "a?c",
        &long,
        &too_long,
        &long_glob,
        &too_long_glob,
        "",
        "a-b",
        "a b",
        "a;b",
        "a#b",
        "a/b",
        "a[b]",
        "é",
    ] {
        if name.is_empty() {
            continue; // clap gives markctl no empty name to check
        }
        let kernel = lang::valid_marker(name.as_bytes(), true);
        let markctl = batch(&["enable", "--", name]).map_err(|c| c == 2) != Err(true);
        assert_eq!(markctl, kernel, "{name:?}");
    }
}

#[test]
fn module_checks_agree() {
    let long = format!("n{}", "*".repeat(54));
    let too_long = format!("n{}", "*".repeat(55));
    for module in [
        "netsim", "net-sim", "n?t*", &long, &too_long, "a b", "a:b", "a/b",
    ] {
        let text = format!("module {module} +e");
        let kernel = lang::parse(text.as_bytes()).is_ok();
        let markctl = batch(&["enable", "--module", module]).map_err(|c| c == 2) != Err(true);
        assert_eq!(markctl, kernel, "{module:?}");
    }
}

#[test]
fn glob_semantics_agree() {
    let names = [
        "a",
        "ab",
        "abc",
        "sample_tick",
        "sample_",
        "net_rx",
        "x_y_z",
        "",
    ];
    let globs = [
        "*", "a*", "*c", "a?c", "?", "sample_*", "*_*", "**", "a*b*c", "n?t_*x",
    ];
    for g in globs {
        let p = Patterns::new(&[g.to_string()]).unwrap();
        for n in names {
            assert_eq!(
                p.matches(n),
                lang::glob_match(g.as_bytes(), n.as_bytes()),
                "{g} on {n:?}"
            );
        }
    }
}
