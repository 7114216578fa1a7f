// SPDX-License-Identifier: GPL-2.0

//! markctl's commands against a fake sysfs tree, with the writes to
//! `control` recorded.

mod common;

use std::time::Duration;

use common::{run, run_with, Fake, Recorder, LEGACY, LISTING, V0};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn list_text() {
    let f = Fake::new();
    let r = run(&f.root(), &["list"]);
    assert_eq!(r.code, 0, "{}", r.message);
    assert_eq!(
        r.out,
        "\
NAME         STATE    ENABLE  PRINT  SITES  HITS  PROBES  SIG  FORMAT
late_probe   pending  1       0      0      0     1       ?    \"\"
net_rx       off      0       0      1      7     0       -    \"\"
sample_tick  on       1       1      3      42    2       iI   \"tick %d \\\"%u\\\"\\n\"
"
    );
}

#[test]
fn list_sites_demangled() {
    let f = Fake::new();
    let r = run(&f.root(), &["list", "--sites", "sample_*", "net_rx"]);
    assert_eq!(r.code, 0, "{}", r.message);
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines.len(), 7, "{}", r.out);
    assert!(lines[1].starts_with("net_rx "));
    assert_eq!(
        lines[2],
        "    net_rx/0  netsim  netsim_rx+0x10/0x40  off  enable=0 override=-"
    );
    assert!(lines[3].starts_with("sample_tick "));
    assert_eq!(
        lines[4],
        "    sample_tick/0  markers_sample  markers_sample::tick+0x1c/0x80         on       enable=1 override=-"
    );
    assert_eq!(
        lines[5],
        "    sample_tick/1  markers_sample  markers_sample::inner::tick+0x2c/0x90  off      enable=0 override=off"
    );
    assert_eq!(
        lines[6],
        "    sample_tick/3  markers_sample  (freed init text)                      retired  enable=1 override=- init"
    );
}

#[test]
fn list_filters() {
    let f = Fake::new();
    let names = |args: &[&str]| -> Vec<String> {
        let r = run(&f.root(), args);
        assert_eq!(r.code, 0, "{}", r.message);
        r.out
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with(' '))
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&["list", "--state", "pending"]), ["late_probe"]);
    assert_eq!(names(&["list", "--state", "on"]), ["sample_tick"]);
    assert_eq!(names(&["list", "--module", "net*"]), ["net_rx"]);
    assert_eq!(names(&["list", "*_*", "--state", "off"]), ["net_rx"]);
    let r = run(
        &f.root(),
        &["list", "--module", "markers_sample", "--sites", "--json"],
    );
    let v = json(&r.out);
    assert_eq!(v["markers"].as_array().unwrap().len(), 1);
    assert_eq!(v["markers"][0]["sites"].as_array().unwrap().len(), 3);
    // An unknown name or a glob that matches nothing.
    assert_eq!(run(&f.root(), &["list", "nope"]).code, 5);
    assert_eq!(run(&f.root(), &["list", "nope*"]).code, 5);
    assert_eq!(run(&f.root(), &["list", "a["]).code, 2);
}

#[test]
fn list_json() {
    let f = Fake::new();
    let r = run(&f.root(), &["list", "--json", "--sites"]);
    assert_eq!(r.code, 0, "{}", r.message);
    assert_eq!(r.out.lines().count(), 1);
    let v = json(&r.out);
    assert_eq!(v["abi"], 2);
    let m = &v["markers"][2];
    assert_eq!(m["name"], "sample_tick");
    assert_eq!(m["state"], "on");
    assert_eq!(m["enable"], true);
    assert_eq!(m["print"], true);
    assert_eq!(m["site_count"], 3);
    assert_eq!(m["hits"], 42);
    assert_eq!(m["probes"], 2);
    assert_eq!(m["signature"], "iI");
    assert_eq!(m["format"], "tick %d \"%u\"\n");
    let s = &m["sites"][0];
    assert_eq!(s["marker"], "sample_tick");
    assert_eq!(s["id"], 0);
    assert_eq!(s["module"], "markers_sample");
    assert_eq!(s["location"], format!("{V0}+0x1c/0x80"));
    assert_eq!(s["location_demangled"], "markers_sample::tick+0x1c/0x80");
    assert_eq!(s["state"], "on");
    assert_eq!(s["enable"], true);
    assert_eq!(s["override"], Value::Null);
    assert_eq!(s["init"], false);
    assert_eq!(m["sites"][1]["override"], "off");
    assert_eq!(m["sites"][2]["location"], Value::Null);
    assert_eq!(m["sites"][2]["location_demangled"], Value::Null);
    assert_eq!(v["markers"][0]["signature"], "?");
    // Without --sites, no "sites" key.
    let r = run(&f.root(), &["list", "--json"]);
    assert!(json(&r.out)["markers"][0].get("sites").is_none());
}

