// SPDX-License-Identifier: GPL-2.0

//! The control language written to `/sys/kernel/markers/control`: its
//! lexer, parser and glob matching, without the registry.
//!
//! Pure logic on byte slices, using nothing but `core`, so that the host
//! test crate `tools/control-lang` compiles this same file and tests it.
//! The grammar (see `Documentation/ABI/testing/sysfs-kernel-markers`):
//!
//! ```text
//! batch    = command { ("\n" | ";") command }     '#' starts a comment
//! command  = selector { selector } flags
//! selector = "marker" GLOB | "module" GLOB
//!          | "site" (MARKER "/" ID | MODULE ":" SYMBOL "+" OFFSET)
//! flags    = ("+" | "-" | "=") letters            letters: e, p; "=_" none
//! ```

/// The `e` flag: the sites jump.
pub(crate) const FLAG_ENABLE: u8 = 1 << 0;
/// The `p` flag: the built-in print probe is attached.
pub(crate) const FLAG_PRINT: u8 = 1 << 1;

/// Longest marker name.
pub(crate) const NAME_MAX: usize = 63;
/// Longest module name (`MODULE_NAME_LEN` - 1).
pub(crate) const MODULE_MAX: usize = 55;
/// Longest symbol name (`KSYM_NAME_LEN` - 1).
pub(crate) const SYMBOL_MAX: usize = 511;

/// What a command does to the flags it names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    /// `+`: set them.
    Add,
    /// `-`: clear them.
    Remove,
    /// `=`: set exactly them.
    Set,
}

impl Op {
    /// The new value of flag `f` (a `FLAG_*`) given `flags`, or `None` to
    /// leave it as it is.
    pub(crate) fn apply(self, flags: u8, f: u8) -> Option<bool> {
        match self {
            Op::Add => (flags & f != 0).then_some(true),
            Op::Remove => (flags & f != 0).then_some(false),
            Op::Set => Some(flags & f != 0),
        }
    }
}

/// One site, as a `site` selector names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SiteSpec<'a> {
    /// `MARKER/ID`: the directory `MARKER/sites/ID`.
    Id { marker: &'a [u8], id: u32 },
    /// `MODULE:SYMBOL+0xOFF`: by location.
    Location {
        module: &'a [u8],
        symbol: &'a [u8],
        offset: usize,
    },
}

/// One command.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Command<'a> {
    pub(crate) marker: Option<&'a [u8]>,
    pub(crate) module: Option<&'a [u8]>,
    pub(crate) site: Option<SiteSpec<'a>>,
    pub(crate) op: Op,
    /// `FLAG_*` bits.
    pub(crate) flags: u8,
}

impl Command<'_> {
    /// Whether the command acts on sites (it has a `module` or a `site`
    /// selector) rather than on markers.
    pub(crate) fn on_sites(&self) -> bool {
        self.module.is_some() || self.site.is_some()
    }
}

/// Why a command is malformed: a message and the word at fault, if any.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct SyntaxError<'a> {
    pub(crate) msg: &'static str,
    pub(crate) word: &'a [u8],
}

fn err<'a, T>(msg: &'static str, word: &'a [u8]) -> Result<T, SyntaxError<'a>> {
    Err(SyntaxError { msg, word })
}

/// The commands of a batch, each with the number of its line (from 1):
/// lines split at newlines and `;`, comments and blank commands dropped.
pub(crate) fn commands(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    data.split(|&c| c == b'\n')
        .enumerate()
        .flat_map(|(n, line)| {
            let line = match line.iter().position(|&c| c == b'#') {
                Some(i) => &line[..i],
                None => line,
            };
            line.split(|&c| c == b';').map(move |c| (n + 1, c))
        })
        .filter(|(_, c)| c.iter().any(|b| !b.is_ascii_whitespace()))
}

/// The first byte of `data` the language does not allow (outside
/// printable ASCII, tab and newline), with its line number.
pub(crate) fn bad_byte(data: &[u8]) -> Option<(usize, u8)> {
    let mut line = 1;
    for &b in data {
        match b {
            b'\n' => line += 1,
            b'\t' | 0x20..=0x7e => {}
            _ => return Some((line, b)),
        }
    }
    None
}

/// Whether `s` is a marker name or a glob over them: 1 to 63 bytes of
/// `[A-Za-z0-9_]`, plus `*` and `?` when `glob`.
pub(crate) fn valid_marker(s: &[u8], glob: bool) -> bool {
    (1..=NAME_MAX).contains(&s.len())
        && s.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || (glob && (c == b'*' || c == b'?')))
}

/// Whether `s` is a module name or a glob over them.
fn valid_module(s: &[u8], glob: bool) -> bool {
    (1..=MODULE_MAX).contains(&s.len())
        && s.iter().all(|&c| {
            c.is_ascii_alphanumeric()
                || c == b'_'
                || c == b'-'
                || (glob && (c == b'*' || c == b'?'))
        })
}

/// Whether `s` is a symbol name as kallsyms prints it (Rust v0 and legacy
/// mangling, C, compiler suffixes such as `.cold`).
fn valid_symbol(s: &[u8]) -> bool {
    (1..=SYMBOL_MAX).contains(&s.len())
        && s.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'$')
}

/// Whether `s` has glob characters.
pub(crate) fn is_glob(s: &[u8]) -> bool {
    s.iter().any(|&c| c == b'*' || c == b'?')
}

