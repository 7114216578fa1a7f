// SPDX-License-Identifier: GPL-2.0

//! Runs the `ktap-check` binary on sample logs written to a temp dir.

use std::path::PathBuf;
use std::process::Command;

/// A sample log in the temp dir, removed again on drop.
struct TempLog(PathBuf);

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `log` to a per-process, per-test file.
fn write_log(tag: &str, log: &[u8]) -> TempLog {
    let name = format!("ktap-check-test-{}-{tag}.log", std::process::id());
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, log).unwrap();
    TempLog(path)
}

/// Runs the binary; returns (exit code, stdout).
fn run(args: &[&str], path: Option<&PathBuf>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ktap-check"));
    cmd.args(args);
    if let Some(p) = path {
        cmd.arg(p);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (out.status.code().unwrap(), stdout)
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

const GOOD: &[u8] = b"\
[    0.000000] Linux version 6.12.0 (Rust)\r
[    0.000001] Kernel command line: console=ttyS0 hung_task_panic=1\r
markers-guest: cpus=2\r
[    1.100000] KTAP version 1\r
[    1.100001] markers_test: 1..3\r
[    1.100002] markers_test:     # Subtest: inner\r
[    1.100003] markers_test:     ok 1 sub\r
[    1.100004] markers_test: ok 1 basic\r
[    1.100005] markers_test: ok 2 - dashed\r
[    1.100006] markers_test: ok 3 needs_hw # SKIP no hardware\r
\xff\xfe serial noise\r
markers-guest: done rc=0\r
";

#[test]
fn passing_log() {
    let path = write_log("good", GOOD);
    let (code, out) = run(&["--expect-cpus", "2"], Some(&path.0));
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "ok basic\nok dashed\nskip needs_hw\n2 passed, 0 failed, 1 skipped\n"
    );
    let (code, out) = run(&["--verbose"], Some(&path.0));
    assert_eq!(code, 0);
    assert!(
        out.contains("\n    ok sub\n") || out.starts_with("    ok sub\n"),
        "{out}"
    );
}

#[test]
fn failing_logs() {
    let path = write_log("good2", GOOD);
    let (code, out) = run(&["--expect-cpus", "4"], Some(&path.0));
    assert_eq!(code, 1);
    assert!(
        out.contains("not ok harness: expected 4 CPUs, guest saw 2\n"),
        "{out}"
    );
    assert_eq!(last_line(&out), "2 passed, 1 failed, 1 skipped");

    let log = b"[    1.0] KTAP version 1\n[    1.1] 1..2\n[    1.2] ok 1 a\n\
[    2.0] WARNING: CPU: 2 PID: 77 at mm/foo.c:12 bar+0x1/0x2\n[    2.1] Call Trace:\n";
    let path = write_log("splat", log);
    let (code, out) = run(&["--timed-out", "--verbose"], Some(&path.0));
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "ok a\n\
not ok document#1: missing result 2\n\
not ok harness: splat at line 4: [    2.0] WARNING: CPU: 2 PID: 77 at mm/foo.c:12 bar+0x1/0x2\n\
#   [    2.1] Call Trace:\n\
not ok harness: timeout\n\
not ok harness: guest did not finish (crash, hang or timeout)\n\
1 passed, 4 failed\n"
    );

    let path = write_log("empty", b"markers-guest: done rc=0\n");
    let (code, out) = run(&[], Some(&path.0));
    assert_eq!(
        (code, out.as_str()),
        (1, "not ok harness: no tests ran\n0 passed, 1 failed\n")
    );
}

#[test]
fn usage_errors() {
    assert_eq!(run(&[], None).0, 2);
    assert_eq!(run(&["--bogus", "x"], None).0, 2);
    assert_eq!(run(&["--expect-cpus"], None).0, 2);
    let missing = std::env::temp_dir().join("ktap-check-test-does-not-exist.log");
    assert_eq!(run(&[], Some(&missing)), (2, String::new()));
    assert_eq!(run(&["--help"], None).0, 0);
}