#[test]
fn list_longer_than_a_page() {
    let f = Fake::new();
    let mut text = String::from("# markers ABI 2: 300 markers, 300 sites\n");
    for i in 0..300 {
        text.push_str(&format!(
            "marker m{i:03} off enable=0 print=0 sites=1 hits={i} probes=0 sig=L format=\"v=%llu\"\n\
             site m{i:03}/0 many {V0}+0x{i:x}/0x1000 off enable=0 override=- init=0\n"
        ));
    }
    assert!(text.len() > 3 * 4096);
    f.set_listing(&text);
    let r = run(&f.root(), &["list", "--json", "--sites"]);
    assert_eq!(r.code, 0, "{}", r.message);
    let v = json(&r.out);
    assert_eq!(v["markers"].as_array().unwrap().len(), 300);
    assert_eq!(v["markers"][299]["hits"], 299);
    assert_eq!(
        v["markers"][299]["sites"][0]["location_demangled"],
        "markers_sample::tick+0x12b/0x1000"
    );
}

#[test]
fn bad_listing() {
    let f = Fake::new();
    f.set_listing("# markers ABI 3: 0 markers, 0 sites\n");
    let r = run(&f.root(), &["list"]);
    assert_eq!(r.code, 1);
    assert!(r.message.contains("ABI 3"), "{}", r.message);
    f.set_listing("garbage\n");
    assert_eq!(run(&f.root(), &["list"]).code, 1);
}

#[test]
fn show_text() {
    let f = Fake::new();
    let r = run(&f.root(), &["show", "sample_tick"]);
    assert_eq!(r.code, 0, "{}", r.message);
    assert_eq!(
        r.out,
        "\
marker:     sample_tick
state:      on
enable:     1
print:      1
signature:  iI
format:     \"tick %d \\\"%u\\\"\\n\"
modules:    markers_sample
hits:       42
probes: 2
    markers        probe_print+0x0/0x120            attached  -
    markers_probe  markers_probe::on_tick+0x0/0x20  attached  enable
sites: 3
    0  markers_sample::tick+0x1c/0x80 [markers_sample]         on       enable=1
    1  markers_sample::inner::tick+0x2c/0x90 [markers_sample]  off      enable=0
    3  (freed init text)                                       retired  enable=1
"
    );
}

