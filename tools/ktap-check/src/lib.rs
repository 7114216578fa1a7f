// SPDX-License-Identifier: GPL-2.0

//! Host-side checker for the serial console log of a test VM.
//!
//! [`check`] reads the whole captured log and produces a [`Report`]:
//!
//! * KTAP (or TAP 13/14) results.  Only results at indentation 0 count;
//!   indented subtest results are kept for verbose output.  Every document's
//!   plan (`1..N`) is checked against the results seen in it.
//! * Kernel splats (oopses, WARNs, lockdep, RCU stalls, SLUB and list debugging
//!   reports, kmemleak findings, ...), found by the
//!   substrings in [`SPLAT_PATTERNS`]; each one is a harness failure.
//! * The guest's completion line (`markers-guest: done rc=<int>`) and,
//!   optionally, its CPU count line (`markers-guest: cpus=<n>`).
//!
//! Console lines may carry a printk timestamp (`[    1.234567] `) and a
//! module-name prefix (`markers_test: `); both are stripped before parsing.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Substrings that mark a kernel splat.  A log line containing any of them
/// (after the timestamp is stripped) is a splat, unless it also contains one
/// of [`SPLAT_EXEMPT`].  Extend this table to catch more kinds of splat.
pub const SPLAT_PATTERNS: &[&str] = &[
    "BUG:",
    "kernel BUG at",
    "WARNING:",
    "Oops",
    "general protection fault",
    "Kernel panic",
    "Call Trace:",
    "possible circular locking dependency",
    "possible recursive locking",
    "inconsistent lock state",
    "suspicious RCU usage",
    "detected stalls on CPUs",
    "rcu_sched self-detected stall",
    "self-detected stall on CPU",
    "soft lockup",
    "hung_task",
    "blocked for more than",
    "UBSAN:",
    "KASAN:",
    // kCFI (kernel/cfi.c `report_cfi_failure`): the line before the oops,
    // or, with CFI_PERMISSIVE, before a WARNING.
    "CFI failure at",
    "refcount_t:",
    "list_add corruption",
    "list_add double add",
    "list_del corruption",
    "stack-protector",
    // lockdep, outside its WARNING/BUG headlines.
    "trying to register non-static key",
    // SLUB debugging (the headline `BUG <cache> (<taint>): <what>` is found
    // by `is_slub_report`; these name what it found).
    "Poison overwritten",
    "Redzone overwritten",
    "Padding overwritten",
    "padding overwritten",
    "Freepointer corrupt",
    "Freechain corrupt",
    "Object corrupt",
    "Object already free",
    // kmemleak: the kernel's scan summary, and every object the guest's
    // end-of-run scan prints (tools/testing/guest/run-tests).
    "new suspected memory leak",
    "unreferenced object 0x",
    KMEMLEAK_PREFIX,
    "!!!",
];

/// Prefix of the lines in which the guest reports what its end-of-run
/// kmemleak scan found: every such line is a failure.
pub const KMEMLEAK_PREFIX: &str = "markers-kmemleak:";

/// Substrings that make a line never count as a splat, even if it matches
/// [`SPLAT_PATTERNS`]: the kernel echoes its command line at boot, and that
/// may well contain e.g. `hung_task_panic=1`.
pub const SPLAT_EXEMPT: &[&str] = &["Kernel command line:", "kernel command line parameters"];

/// A splat line at most this many lines after the previous splat line is
/// folded into the same splat (chained: every folded line restarts the
/// window), so that one oops with its `Call Trace:` counts once.
pub const SPLAT_FOLD_LINES: usize = 60;

/// Number of log lines shown after each splat in verbose output.
pub const SPLAT_CONTEXT_LINES: usize = 20;

/// Prefix of the line the guest prints when its runner finishes.
pub const DONE_PREFIX: &str = "markers-guest: done rc=";

/// Prefix of the line in which the guest reports its online CPU count.
pub const CPUS_PREFIX: &str = "markers-guest: cpus=";

/// Plans larger than this are taken as garbled console output.
const MAX_PLAN: u64 = 10_000;

/// Verdict of one test result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `ok` without a SKIP directive.
    Pass,
    /// `not ok` (with or without TODO), or a synthetic plan failure.
    Fail,
    /// Any result with a `# SKIP` directive.
    Skip,
}

impl Outcome {
    /// The word printed for this outcome: `ok`, `not ok` or `skip`.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "ok",
            Outcome::Fail => "not ok",
            Outcome::Skip => "skip",
        }
    }
}

/// One parsed (or synthesised) test result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    /// 1-based number of the KTAP document the result belongs to.
    pub doc: usize,
    /// Nesting depth: 0 for counted results, 1+ for subtests.
    pub depth: usize,
    /// The test number from the result line.
    pub number: u64,
    /// The test description (or `document#k: ...` for plan failures).
    pub name: String,
    /// Pass, fail or skip.
    pub outcome: Outcome,
    /// 1-based log line number (the document's header line for plan failures).
    pub line: usize,
}

/// A failure of the run as a whole rather than of a KTAP test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HarnessFailure {
    /// Printed after `not ok harness: `.
    pub reason: String,
    /// Log lines following a splat (empty for other failures).
    pub context: Vec<String>,
}

