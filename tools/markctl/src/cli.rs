// SPDX-License-Identifier: GPL-2.0

//! The command line of `markctl` (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::tree::DEFAULT_ROOT;

/// The exit codes, printed after `--help`.
const EXIT_HELP: &str = "\
Exit status: 0 ok, 1 other error (the kernel refused a batch, see dmesg),
2 usage error, 3 markers.ko not loaded, 4 permission denied (run as root;
or the kernel is locked down), 5 unknown marker or site.
See Documentation/markctl.rst.";

/// The operator's tool for the static markers of markers.ko.
#[derive(Debug, Parser)]
#[command(name = "markctl", version, about, long_about = None, after_help = EXIT_HELP)]
pub struct Cli {
    /// The root of the markers sysfs tree.
    #[arg(long, global = true, env = "MARKCTL_ROOT", default_value = DEFAULT_ROOT)]
    pub root: PathBuf,

    /// Print JSON instead of text (JSON lines for stats and watch).
    #[arg(long, global = true)]
    pub json: bool,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// A `markctl` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List markers: state, enable, sites, hits, probes, signature, format.
    List(ListArgs),
    /// Enable markers, or single sites (one batch written to control).
    Enable(SwitchArgs),
    /// Disable markers, or single sites (one batch written to control).
    Disable(SwitchArgs),
    /// Hits per marker and their rates over an interval.
    Stats(StatsArgs),
    /// Hit rates, refreshed in place.
    Watch(WatchArgs),
    /// Everything about one marker, from its directory.
    Show(ShowArgs),
}

/// A marker state to filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFilter {
    /// Its sites jump to their probes.
    On,
    /// Its sites are NOPs.
    Off,
    /// No loaded module defines it.
    Pending,
}

impl StateFilter {
    /// The word of the listing.
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::On => "on",
            StateFilter::Off => "off",
            StateFilter::Pending => "pending",
        }
    }
}

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Marker names or globs (*, ?, [...]); all markers if none.
    pub patterns: Vec<String>,
    /// Only markers with a site in a module matching this glob (and, with
    /// --sites, only those sites).
    #[arg(long, value_name = "GLOB")]
    pub module: Option<String>,
    /// Only markers in this state.
    #[arg(long)]
    pub state: Option<StateFilter>,
    /// Also list each marker's sites, with demangled locations.
    #[arg(long)]
    pub sites: bool,
}

/// Arguments of `enable` and `disable`.
#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// Marker names or globs (* and ?).  A name no loaded module
    /// defines is a pending enable.
    #[arg(value_name = "NAME|GLOB")]
    pub names: Vec<String>,
    /// Only the sites in modules matching this glob (of the markers named,
    /// or of every marker if none is named).
    #[arg(long, value_name = "GLOB", conflicts_with = "sites")]
    pub module: Option<String>,
    /// One site, on its own: MARKER/ID, or MODULE:SYMBOL+0xOFF where SYMBOL
    /// may be the demangled Rust path or its last components.
    #[arg(long = "site", value_name = "SPEC")]
    pub sites: Vec<String>,
    /// Also attach the built-in print probe (+p) to the markers named.
    #[arg(long, conflicts_with = "no_print")]
    pub print: bool,
    /// Also detach the built-in print probe (-p) from the markers named.
    #[arg(long)]
    pub no_print: bool,
    /// Print the batch instead of writing it.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

/// Arguments of `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Marker names or globs; all markers if none.
    pub patterns: Vec<String>,
    /// Seconds between the two reads of the hits; 0 prints counts only.
    #[arg(long, short = 'i', default_value_t = 1.0, value_name = "SECS")]
    pub interval: f64,
}

/// Arguments of `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Marker names or globs; all markers if none.
    pub patterns: Vec<String>,
    /// Seconds between refreshes (more than 0).
    #[arg(long, short = 'i', default_value_t = 1.0, value_name = "SECS")]
    pub interval: f64,
    /// Stop after this many refreshes (forever if not given).
    #[arg(long, short = 'c', value_name = "N")]
    pub count: Option<u64>,
}

/// Arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The marker's name.
    pub name: String,
}