/// Whether `s` matches the glob `pat` (`*`: any run of bytes, `?`: one
/// byte). Iterative, with one backtrack point: linear in practice,
/// `O(pat * s)` at worst.
pub(crate) fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            // Let the last `*` take one more byte.
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// Parses an unsigned number: decimal, or hexadecimal after `0x`.
fn number(s: &[u8]) -> Option<usize> {
    let (digits, radix) = match s {
        [b'0', b'x' | b'X', rest @ ..] => (rest, 16),
        _ => (s, 10),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut v: usize = 0;
    for &c in digits {
        let d = (c as char).to_digit(radix)? as usize;
        v = v.checked_mul(radix as usize)?.checked_add(d)?;
    }
    Some(v)
}

/// Parses the argument of a `site` selector.
fn site_spec(w: &[u8]) -> Result<SiteSpec<'_>, SyntaxError<'_>> {
    let colon = w.iter().position(|&c| c == b':');
    if let (None, Some(slash)) = (colon, w.iter().position(|&c| c == b'/')) {
        let (marker, id) = (&w[..slash], &w[slash + 1..]);
        if !valid_marker(marker, false) {
            return err("a site's marker must be a marker name (no globs)", w);
        }
        let decimal = !id.is_empty() && id.iter().all(u8::is_ascii_digit);
        let id = match number(id).and_then(|v| u32::try_from(v).ok()) {
            Some(id) if decimal => id,
            _ => return err("a site number must be a decimal number", w),
        };
        return Ok(SiteSpec::Id { marker, id });
    }
    let Some(colon) = colon else {
        return err("a site is MARKER/ID or MODULE:SYMBOL+0xOFFSET", w);
    };
    let (module, rest) = (&w[..colon], &w[colon + 1..]);
    let Some(plus) = rest.iter().rposition(|&c| c == b'+') else {
        return err("a site location needs an offset: MODULE:SYMBOL+0xOFFSET", w);
    };
    let (symbol, off) = (&rest[..plus], &rest[plus + 1..]);
    // `%pS` prints "+0x1c/0x80": accept the size and ignore it.
    let off = match off.iter().position(|&c| c == b'/') {
        Some(i) => &off[..i],
        None => off,
    };
    if !valid_module(module, false) {
        return err("a site's module must be a module name (no globs)", w);
    }
    if !valid_symbol(symbol) {
        return err("malformed symbol name in site location", w);
    }
    let Some(offset) = number(off) else {
        return err("malformed offset in site location", w);
    };
    Ok(SiteSpec::Location {
        module,
        symbol,
        offset,
    })
}

/// Parses the flag operation `w` (`+e`, `-p`, `=ep`, `=_`).
fn flags(w: &[u8]) -> Result<(Op, u8), SyntaxError<'_>> {
    let op = match w.first() {
        Some(b'+') => Op::Add,
        Some(b'-') => Op::Remove,
        Some(b'=') => Op::Set,
        _ => return err("expected a flag operation (+FLAGS, -FLAGS or =FLAGS)", w),
    };
    let letters = &w[1..];
    if op == Op::Set && letters == b"_" {
        return Ok((op, 0));
    }
    if letters.is_empty() {
        return err("no flags after the operation (flags: e, p; =_ for none)", w);
    }
    let mut f = 0;
    for &c in letters {
        let bit = match c {
            b'e' => FLAG_ENABLE,
            b'p' => FLAG_PRINT,
            _ => return err("unknown flag (flags: e enable, p print probe)", w),
        };
        if f & bit != 0 {
            return err("flag given twice", w);
        }
        f |= bit;
    }
    Ok((op, f))
}

/// `s` without leading and trailing ASCII whitespace.
fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &s[start..end]
}

/// Parses one command (a non-blank line or `;`-separated part of one).
pub(crate) fn parse(line: &[u8]) -> Result<Command<'_>, SyntaxError<'_>> {
    let mut words = line
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let mut cmd = Command {
        marker: None,
        module: None,
        site: None,
        op: Op::Add,
        flags: 0,
    };
    let mut flags_seen = false;
    while let Some(w) = words.next() {
        if flags_seen {
            return err("nothing may follow the flag operation", w);
        }
        match w {
            b"marker" | b"module" | b"site" => {
                let Some(arg) = words.next() else {
                    return err("selector without an argument", w);
                };
                match w {
                    b"marker" => {
                        if cmd.marker.is_some() {
                            return err("selector given twice", w);
                        }
                        if !valid_marker(arg, true) {
                            return err(
                                "a marker is 1-63 characters of [A-Za-z0-9_] (globs: * ?)",
                                arg,
                            );
                        }
                        cmd.marker = Some(arg);
                    }
                    b"module" => {
                        if cmd.module.is_some() {
                            return err("selector given twice", w);
                        }
                        if !valid_module(arg, true) {
                            return err(
                                "a module is 1-55 characters of [A-Za-z0-9_-] (globs: * ?)",
                                arg,
                            );
                        }
                        cmd.module = Some(arg);
                    }
                    _ => {
                        if cmd.site.is_some() {
                            return err("selector given twice", w);
                        }
                        cmd.site = Some(site_spec(arg)?);
                    }
                }
            }
            [b'+' | b'-' | b'=', ..] => {
                (cmd.op, cmd.flags) = flags(w)?;
                flags_seen = true;
            }
            _ => {
                return err(
                    "unknown keyword (expected marker, module, site or a flag operation)",
                    w,
                )
            }
        }
    }
    if cmd.marker.is_none() && !cmd.on_sites() {
        return err(
            "a command needs a selector (marker, module or site)",
            trim(line),
        );
    }
    if !flags_seen {
        return err(
            "a command needs a flag operation (+e, -e, +p, ...)",
            trim(line),
        );
    }
    if cmd.on_sites() && cmd.flags & FLAG_PRINT != 0 {
        return err(
            "the print probe (p) is per marker: not with module or site",
            trim(line),
        );
    }
    Ok(cmd)
}