/// What the host knows besides the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The host killed qemu on timeout.
    pub timed_out: bool,
    /// Number of CPUs the guest must report, if any.
    pub expect_cpus: Option<u32>,
}

/// The verdict over a whole log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// All results in log order, subtests included (see [`TestResult::depth`]).
    pub results: Vec<TestResult>,
    /// Splats, bail-outs, timeout, completion and CPU count failures.
    pub harness: Vec<HarnessFailure>,
}

impl Report {
    fn count(&self, outcome: Outcome) -> usize {
        self.results
            .iter()
            .filter(|r| r.depth == 0 && r.outcome == outcome)
            .count()
    }

    /// Counted (indentation 0) results that passed.
    pub fn passed(&self) -> usize {
        self.count(Outcome::Pass)
    }

    /// Counted results that failed plus all harness failures.
    pub fn failed(&self) -> usize {
        self.count(Outcome::Fail) + self.harness.len()
    }

    /// Counted results that were skipped.
    pub fn skipped(&self) -> usize {
        self.count(Outcome::Skip)
    }

    /// True iff nothing failed and at least one test passed.
    pub fn success(&self) -> bool {
        self.failed() == 0 && self.passed() > 0
    }

    /// Process exit status: 0 on [`success`](Self::success), else 1.
    pub fn exit_code(&self) -> u8 {
        if self.success() {
            0
        } else {
            1
        }
    }

    /// The last output line: `N passed, M failed[, K skipped]`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed(), self.failed());
        if self.skipped() > 0 {
            let _ = write!(s, ", {} skipped", self.skipped());
        }
        s
    }

    /// The full output: one `ok|not ok|skip <name>` line per counted result,
    /// one `not ok harness: <reason>` line per harness failure, then
    /// [`summary`](Self::summary).  `verbose` adds indented subtest results
    /// and, after each splat, the following log lines prefixed with `#   `.
    pub fn render(&self, verbose: bool) -> String {
        let mut out = String::new();
        for r in self.results.iter().filter(|r| verbose || r.depth == 0) {
            let indent = "    ".repeat(r.depth);
            let _ = writeln!(out, "{indent}{} {}", r.outcome.word(), r.name);
        }
        for h in &self.harness {
            let _ = writeln!(out, "not ok harness: {}", h.reason);
            if verbose {
                for c in &h.context {
                    let _ = writeln!(out, "#   {c}");
                }
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }
}

/// Strips a printk timestamp (`[    1.234567]`), an optional caller id
/// following it (`[    T1]`, CONFIG_PRINTK_CALLER) and one space after them.
/// Lines without a timestamp are returned unchanged.
pub fn strip_timestamp(line: &str) -> &str {
    let Some(mut rest) = strip_bracket(line, is_time) else {
        return line;
    };
    if let Some(r) = strip_bracket(rest, is_caller) {
        rest = r;
    }
    rest.strip_prefix(' ').unwrap_or(rest)
}

fn strip_bracket(s: &str, ok: fn(&str) -> bool) -> Option<&str> {
    let s = s.strip_prefix('[')?;
    let end = s.find(']')?;
    ok(s[..end].trim_start()).then(|| &s[end + 1..])
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_time(s: &str) -> bool {
    s.split_once('.')
        .is_some_and(|(a, b)| is_digits(a) && is_digits(b))
}

fn is_caller(s: &str) -> bool {
    s.strip_prefix(['T', 'C']).is_some_and(is_digits)
}

/// Strips one module-name prefix: a word of `[A-Za-z0-9_]` followed by `: `.
/// Indentation after the prefix is kept.
pub fn strip_module_prefix(line: &str) -> &str {
    let word = line
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if word == 0 {
        return line;
    }
    line[word..].strip_prefix(": ").unwrap_or(line)
}

/// The module-name prefix of a timestamp-stripped line (without `: `), or
/// `""`. Lines of one source form their own KTAP stream: a module's KTAP
/// document printed through printk may interleave with a shell script's.
pub fn module_prefix(line: &str) -> &str {
    let rest = strip_module_prefix(line);
    if rest.len() == line.len() {
        ""
    } else {
        &line[..line.len() - rest.len() - 2]
    }
}

/// Strips both the timestamp and the module-name prefix.
pub fn strip_prefixes(line: &str) -> &str {
    strip_module_prefix(strip_timestamp(line))
}

/// True if `text` (a timestamp-stripped line) is a splat line.
pub fn is_splat(text: &str) -> bool {
    (SPLAT_PATTERNS.iter().any(|p| text.contains(p)) || is_slub_report(text))
        && !SPLAT_EXEMPT.iter().any(|p| text.contains(p))
}

/// True for the headline of a SLUB debugging report (mm/slub.c
/// `__slab_bug`): `BUG <cache> (<taint>): <what>`, where the taint is
/// `Not tainted` or `Tainted: <flags>`, e.g.
/// `BUG kmalloc-64 (Not tainted): Poison overwritten`.
pub fn is_slub_report(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("BUG ") else {
        return false;
    };
    let Some((cache, rest)) = rest.split_once(" (") else {
        return false;
    };
    !cache.is_empty()
        && !cache.contains(' ')
        && (rest.starts_with("Not tainted): ") || rest.starts_with("Tainted: "))
}

/// A parsed KTAP result line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedResult<'a> {
    /// `ok` rather than `not ok`.
    pub ok: bool,
    /// The test number.
    pub number: u64,
    /// The description, without a leading `- `; may be empty.
    pub name: &'a str,
    /// The text after the first unescaped `#`, trimmed (e.g. `SKIP reason`).
    pub directive: Option<&'a str>,
}

impl ParsedResult<'_> {
    /// SKIP (any case) counts as skipped, otherwise `ok` passes and
    /// `not ok` fails, TODO or not.
    pub fn outcome(&self) -> Outcome {
        let skip = self
            .directive
            .is_some_and(|d| d.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("skip")));
        match (skip, self.ok) {
            (true, _) => Outcome::Skip,
            (false, true) => Outcome::Pass,
            (false, false) => Outcome::Fail,
        }
    }
}

