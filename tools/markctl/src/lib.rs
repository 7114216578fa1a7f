// SPDX-License-Identifier: GPL-2.0

//! `markctl`, the operator's tool for the static markers of markers.ko.
//!
//! It reads and writes the sysfs tree described in
//! `Documentation/ABI/testing/sysfs-kernel-markers` (by default
//! `/sys/kernel/markers`, or `--root DIR`, or `MARKCTL_ROOT`):
//!
//! * `list`, `stats` and `watch` parse the `control` listing
//!   ([`listing`]), read whole in one go;
//! * `enable` and `disable` write one batch of commands to `control` in one
//!   `write(2)` ([`switch`]);
//! * `show` reads one marker's directory ([`tree`]).
//!
//! Rust symbols in code locations are demangled with `rustc-demangle`
//! ([`symbol`]).  Every command takes `--json`.  Errors map to the exit codes
//! of [`error`].  The user's guide is `Documentation/markctl.rst`.

#![deny(missing_docs)]

pub mod cli;
pub mod error;
pub mod list;
pub mod listing;
pub mod output;
pub mod select;
pub mod show;
pub mod stats;
pub mod switch;
pub mod symbol;
pub mod tree;

use std::io::Write;

use cli::{Cli, Command, SwitchArgs};
use error::{Privilege, Result};
use output::{out_error, write_json, write_lines};
use tree::{ControlWriter, Tree};

/// Where a command's output goes, and how it reaches the kernel.
pub struct Context<'a> {
    /// Standard output.
    pub out: &'a mut dyn Write,
    /// Standard error (notes for the operator).
    pub err: &'a mut dyn Write,
    /// Writes batches to `control` ([`tree::FileControl`] outside tests).
    pub control: &'a mut dyn ControlWriter,
    /// Whether standard output is a terminal (`watch` redraws in place).
    pub tty: bool,
    /// Who runs the process, asked after a write failed with `EPERM`.
    pub privilege: fn() -> Privilege,
}

/// Runs the command of `cli`.
pub fn run(cli: &Cli, ctx: &mut Context) -> Result<()> {
    let tree = Tree::new(&cli.root);
    tree.check_loaded()?;
    match &cli.command {
        Command::List(args) => list::run(args, &tree.listing()?, cli.json, ctx.out),
        Command::Show(args) => show::run(&tree, &args.name, cli.json, ctx.out),
        Command::Stats(args) => stats::run_stats(&tree, args, cli.json, ctx.out),
        Command::Watch(args) => stats::run_watch(&tree, args, cli.json, ctx.tty, ctx.out),
        Command::Enable(args) => run_switch(&tree, args, true, cli.json, ctx),
        Command::Disable(args) => run_switch(&tree, args, false, cli.json, ctx),
    }
}

/// `enable --json` and `disable --json`: the batch, and whether it was
/// written (`false` with `--dry-run`).
#[derive(Debug, serde::Serialize)]
struct SwitchView<'a> {
    written: bool,
    batch: String,
    lines: &'a [String],
    notes: &'a [String],
}

/// Runs `enable` (`on`) or `disable`: plans the batch from the listing, then
/// writes it in one `write(2)`, unless `--dry-run`.
fn run_switch(
    tree: &Tree,
    args: &SwitchArgs,
    on: bool,
    json: bool,
    ctx: &mut Context,
) -> Result<()> {
    let batch = switch::plan(args, on, &tree.listing()?)?;
    let text = batch.text();
    if !args.dry_run {
        tree.write_batch(ctx.control, &text, ctx.privilege)?;
    }
    if json {
        return write_json(
            ctx.out,
            &SwitchView {
                written: !args.dry_run,
                batch: text,
                lines: &batch.lines,
                notes: &batch.notes,
            },
        );
    }
    for note in &batch.notes {
        writeln!(ctx.err, "markctl: note: {note}").map_err(out_error)?;
    }
    if args.dry_run {
        write_lines(ctx.out, &batch.lines)?;
    }
    Ok(())
}