#[test]
fn show_json_and_pending() {
    let f = Fake::new();
    let r = run(&f.root(), &["show", "--json", "sample_tick"]);
    assert_eq!(r.code, 0, "{}", r.message);
    let v = json(&r.out);
    assert_eq!(v["name"], "sample_tick");
    assert_eq!(v["state"], "on");
    assert_eq!(v["print"], true);
    assert_eq!(v["enable"], true);
    assert_eq!(v["format"], "tick %d \"%u\"\n");
    assert_eq!(v["signature"], "iI");
    assert_eq!(v["modules"], serde_json::json!(["markers_sample"]));
    assert_eq!(v["hits"], 42);
    assert_eq!(v["probes"][1]["owner"], "markers_probe");
    assert_eq!(
        v["probes"][1]["handler"],
        "_RNvCs5678_13markers_probe7on_tick+0x0/0x20"
    );
    assert_eq!(
        v["probes"][1]["handler_demangled"],
        "markers_probe::on_tick+0x0/0x20"
    );
    assert_eq!(v["probes"][1]["state"], "attached");
    assert_eq!(v["probes"][1]["flags"], "enable");
    assert_eq!(v["sites"][1]["id"], 1);
    assert_eq!(
        v["sites"][1]["location"],
        format!("{LEGACY}+0x2c/0x90 [markers_sample]")
    );
    assert_eq!(
        v["sites"][1]["location_demangled"],
        "markers_sample::inner::tick+0x2c/0x90 [markers_sample]"
    );
    assert_eq!(v["sites"][1]["state"], "off");
    assert_eq!(v["sites"][1]["enable"], false);
    let r = run(&f.root(), &["show", "--json", "late_probe"]);
    let v = json(&r.out);
    assert_eq!(v["state"], "pending");
    assert_eq!(v["signature"], "?");
    assert_eq!(v["format"], "");
    assert_eq!(v["modules"], serde_json::json!([]));
    assert_eq!(v["sites"], serde_json::json!([]));
    assert_eq!(v["probes"][0]["state"], "pending");
}

#[test]
fn show_unknown_is_5() {
    let f = Fake::new();
    for name in ["nope", "../markers", "control", ""] {
        let r = run(&f.root(), &["show", name]);
        assert_eq!(r.code, 5, "{name}: {}", r.message);
    }
    assert_eq!(
        run(&f.root(), &["show", "nope"]).message,
        "unknown marker 'nope'"
    );
}

#[test]
fn missing_root_is_3() {
    let f = Fake::new();
    let gone = f.dir.path().join("not-loaded");
    for args in [
        &["list"][..],
        &["show", "sample_tick"],
        &["stats", "--interval", "0"],
        &["watch", "--count", "1", "--interval", "0.01"],
        &["enable", "sample_tick"],
        &["disable", "--site", "sample_tick/0"],
    ] {
        let mut rec = Recorder::default();
        let r = run_with(&gone, args, &mut rec, false);
        assert_eq!(r.code, 3, "{args:?}: {}", r.message);
        assert!(
            r.message.contains("markers.ko is not loaded"),
            "{}",
            r.message
        );
        assert!(rec.writes.is_empty());
    }
}

#[test]
fn enable_writes_one_batch() {
    let f = Fake::new();
    let mut rec = Recorder::default();
    let r = run_with(
        &f.root(),
        &[
            "enable",
            "sample_*",
            "net_rx",
            "--site",
            "markers_sample:inner::tick+0x2c",
            "--site",
            "net_rx/0",
        ],
        &mut rec,
        false,
    );
    assert_eq!(r.code, 0, "{}", r.message);
    assert_eq!(r.out, "");
    assert_eq!(rec.writes.len(), 1);
    assert_eq!(rec.writes[0].0, f.root().join("control"));
    assert_eq!(
        rec.writes[0].1,
        format!(
            "marker sample_* +e\nmarker net_rx +e\nsite markers_sample:{LEGACY}+0x2c +e\nsite net_rx/0 +e\n"
        )
    );
}

#[test]
fn disable_and_print_batches() {
    let f = Fake::new();
    let batch = |args: &[&str]| {
        let mut rec = Recorder::default();
        let r = run_with(&f.root(), args, &mut rec, false);
        assert_eq!(r.code, 0, "{args:?}: {}", r.message);
        assert_eq!(rec.writes.len(), 1);
        rec.writes.remove(0).1
    };
    assert_eq!(
        batch(&["disable", "sample_tick", "--no-print"]),
        "marker sample_tick -ep\n"
    );
    assert_eq!(
        batch(&["enable", "sample_tick", "--print"]),
        "marker sample_tick +ep\n"
    );
    assert_eq!(
        batch(&["disable", "*", "--module", "netsim"]),
        "marker * module netsim -e\n"
    );
    assert_eq!(
        batch(&["disable", "--module", "markers_*"]),
        "module markers_* -e\n"
    );
    assert_eq!(
        batch(&[
            "disable",
            "--site",
            "markers_sample:markers_sample::tick+0x1c"
        ]),
        format!("site markers_sample:{V0}+0x1c -e\n")
    );
    assert_eq!(
        batch(&["enable", "--site", "netsim:netsim_rx+0x10/0x40"]),
        "site netsim:netsim_rx+0x10 +e\n"
    );
}