/// Parses `ok N [-] name [# directive]` or `not ok N ...` (no indentation).
pub fn parse_result(s: &str) -> Option<ParsedResult<'_>> {
    let (ok, rest) = match s.strip_prefix("not ok ") {
        Some(r) => (false, r),
        None => (true, s.strip_prefix("ok ")?),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let number = rest[..digits].parse().ok()?;
    let rest = &rest[digits..];
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let hash = rest
        .char_indices()
        .find(|&(i, c)| c == '#' && !rest[..i].ends_with('\\'))
        .map(|(i, _)| i);
    let (name, directive) = match hash {
        Some(i) => (&rest[..i], Some(rest[i + 1..].trim())),
        None => (rest, None),
    };
    Some(ParsedResult {
        ok,
        number,
        name: name.trim(),
        directive,
    })
}

/// Parses a plan line `1..N` (optionally followed by ` # ...`).
pub fn parse_plan(s: &str) -> Option<u64> {
    let rest = s.strip_prefix("1..")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let tail = &rest[digits..];
    if !(tail.is_empty() || tail.starts_with([' ', '#'])) {
        return None;
    }
    rest[..digits].parse().ok()
}

/// True for a document header: `KTAP version N` or `TAP version N`.
pub fn is_header(s: &str) -> bool {
    s.starts_with("KTAP version ") || s.starts_with("TAP version ")
}

/// One KTAP document being collected.
struct Doc {
    index: usize,
    line: usize,
    plan: Option<u64>,
    seen: BTreeSet<u64>,
    count: u64,
}

impl Doc {
    fn new(index: usize, line: usize) -> Self {
        Doc {
            index,
            line,
            plan: None,
            seen: BTreeSet::new(),
            count: 0,
        }
    }

    /// Appends the plan failures of a finished document to `results`.
    fn finish(self, results: &mut Vec<TestResult>) {
        let Some(plan) = self.plan else { return };
        let mut fail = |name: String| {
            results.push(TestResult {
                doc: self.index,
                depth: 0,
                number: 0,
                name: format!("document#{}: {name}", self.index),
                outcome: Outcome::Fail,
                line: self.line,
            })
        };
        if plan > MAX_PLAN {
            fail(format!("implausible plan 1..{plan}"));
            return;
        }
        for n in (1..=plan).filter(|n| !self.seen.contains(n)) {
            fail(format!("missing result {n}"));
        }
        if self.count > plan {
            fail(format!("{} results, plan was 1..{plan}", self.count));
        }
    }
}

