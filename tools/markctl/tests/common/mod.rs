// SPDX-License-Identifier: GPL-2.0

//! A fake `/sys/kernel/markers` in a temporary directory, and a way to run
//! markctl on it with the writes to `control` recorded.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::Parser as _;
use markctl::cli::Cli;
use markctl::error::Privilege;
use markctl::tree::ControlWriter;

/// The `control` listing of the fake tree: a pending marker, a C site, v0
/// and legacy Rust sites, a site in freed init text, and the probe lines
/// markers.ko prints after the markers.
pub const LISTING: &str = r#"# markers ABI 2: 3 markers, 4 sites
# probes: 3
marker late_probe pending enable=1 print=0 sites=0 hits=0 probes=1 sig=? format=""
marker net_rx off enable=0 print=0 sites=1 hits=7 probes=0 sig= format=""
site net_rx/0 netsim netsim_rx+0x10/0x40 off enable=0 override=- init=0
marker sample_tick on enable=1 print=1 sites=3 hits=42 probes=2 sig=iI format="tick %d \"%u\"\n"
site sample_tick/0 markers_sample _RNvCs1234abcd_14markers_sample4tick+0x1c/0x80 on enable=1 override=- init=0
site sample_tick/1 markers_sample _ZN14markers_sample5inner4tick17h0123456789abcdefE+0x2c/0x90 off enable=0 override=off init=0
site sample_tick/3 markers_sample - retired enable=1 override=- init=1
probe late_probe markers_probe _RNvCs5678_13markers_probe4late+0x0/0x20 pending -
probe sample_tick markers probe_print+0x0/0x120 attached -
probe sample_tick markers_probe _RNvCs5678_13markers_probe7on_tick+0x0/0x20 attached enable
"#;

pub const V0: &str = "_RNvCs1234abcd_14markers_sample4tick";
pub const LEGACY: &str = "_ZN14markers_sample5inner4tick17h0123456789abcdefE";

/// A fake tree; removed when dropped.
pub struct Fake {
    pub dir: tempfile::TempDir,
}

fn put(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

impl Fake {
    /// The tree of [`LISTING`], with the directories of its markers.
    pub fn new() -> Fake {
        let fake = Fake {
            dir: tempfile::tempdir().unwrap(),
        };
        let r = fake.root();
        fake.set_listing(LISTING);
        put(
            &r.join("stats"),
            "int3 0\nlate 0\npasses 3\nrewrites 4\nrefused 0\nsyncs 6\n",
        );
        let m = r.join("sample_tick");
        put(&m.join("enable"), "1\n");
        put(&m.join("format"), "tick %d \"%u\"\n\n");
        put(&m.join("signature"), "iI\n");
        put(&m.join("modules"), "markers_sample\n");
        put(
            &m.join("probes"),
            "markers probe_print+0x0/0x120 attached -\n\
             markers_probe _RNvCs5678_13markers_probe7on_tick+0x0/0x20 attached enable\n",
        );
        put(&m.join("hits"), "42\n");
        let sites = [
            (0, format!("{V0}+0x1c/0x80 [markers_sample]"), "on", "1"),
            (
                1,
                format!("{LEGACY}+0x2c/0x90 [markers_sample]"),
                "off",
                "0",
            ),
            (
                3,
                // markers.ko prints no module here (the ABI file says
                // "(freed init text) [module]"); markctl takes either.
                "(freed init text)".to_string(),
                "retired",
                "1",
            ),
        ];
        for (id, location, state, enable) in sites {
            let s = m.join(format!("sites/{id}"));
            put(&s.join("location"), &format!("{location}\n"));
            put(&s.join("state"), &format!("{state}\n"));
            put(&s.join("enable"), &format!("{enable}\n"));
        }
        let p = r.join("late_probe");
        put(&p.join("enable"), "1\n");
        put(&p.join("format"), "\n");
        put(&p.join("signature"), "?\n");
        put(&p.join("modules"), "");
        put(
            &p.join("probes"),
            "markers_probe _RNvCs5678_13markers_probe4late+0x0/0x20 pending -\n",
        );
        put(&p.join("hits"), "0\n");
        fs::create_dir_all(p.join("sites")).unwrap();
        fake
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("markers")
    }

    pub fn set_listing(&self, text: &str) {
        put(&self.root().join("control"), text);
    }
}

/// Records every batch instead of writing it; fails with `errno` if set.
#[derive(Default)]
pub struct Recorder {
    pub writes: Vec<(PathBuf, String)>,
    pub errno: Option<i32>,
}

impl ControlWriter for Recorder {
    fn write_batch(&mut self, path: &Path, batch: &[u8]) -> io::Result<()> {
        self.writes.push((
            path.to_path_buf(),
            String::from_utf8(batch.to_vec()).unwrap(),
        ));
        match self.errno {
            Some(e) => Err(io::Error::from_raw_os_error(e)),
            None => Ok(()),
        }
    }
}

/// What a run printed and returned.
pub struct Run {
    pub out: String,
    pub err: String,
    /// The exit code: 0, or the error's.
    pub code: u8,
    /// The error message, if any.
    pub message: String,
}

/// Runs `markctl --root ROOT ARGS...` with `recorder` as the control file.
pub fn run_with(root: &Path, args: &[&str], recorder: &mut Recorder, tty: bool) -> Run {
    let mut argv = vec!["markctl".to_string(), "--root".to_string()];
    argv.push(root.display().to_string());
    argv.extend(args.iter().map(|s| s.to_string()));
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut ctx = markctl::Context {
        out: &mut out,
        err: &mut err,
        control: recorder,
        tty,
        privilege: || Privilege {
            root: false,
            locked_down: false,
        },
    };
    let result = markctl::run(&cli, &mut ctx);
    let (code, message) = match result {
        Ok(()) => (0, String::new()),
        Err(e) => (e.code, e.message),
    };
    Run {
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
        code,
        message,
    }
}

/// Runs markctl on `root`, recording writes that are then dropped.
pub fn run(root: &Path, args: &[&str]) -> Run {
    run_with(root, args, &mut Recorder::default(), false)
}