#[test]
fn pending_enable_notes() {
    let f = Fake::new();
    let mut rec = Recorder::default();
    let r = run_with(&f.root(), &["enable", "not_loaded_yet"], &mut rec, false);
    assert_eq!(r.code, 0, "{}", r.message);
    assert_eq!(rec.writes[0].1, "marker not_loaded_yet +e\n");
    assert!(r.err.contains("pending"), "{}", r.err);
}

#[test]
fn refused_before_writing() {
    let f = Fake::new();
    for (args, code) in [
        (&["disable", "nope"][..], 5),
        (&["enable", "nope_*"], 5),
        (&["enable", "--site", "markers_sample:tick+0x99"], 5),
        (&["enable", "--site", "sample_tick/7"], 5),
        (&["enable", "--site", "netsim:rx"], 2),
        (&["enable", "bad name"], 2),
        (&["enable", "x;y"], 2),
        (&["enable"], 2),
        (&["enable", "--site", "sample_tick/0", "--print"], 2),
        (&["enable", "late_probe", "--print"], 5),
    ] {
        let mut rec = Recorder::default();
        let r = run_with(&f.root(), args, &mut rec, false);
        assert_eq!(r.code, code, "{args:?}: {}", r.message);
        assert!(rec.writes.is_empty(), "{args:?}");
    }
    // Two Rust sites at the same offset whose paths both end in ::tick.
    let text = LISTING.replace("+0x2c/0x90 off", "+0x1c/0x90 off");
    f.set_listing(&text);
    let mut rec = Recorder::default();
    let r = run_with(
        &f.root(),
        &["enable", "--site", "markers_sample:tick+0x1c"],
        &mut rec,
        false,
    );
    assert_eq!(r.code, 2);
    assert!(r.message.contains("ambiguous"), "{}", r.message);
    assert!(rec.writes.is_empty());
}

#[test]
fn kernel_errors_map_to_exit_codes() {
    let f = Fake::new();
    for (errno, code, words) in [
        (libc::EINVAL, 1, "refused the batch, see dmesg"),
        (libc::ENOENT, 5, "matched nothing"),
        (libc::E2BIG, 1, "too long"),
        (libc::EIO, 1, "could not be patched, see dmesg"),
        (libc::EACCES, 4, "run as root"),
        (libc::EPERM, 4, "run as root"),
        (libc::ENOMEM, 1, "memory"),
    ] {
        let mut rec = Recorder {
            errno: Some(errno),
            ..Recorder::default()
        };
        let r = run_with(&f.root(), &["enable", "sample_tick"], &mut rec, false);
        assert_eq!(r.code, code, "errno {errno}: {}", r.message);
        assert!(r.message.contains(words), "errno {errno}: {}", r.message);
        assert!(!r.message.contains('\n'));
        assert_eq!(rec.writes.len(), 1);
    }
}

#[test]
fn dry_run_and_json() {
    let f = Fake::new();
    let mut rec = Recorder::default();
    let r = run_with(
        &f.root(),
        &["enable", "-n", "sample_tick", "late_x"],
        &mut rec,
        false,
    );
    assert_eq!(r.code, 0, "{}", r.message);
    assert!(rec.writes.is_empty());
    assert_eq!(r.out, "marker sample_tick +e\nmarker late_x +e\n");
    let r = run_with(&f.root(), &["--json", "disable", "net_rx"], &mut rec, false);
    let v = json(&r.out);
    assert_eq!(v["written"], true);
    assert_eq!(v["batch"], "marker net_rx -e\n");
    assert_eq!(v["lines"], serde_json::json!(["marker net_rx -e"]));
    assert_eq!(rec.writes.len(), 1);
}