/// Checks a whole console log.  Never fails: problems become failures in the
/// returned [`Report`], including `no tests ran` when nothing passed or
/// failed.
pub fn check(log: &str, opts: &Options) -> Report {
    let lines: Vec<String> = log.lines().map(|l| l.replace('\r', "")).collect();
    let mut report = Report::default();
    // The current document of each source (see `module_prefix`).
    let mut docs: std::collections::BTreeMap<String, Doc> = Default::default();
    let mut ndocs = 0;
    let mut last_splat: Option<usize> = None;
    let mut done: Option<String> = None;
    let mut cpus: Option<String> = None;

    for (i, raw) in lines.iter().enumerate() {
        let lineno = i + 1;
        let text = strip_timestamp(raw);
        // Before module-prefix stripping, which would eat "WARNING: " etc.
        if let Some(rc) = text.strip_prefix(DONE_PREFIX) {
            done = Some(rc.trim().to_string());
            continue;
        }
        if let Some(n) = text.strip_prefix(CPUS_PREFIX) {
            cpus = Some(n.trim().to_string());
            continue;
        }
        if is_splat(text) {
            let folded = last_splat.is_some_and(|p| lineno - p <= SPLAT_FOLD_LINES);
            last_splat = Some(lineno);
            if !folded {
                report.harness.push(HarnessFailure {
                    reason: format!("splat at line {lineno}: {}", raw.trim()),
                    context: lines[i + 1..]
                        .iter()
                        .take(SPLAT_CONTEXT_LINES)
                        .cloned()
                        .collect(),
                });
            }
        }

        let body = strip_module_prefix(text);
        let source = module_prefix(text);
        let trimmed = body.trim_start();
        let indent = body.len() - trimmed.len();
        if trimmed.starts_with("Bail out!") {
            report.harness.push(HarnessFailure {
                reason: format!("line {lineno}: {}", trimmed.trim_end()),
                context: Vec::new(),
            });
            continue;
        }
        if indent == 0 && is_header(body) {
            if let Some(d) = docs.remove(source) {
                d.finish(&mut report.results);
            }
            ndocs += 1;
            docs.insert(source.to_string(), Doc::new(ndocs, lineno));
            continue;
        }
        let plan = if indent == 0 { parse_plan(body) } else { None };
        let result = parse_result(trimmed);
        if plan.is_none() && result.is_none() {
            continue;
        }
        let d = docs.entry(source.to_string()).or_insert_with(|| {
            ndocs += 1;
            Doc::new(ndocs, lineno)
        });
        if let Some(n) = plan {
            d.plan.get_or_insert(n);
        }
        if let Some(r) = result {
            if indent == 0 {
                d.seen.insert(r.number);
                d.count += 1;
            }
            report.results.push(TestResult {
                doc: d.index,
                depth: indent.div_ceil(4),
                number: r.number,
                name: if r.name.is_empty() {
                    format!("test {}", r.number)
                } else {
                    r.name.to_string()
                },
                outcome: r.outcome(),
                line: lineno,
            });
        }
    }
    let mut rest: Vec<Doc> = docs.into_values().collect();
    rest.sort_by_key(|d| d.index);
    for d in rest {
        d.finish(&mut report.results);
    }

    let mut fail = |reason: String| {
        report.harness.push(HarnessFailure {
            reason,
            context: Vec::new(),
        })
    };
    if opts.timed_out {
        fail("timeout".into());
    }
    match done.as_deref() {
        None => fail("guest did not finish (crash, hang or timeout)".into()),
        Some(rc) if rc.parse::<i64>() != Ok(0) => fail(format!("guest runner exited rc={rc}")),
        Some(_) => {}
    }
    if let Some(want) = opts.expect_cpus {
        if cpus.as_deref().and_then(|c| c.parse::<u32>().ok()) != Some(want) {
            let saw = cpus.as_deref().unwrap_or("none");
            fail(format!("expected {want} CPUs, guest saw {saw}"));
        }
    }
    if report.passed() == 0 && report.failed() == 0 {
        report.harness.push(HarnessFailure {
            reason: "no tests ran".into(),
            context: Vec::new(),
        });
    }
    report
}

/// Usage text for the command line.
pub const USAGE: &str = "usage: ktap-check [--timed-out] [--verbose] [--expect-cpus N] LOGFILE";

/// Parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cli {
    /// Host-side facts passed to [`check`].
    pub options: Options,
    /// Print subtests and splat context.
    pub verbose: bool,
    /// The console log to read.
    pub path: String,
}

