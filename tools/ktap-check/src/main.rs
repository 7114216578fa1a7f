// SPDX-License-Identifier: GPL-2.0

//! `ktap-check [--timed-out] [--verbose] [--expect-cpus N] LOGFILE`
//!
//! Reads a test VM's serial console log, prints one line per result and per
//! harness failure, then `N passed, M failed[, K skipped]`.  Exit status: 0
//! if nothing failed and something passed, 1 otherwise, 2 on a usage error
//! or an unreadable log.

use std::io::Write as _;
use std::process::ExitCode;

use ktap_check::{check, parse_args, USAGE};

fn main() -> ExitCode {
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let cli = match args
        .map_err(|a| format!("argument is not UTF-8: {a:?}"))
        .and_then(parse_args)
    {
        Ok(Some(cli)) => cli,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ktap-check: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&cli.path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ktap-check: cannot read {}: {e}", cli.path);
            return ExitCode::from(2);
        }
    };
    // Serial consoles may deliver garbage bytes; do not give up on them.
    let report = check(&String::from_utf8_lossy(&bytes), &cli.options);
    // Ignore write errors (e.g. a closed pipe): the exit status still tells.
    let _ = std::io::stdout()
        .lock()
        .write_all(report.render(cli.verbose).as_bytes());
    ExitCode::from(report.exit_code())
}
