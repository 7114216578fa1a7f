// SPDX-License-Identifier: GPL-2.0

//! `markctl`: list, enable and watch the static markers of markers.ko.
//!
//! See `Documentation/markctl.rst`, or `markctl --help`.  Exit status: 0 ok,
//! 1 other error, 2 usage error, 3 markers.ko not loaded, 4 permission
//! denied, 5 unknown marker or site.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use markctl::cli::Cli;
use markctl::error::Privilege;
use markctl::tree::FileControl;
use markctl::{run, Context};

fn main() -> ExitCode {
    // clap prints usage errors and exits with 2 itself.
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let mut out = stdout.lock();
    let mut err = std::io::stderr();
    let mut control = FileControl;
    let mut ctx = Context {
        out: &mut out,
        err: &mut err,
        control: &mut control,
        tty,
        privilege: Privilege::current,
    };
    match run(&cli, &mut ctx) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("markctl: {e}");
            }
            ExitCode::from(e.code)
        }
    }
}