/// Parses the arguments (without the program name).  `Ok(None)` means
/// `--help`/`-h`; `Err` is a usage error message.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Cli>, String> {
    let mut options = Options::default();
    let mut verbose = false;
    let mut path = None;
    let mut args = args.into_iter();
    let mut only_paths = false;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") && !only_paths => {
                (f.to_string(), Some(v.to_string()))
            }
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            _ if only_paths || !arg.starts_with('-') || arg == "-" => {
                if path.replace(arg).is_some() {
                    return Err("more than one LOGFILE".into());
                }
            }
            "--" => only_paths = true,
            "-h" | "--help" => return Ok(None),
            "--timed-out" if inline.is_none() => options.timed_out = true,
            "--verbose" | "-v" if inline.is_none() => verbose = true,
            "--expect-cpus" => {
                let v = inline
                    .or_else(|| args.next())
                    .ok_or("--expect-cpus needs a number")?;
                let n = v.parse().map_err(|_| format!("bad CPU count '{v}'"))?;
                options.expect_cpus = Some(n);
            }
            _ => return Err(format!("unknown option '{arg}'")),
        }
    }
    let path = path.ok_or("missing LOGFILE")?;
    Ok(Some(Cli {
        options,
        verbose,
        path,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(log: &str) -> Report {
        check(log, &Options::default())
    }

    fn names(r: &Report, outcome: Outcome) -> Vec<&str> {
        r.results
            .iter()
            .filter(|t| t.depth == 0 && t.outcome == outcome)
            .map(|t| t.name.as_str())
            .collect()
    }

    fn reasons(r: &Report) -> Vec<&str> {
        r.harness.iter().map(|h| h.reason.as_str()).collect()
    }

    const DONE: &str = "markers-guest: done rc=0\n";

    #[test]
    fn timestamp_stripping() {
        assert_eq!(strip_timestamp("[    1.234567] hello"), "hello");
        assert_eq!(strip_timestamp("[12345.000001] x"), "x");
        assert_eq!(strip_timestamp("[    1.234567]     ok 1 a"), "    ok 1 a");
        assert_eq!(strip_timestamp("[    0.000000][    T0] Linux"), "Linux");
        assert_eq!(strip_timestamp("[    1.5][  C3] x"), "x");
        assert_eq!(strip_timestamp("[    1.234567]"), "");
        assert_eq!(strip_timestamp("[ok] 1.2"), "[ok] 1.2");
        assert_eq!(strip_timestamp("[1.] x"), "[1.] x");
        assert_eq!(strip_timestamp("ok 1 a"), "ok 1 a");
    }

    #[test]
    fn module_prefix_stripping() {
        assert_eq!(strip_module_prefix("markers_test: ok 1 a"), "ok 1 a");
        assert_eq!(strip_module_prefix("mod1:     ok 1 a"), "    ok 1 a");
        assert_eq!(strip_module_prefix("ok 1 a: b"), "ok 1 a: b");
        assert_eq!(strip_module_prefix("    # Subtest: x"), "    # Subtest: x");
        assert_eq!(strip_module_prefix("markers-guest: x"), "markers-guest: x");
        assert_eq!(strip_module_prefix("word:x"), "word:x");
        assert_eq!(
            strip_prefixes("[    1.000000] markers_test: not ok 2 b"),
            "not ok 2 b"
        );
    }

    #[test]
    fn result_parsing() {
        let r = parse_result("ok 1 foo bar").unwrap();
        assert_eq!(
            (r.ok, r.number, r.name, r.directive),
            (true, 1, "foo bar", None)
        );
        let r = parse_result("not ok 12 - dashed").unwrap();
        assert_eq!((r.ok, r.number, r.name), (false, 12, "dashed"));
        let r = parse_result("ok 3 s # SKIP no hw").unwrap();
        assert_eq!((r.name, r.directive), ("s", Some("SKIP no hw")));
        assert_eq!(r.outcome(), Outcome::Skip);
        assert_eq!(
            parse_result("ok 3 s # skip").unwrap().outcome(),
            Outcome::Skip
        );
        assert_eq!(
            parse_result("not ok 3 t # TODO x").unwrap().outcome(),
            Outcome::Fail
        );
        assert_eq!(
            parse_result("ok 3 t # TODO x").unwrap().outcome(),
            Outcome::Pass
        );
        assert_eq!(parse_result("ok 4 a \\# b").unwrap().name, "a \\# b");
        assert_eq!(parse_result("ok 5").unwrap().name, "");
        assert!(parse_result("ok").is_none());
        assert!(parse_result("ok foo").is_none());
        assert!(parse_result("ok 1x").is_none());
        assert!(parse_result("okay 1 x").is_none());
        assert_eq!(parse_plan("1..4"), Some(4));
        assert_eq!(parse_plan("1..0 # SKIP all"), Some(0));
        assert_eq!(parse_plan("1..4x"), None);
        assert_eq!(parse_plan("2..4"), None);
    }

    #[test]
    fn simple_pass_with_prefixes() {
        let log = "\
[    1.000000] KTAP version 1\r
[    1.000001] markers_test: 1..2\r
[    1.000002] markers_test: ok 1 first\r
[    1.000003] markers_test: ok 2 - second\r
markers-guest: done rc=0\r
";
        let r = run(log);
        assert_eq!(names(&r, Outcome::Pass), ["first", "second"]);
        assert!(r.harness.is_empty(), "{:?}", r.harness);
        assert_eq!(r.render(false), "ok first\nok second\n2 passed, 0 failed\n");
        assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn subtests_not_counted_but_shown_verbose() {
        let log = "\
KTAP version 1
1..1
    KTAP version 1
    # Subtest: suite
    1..2
    ok 1 a
    not ok 2 b
ok 1 suite
markers-guest: done rc=0
";
        let r = run(log);
        assert_eq!((r.passed(), r.failed()), (1, 0));
        assert_eq!(r.results.len(), 3);
        assert_eq!(r.results[1].depth, 1);
        assert_eq!(r.render(false), "ok suite\n1 passed, 0 failed\n");
        assert_eq!(
            r.render(true),
            "    ok a\n    not ok b\nok suite\n1 passed, 0 failed\n"
        );
    }

    #[test]
    fn interleaved_sources_keep_their_documents() {
        let log = "KTAP version 1\n1..2\nok 1 shell one\n\
[    1.0] mod_test: KTAP version 1\n\
[    1.1] mod_test: 1..2\n\
[    1.2] mod_test: ok 1 inner one\n\
[    1.3] mod_test: ok 2 inner two\n\
ok 2 shell two\n\
markers-guest: done rc=0\n";
        let r = run(log);
        assert_eq!(r.passed(), 4, "{}", r.render(true));
        assert_eq!(r.failed(), 0, "{}", r.render(true));
    }

    #[test]
    fn multiple_documents_and_implicit_document() {
        let log = "\
ok 1 before_header
TAP version 13
1..1
ok 1 a
[    2.000000] KTAP version 1
[    2.000001] 1..2
[    2.000002] ok 1 b
[    2.000003] not ok 2 c
sh output: ok
markers-guest: done rc=0
";
        let r = run(log);
        assert_eq!(names(&r, Outcome::Pass), ["before_header", "a", "b"]);
        assert_eq!(names(&r, Outcome::Fail), ["c"]);
        assert_eq!(
            r.results.iter().map(|t| t.doc).collect::<Vec<_>>(),
            [1, 2, 3, 3]
        );
        assert_eq!(r.summary(), "3 passed, 1 failed");
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn plan_shortfall_and_excess() {
        let log = "\
KTAP version 1
1..4
ok 1 a
ok 3 c
KTAP version 1
1..1
ok 1 x
ok 2 y
markers-guest: done rc=0
";
        let r = run(log);
        assert_eq!(
            names(&r, Outcome::Fail),
            [
                "document#1: missing result 2",
                "document#1: missing result 4",
                "document#2: 2 results, plan was 1..1"
            ]
        );
        assert_eq!(r.summary(), "4 passed, 3 failed");
    }

    #[test]
    fn garbled_plan_is_one_failure() {
        let r = run("1..99999999\nok 1 a\nmarkers-guest: done rc=0\n");
        assert_eq!(
            names(&r, Outcome::Fail),
            ["document#1: implausible plan 1..99999999"]
        );
    }

    #[test]
    fn skip_counts() {
        let log = "\
KTAP version 1
1..3
ok 1 a
ok 2 b # SKIP not supported
not ok 3 c # SKIP
markers-guest: done rc=0
";
        let r = run(log);
        assert_eq!(names(&r, Outcome::Skip), ["b", "c"]);
        assert_eq!(
            r.render(false),
            "ok a\nskip b\nskip c\n1 passed, 0 failed, 2 skipped\n"
        );
        assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn all_skipped_is_no_tests_ran() {
        let r = run("1..1\nok 1 a # SKIP\nmarkers-guest: done rc=0\n");
        assert_eq!(reasons(&r), ["no tests ran"]);
        assert_eq!(r.summary(), "0 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn bail_out() {
        let r = run("1..2\nok 1 a\nBail out! no memory\nmarkers-guest: done rc=0\n");
        assert_eq!(reasons(&r), ["line 3: Bail out! no memory",]);
        assert_eq!(names(&r, Outcome::Fail), ["document#1: missing result 2"]);
    }

    #[test]
    fn warning_splat() {
        let log = format!(
            "ok 1 a\n[    5.100000] WARNING: CPU: 2 PID: 77 at mm/foo.c:12 bar+0x1/0x2\n{DONE}"
        );
        let r = run(&log);
        assert_eq!(
            reasons(&r),
            ["splat at line 2: [    5.100000] WARNING: CPU: 2 PID: 77 at mm/foo.c:12 bar+0x1/0x2"]
        );
        assert_eq!(r.summary(), "1 passed, 1 failed");
        assert!(r
            .render(false)
            .contains("\nnot ok harness: splat at line 2: "));
    }

    #[test]
    fn oops_excerpt_counts_once() {
        let log = "\
[   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000000
[   12.345679] #PF: supervisor read access in kernel mode
[   12.345680] #PF: error_code(0x0000) - not-present page
[   12.345681] PGD 0 P4D 0
[   12.345682] Oops: 0000 [#1] PREEMPT SMP NOPTI
[   12.345683] CPU: 1 PID: 77 Comm: insmod Not tainted 6.12.0 #1
[   12.345684] RIP: 0010:markers_oops+0x5/0x10 [markers_test]
[   12.345685] Call Trace:
[   12.345686]  <TASK>
[   12.345687]  do_one_initcall+0x41/0x200
[   12.345688]  </TASK>
[   12.345689] ---[ end trace 0000000000000000 ]---
[   12.345690] Kernel panic - not syncing: Fatal exception
";
        let r = run(log);
        assert_eq!(
            reasons(&r),
            [
                "splat at line 1: [   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000000",
                "guest did not finish (crash, hang or timeout)",
            ]
        );
        let ctx = &r.harness[0].context;
        assert_eq!(ctx.len(), 12);
        assert_eq!(
            ctx[0],
            "[   12.345679] #PF: supervisor read access in kernel mode"
        );
        let v = r.render(true);
        assert!(v.contains("\n#   [   12.345685] Call Trace:\n"), "{v}");
        assert!(!r.render(false).contains("#   "));
    }

    #[test]
    fn splat_folding_window() {
        let mut log = String::from("ok 1 a\nBUG: one\n");
        log += &"filler\n".repeat(59);
        log += "Call Trace:\n"; // line 62: 60 after line 2, folded
        log += &"filler\n".repeat(60);
        log += "Call Trace:\n"; // line 123: 61 after line 62, new splat
        log += DONE;
        let r = run(&log);
        assert_eq!(
            reasons(&r),
            [
                "splat at line 2: BUG: one",
                "splat at line 123: Call Trace:"
            ]
        );
        assert_eq!(r.harness[1].context, ["markers-guest: done rc=0"]);
    }

    #[test]
    fn every_pattern_is_detected() {
        for p in SPLAT_PATTERNS {
            let r = run(&format!("ok 1 a\n[    1.0] x {p} y\n{DONE}"));
            assert_eq!(r.harness.len(), 1, "pattern {p}");
            assert_eq!(r.exit_code(), 1);
        }
        for line in [
            "kernel BUG at lib/list.c:12!",
            "general protection fault, probably for non-canonical address",
            "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [kworker:1]",
            "INFO: task foo:12 blocked for more than 120 seconds.",
            "rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
            "UBSAN: array-index-out-of-bounds in lib/x.c:3:4",
            "refcount_t: underflow; use-after-free.",
            "markers_test: !!! invariant broken",
        ] {
            assert!(is_splat(strip_timestamp(line)), "{line}");
        }
    }

    /// Lines the debug kernel (scripts/kernel/markers-debug.config) prints,
    /// as 6.12 prints them; each must turn a run red.
    const DEBUG_REPORTS: &[&str] = &[
        // lockdep
        "WARNING: possible circular locking dependency detected",
        "WARNING: possible recursive locking detected",
        "WARNING: inconsistent lock state",
        "WARNING: suspicious RCU usage",
        "WARNING: bad unlock balance detected!",
        "INFO: trying to register non-static key.",
        // atomic sleep, preemption
        "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:585",
        "BUG: using smp_processor_id() in preemptible [00000000] code: insmod/77",
        "BUG: scheduling while atomic: insmod/77/0x00000002",
        // KASAN (in the clang kernel, KCONFIG=clang, not in this one)
        "BUG: KASAN: slab-out-of-bounds in foo+0x12/0x30 [markers]",
        // SLUB
        "BUG kmalloc-64 (Not tainted): Poison overwritten",
        "BUG kmalloc-128 (Tainted: G    B      O      ): Right Redzone overwritten",
        "BUG kmalloc-8 (Tainted: G        W         ): Freepointer corrupt",
        "BUG skbuff_head_cache (Not tainted): Object already free",
        "BUG kmalloc-32 (Not tainted): Objects remaining on __kmem_cache_shutdown()",
        "BUG kmalloc-16 (Not tainted): Left Redzone overwritten",
        "Object corrupt",
        // kmemleak
        "kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
        "unreferenced object 0xffff888003a1b2c0 (size 64):",
        "markers-kmemleak: unreferenced object 0xffff888003a1b2c0 (size 64):",
        "markers-kmemleak:   comm \"insmod\", pid 77, jiffies 4294901234",
        // list debugging
        "list_add corruption. next->prev should be prev (ffffc90000013d38), but was ffffc90000013d28. (next=ffffc90000013d28).",
        "list_add double add: new=ffff888003a1b2c0, prev=ffff888003a1b2c0, next=ffff888003a1b2d0.",
        "list_del corruption, ffff888003a1b2c0->next is LIST_POISON1 (dead000000000100)",
        // page allocator, page faults
        "BUG: Bad page state in process insmod  pfn:03a1b",
        "BUG: unable to handle page fault for address: ffff888003a1b000",
        "BUG: Bad rss-counter state mm:00000000 type:MM_ANONPAGES val:1",
    ];

    #[test]
    fn debug_reports_are_detected() {
        for line in DEBUG_REPORTS {
            assert!(is_splat(line), "{line}");
            let r = run(&format!("ok 1 a\n[   42.123456] {line}\n{DONE}"));
            assert_eq!(r.harness.len(), 1, "{line}");
            assert_eq!(r.exit_code(), 1, "{line}");
        }
    }

    /// Lines the clang kernel (scripts/kernel/markers-clang.config) prints
    /// for a KASAN report or a kCFI failure, as 6.12 prints them; each must
    /// turn a run red on its own.
    const CLANG_REPORTS: &[&str] = &[
        "BUG: KASAN: slab-out-of-bounds in foo+0x12/0x30 [markers]",
        "BUG: KASAN: use-after-free in markers_call_indirect+0x2c/0x60 [markers]",
        "BUG: KASAN: global-out-of-bounds in bar+0x1/0x2",
        "CFI failure at markers_call_indirect+0x1c/0x40 [markers] (target: foo+0x0/0x10 [markers_test]; expected type: 0x9a1b2c3d)",
        "CFI failure at bar+0x10/0x20 (no target information)",
    ];

    #[test]
    fn clang_reports_are_detected() {
        for line in CLANG_REPORTS {
            assert!(is_splat(line), "{line}");
            let r = run(&format!("ok 1 a\n[   42.123456] {line}\n{DONE}"));
            assert_eq!(r.harness.len(), 1, "{line}");
            assert_eq!(r.exit_code(), 1, "{line}");
            assert!(
                r.harness[0].reason.contains("CFI failure")
                    || r.harness[0].reason.contains("KASAN")
            );
        }
    }

    #[test]
    fn slub_report_shape() {
        assert!(is_slub_report(
            "BUG kmalloc-64 (Not tainted): Poison overwritten"
        ));
        assert!(is_slub_report("BUG dentry (Tainted: G    B   ): Padding"));
        assert!(!is_slub_report(
            "BUG kmalloc-64 (Not tainted) missing colon"
        ));
        assert!(!is_slub_report("BUG two words (Not tainted): x"));
        assert!(!is_slub_report("BUG  (Not tainted): x"));
        assert!(!is_slub_report("DEBUG kmalloc-64 (Not tainted): x"));
        // A SLUB report in a log: the ===== banner, headline, details.
        let log = "\
ok 1 a
[    7.000000] =============================================================================
[    7.000001] BUG kmalloc-64 (Tainted: G           O      ): Poison overwritten
[    7.000002] -----------------------------------------------------------------------------
[    7.000003] 0xffff888003a1b2c0-0xffff888003a1b2c0 @offset=0. First byte 0x0 instead of 0x6b
[    7.000004] FIX kmalloc-64: Restoring Poison 0xffff888003a1b2c0-0xffff888003a1b2c0=0x6b
markers-guest: done rc=0
";
        let r = run(log);
        assert_eq!(
            reasons(&r),
            ["splat at line 3: [    7.000001] BUG kmalloc-64 (Tainted: G           O      ): Poison overwritten"]
        );
    }

    #[test]
    fn debug_kernel_benign_lines_are_clean() {
        // What a clean boot and run of the debug kernel prints.
        for line in [
            "kmemleak: Kernel memory leak detector initialized (mem pool available: 15790)",
            "kmemleak: Automatic memory scanning thread ended",
            "Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar",
            "... MAX_LOCKDEP_SUBCLASSES:  8",
            "... MAX_LOCK_DEPTH:          48",
            "Running RCU self tests",
            "**********************************************************",
            "**   NOTICE NOTICE NOTICE NOTICE NOTICE NOTICE NOTICE   **",
            "mem auto-init: stack:off, heap alloc:off, heap free:off",
            "SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=4, Nodes=1",
            "markers-guest: kmemleak: ignoring 3 objects reported before the tests",
            "# kmemleak: scanned, no new suspected leaks",
            "ok 1 kmemleak: no new suspected leaks",
            "BUGS: none here",
            "list_add: fine",
        ] {
            assert!(!is_splat(line), "{line}");
        }
    }

    #[test]
    fn exclamations_and_clean_lines() {
        assert!(is_splat("test said !!! here"));
        assert!(!is_splat("ok 1 all good!"));
        assert!(!is_splat(
            "Kernel command line: console=ttyS0 hung_task_panic=1"
        ));
        assert!(!is_splat("warning: lowercase is shell noise"));
        let r = run(
            "[    0.0] Kernel command line: hung_task_panic=1\nok 1 a\nmarkers-guest: done rc=0\n",
        );
        assert!(r.success());
    }

    #[test]
    fn done_line_missing_or_nonzero() {
        let r = run("ok 1 a\n");
        assert_eq!(
            reasons(&r),
            ["guest did not finish (crash, hang or timeout)"]
        );
        assert_eq!(r.exit_code(), 1);
        let r = run("ok 1 a\nmarkers-guest: done rc=3\n");
        assert_eq!(reasons(&r), ["guest runner exited rc=3"]);
        let r = run("ok 1 a\n[    9.0] markers-guest: done rc=-1\r\n");
        assert_eq!(reasons(&r), ["guest runner exited rc=-1"]);
        let r = run("ok 1 a\n[    9.0] markers-guest: done rc=0\r\n");
        assert!(r.success());
    }

    #[test]
    fn timeout_flag() {
        let opts = Options {
            timed_out: true,
            ..Options::default()
        };
        let r = check("ok 1 a\n", &opts);
        assert_eq!(
            reasons(&r),
            ["timeout", "guest did not finish (crash, hang or timeout)"]
        );
        assert_eq!(r.summary(), "1 passed, 2 failed");
    }

    #[test]
    fn cpus_check() {
        let opts = Options {
            expect_cpus: Some(4),
            ..Options::default()
        };
        let ok = check(
            "markers-guest: cpus=4\nok 1 a\nmarkers-guest: done rc=0\n",
            &opts,
        );
        assert!(ok.success());
        // As the guest prints it: through the kernel log.
        let ok = check(
            "[    2.037220] markers-guest: cpus=4\nok 1 a\nmarkers-guest: done rc=0\n",
            &opts,
        );
        assert!(ok.success());
        let r = check(
            "markers-guest: cpus=2\nok 1 a\nmarkers-guest: done rc=0\n",
            &opts,
        );
        assert_eq!(reasons(&r), ["expected 4 CPUs, guest saw 2"]);
        let r = check("ok 1 a\nmarkers-guest: done rc=0\n", &opts);
        assert_eq!(reasons(&r), ["expected 4 CPUs, guest saw none"]);
        // Not checked unless asked for.
        assert!(run("markers-guest: cpus=2\nok 1 a\nmarkers-guest: done rc=0\n").success());
    }

    #[test]
    fn zero_tests() {
        let r = run(DONE);
        assert_eq!(reasons(&r), ["no tests ran"]);
        assert_eq!(
            r.render(false),
            "not ok harness: no tests ran\n0 passed, 1 failed\n"
        );
        assert_eq!(r.exit_code(), 1);
        let r = run("");
        assert_eq!(
            reasons(&r),
            ["guest did not finish (crash, hang or timeout)"]
        );
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn arg_parsing() {
        let p = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        let cli = p(&["--timed-out", "--verbose", "--expect-cpus", "2", "log"])
            .unwrap()
            .unwrap();
        assert_eq!(
            cli,
            Cli {
                options: Options {
                    timed_out: true,
                    expect_cpus: Some(2)
                },
                verbose: true,
                path: "log".into()
            }
        );
        let cli = p(&["--expect-cpus=8", "--", "-log"]).unwrap().unwrap();
        assert_eq!(
            (cli.options.expect_cpus, cli.path.as_str()),
            (Some(8), "-log")
        );
        assert_eq!(p(&["--help"]), Ok(None));
        assert!(p(&[]).is_err());
        assert!(p(&["a", "b"]).is_err());
        assert!(p(&["--bogus", "a"]).is_err());
        assert!(p(&["--expect-cpus"]).is_err());
        assert!(p(&["--expect-cpus", "x", "a"]).is_err());
        assert!(p(&["--timed-out=1", "a"]).is_err());
    }
}
