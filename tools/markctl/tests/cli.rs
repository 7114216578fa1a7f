// SPDX-License-Identifier: GPL-2.0

//! The `markctl` binary on a fake tree: arguments, the root's sources,
//! exit codes and messages, and a real write to a `control` file.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Output};

use common::Fake;

fn markctl(args: &[&str], root_env: Option<&std::path::Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_markctl"));
    cmd.args(args).env_remove("MARKCTL_ROOT");
    if let Some(root) = root_env {
        cmd.env("MARKCTL_ROOT", root);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_and_usage_errors() {
    let o = markctl(&["--help"], None);
    assert_eq!(o.status.code(), Some(0));
    let help = text(&o.stdout);
    for cmd in [
        "list", "enable", "disable", "stats", "watch", "show", "--root", "--json",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from:\n{help}");
    }
    assert_eq!(markctl(&[], None).status.code(), Some(2));
    assert_eq!(markctl(&["frobnicate"], None).status.code(), Some(2));
    assert_eq!(
        markctl(&["list", "--state", "maybe"], None).status.code(),
        Some(2)
    );
    assert_eq!(markctl(&["show"], None).status.code(), Some(2));
    let o = markctl(&["enable", "a", "--print", "--no-print"], None);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn root_from_env_and_flag() {
    let f = Fake::new();
    let gone = f.dir.path().join("gone");
    let o = markctl(&["list"], Some(&gone));
    assert_eq!(o.status.code(), Some(3));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("markctl: markers.ko is not loaded"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let o = markctl(&["list"], Some(&f.root()));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("sample_tick"));
    // --root wins over the environment.
    let root = f.root();
    let o = markctl(&["--root", root.to_str().unwrap(), "list"], Some(&gone));
    assert_eq!(o.status.code(), Some(0));
    let o = markctl(&["list", "--root", gone.to_str().unwrap()], Some(&root));
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn unknown_marker_is_5() {
    let f = Fake::new();
    let o = markctl(&["show", "nope"], Some(&f.root()));
    assert_eq!(o.status.code(), Some(5));
    assert_eq!(text(&o.stderr), "markctl: unknown marker 'nope'\n");
    let o = markctl(&["disable", "nope"], Some(&f.root()));
    assert_eq!(o.status.code(), Some(5));
}

#[test]
fn enable_writes_the_control_file() {
    let f = Fake::new();
    let control = f.root().join("control");
    let o = markctl(
        &["enable", "sample_tick", "--site", "netsim:netsim_rx+0x10"],
        Some(&f.root()),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // A regular file keeps the rest of the listing after the batch.
    let after = fs::read_to_string(&control).unwrap();
    assert!(
        after.starts_with("marker sample_tick +e\nsite netsim:netsim_rx+0x10 +e\n"),
        "{after}"
    );
}

#[test]
fn unwritable_control_is_4() {
    // SAFETY: geteuid() has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // root ignores the mode; the EACCES mapping is tested with a
        // recorded write in fake_tree.rs.
        return;
    }
    let f = Fake::new();
    let control = f.root().join("control");
    fs::set_permissions(&control, fs::Permissions::from_mode(0o444)).unwrap();
    let o = markctl(&["enable", "sample_tick"], Some(&f.root()));
    assert_eq!(o.status.code(), Some(4));
    assert!(text(&o.stderr).contains("run as root"));
}