#[test]
fn stats_counts_only() {
    let f = Fake::new();
    let r = run(&f.root(), &["stats", "--interval", "0"]);
    assert_eq!(r.code, 0, "{}", r.message);
    assert_eq!(
        r.out,
        "NAME         HITS\nlate_probe   0\nnet_rx       7\nsample_tick  42\n"
    );
    let r = run(
        &f.root(),
        &["stats", "--interval", "0", "--json", "sample_*"],
    );
    let v = json(&r.out);
    assert_eq!(v["elapsed"], Value::Null);
    assert_eq!(v["markers"][0]["hits"], 42);
    assert_eq!(v["markers"][0]["rate"], Value::Null);
    assert_eq!(run(&f.root(), &["stats", "--interval=-1"]).code, 2);
}

/// Replaces the file at `path` at once (a reader sees the old or the new).
fn replace(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, path).unwrap();
}

/// Rewrites the listing with sample_tick at `hits` after `delay`.
fn bump_later(f: &Fake, delay: Duration, hits: u64) -> std::thread::JoinHandle<()> {
    let control = f.root().join("control");
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let text = LISTING.replace("hits=42", &format!("hits={hits}"));
        replace(&control, &text);
    })
}

#[test]
fn stats_rates() {
    let f = Fake::new();
    let bump = bump_later(&f, Duration::from_millis(300), 142);
    let r = run(&f.root(), &["stats", "--json", "--interval", "1"]);
    bump.join().unwrap();
    assert_eq!(r.code, 0, "{}", r.message);
    let v = json(&r.out);
    assert_eq!(v["interval"], 1.0);
    let elapsed = v["elapsed"].as_f64().unwrap();
    assert!((0.99..10.0).contains(&elapsed), "{elapsed}");
    let m = &v["markers"][2];
    assert_eq!(m["name"], "sample_tick");
    assert_eq!(m["hits"], 142);
    assert_eq!(m["delta"], 100);
    let rate = m["rate"].as_f64().unwrap();
    assert!((100.0 / elapsed - rate).abs() < 1e-6, "{rate}");
    assert_eq!(v["markers"][1]["delta"], 0);
}

#[test]
fn watch_blocks_and_json_lines() {
    let f = Fake::new();
    let r = run(
        &f.root(),
        &["watch", "--interval", "0.01", "--count", "3", "net_rx"],
    );
    assert_eq!(r.code, 0, "{}", r.message);
    let blocks: Vec<&str> = r.out.split("\n\n").collect();
    assert_eq!(blocks.len(), 3, "{}", r.out);
    assert!(blocks[2].starts_with("markctl watch: every 0.01s, refresh 3\n"));
    assert!(blocks[0].contains("NAME    HITS  DELTA  RATE/s\nnet_rx  7     0      0.0"));
    assert!(!r.out.contains('\x1b'));
    let r = run(&f.root(), &["watch", "--json", "-i", "0.01", "-c", "2"]);
    let lines: Vec<Value> = r.out.lines().map(json).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["refresh"], 2);
    assert_eq!(lines[1]["markers"].as_array().unwrap().len(), 3);
    let r = run_with(
        &f.root(),
        &["watch", "-i", "0.01", "-c", "2"],
        &mut Recorder::default(),
        true,
    );
    assert_eq!(r.out.matches("\x1b[H\x1b[2J").count(), 2);
    assert_eq!(run(&f.root(), &["watch", "--interval", "0"]).code, 2);
}

#[test]
fn watch_survives_a_marker_going_away() {
    let f = Fake::new();
    let control = f.root().join("control");
    let gone = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let text: String = LISTING
            .lines()
            .filter(|l| !l.contains("net_rx"))
            .map(|l| format!("{l}\n"))
            .collect();
        replace(&control, &text);
    });
    let r = run(
        &f.root(),
        &[
            "watch", "--json", "-i", "1", "-c", "2", "net_rx", "sample_*",
        ],
    );
    gone.join().unwrap();
    assert_eq!(r.code, 0, "{}", r.message);
    let lines: Vec<Value> = r.out.lines().map(json).collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(l["markers"].as_array().unwrap().len(), 1, "{l}");
        assert_eq!(l["markers"][0]["name"], "sample_tick");
    }
}
