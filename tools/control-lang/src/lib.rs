// SPDX-License-Identifier: GPL-2.0

//! Host tests of the control language of `markers.ko`: the kernel's own
//! `rust/core/control/lang.rs`, compiled for the host.

#[path = "../../../rust/core/control/lang.rs"]
#[allow(dead_code)]
mod lang;

#[cfg(test)]
mod tests {
    use super::lang::*;

    fn ok(line: &str) -> Command<'_> {
        parse(line.as_bytes()).unwrap_or_else(|e| {
            panic!(
                "{line:?}: {} ({:?})",
                e.msg,
                std::str::from_utf8(e.word).unwrap()
            )
        })
    }

    fn bad(line: &str) -> &'static str {
        match parse(line.as_bytes()) {
            Ok(c) => panic!("{line:?} parsed as {c:?}"),
            Err(e) => e.msg,
        }
    }

    #[test]
    fn marker_commands() {
        let c = ok("marker sample_* +e");
        assert_eq!(c.marker, Some(&b"sample_*"[..]));
        assert_eq!((c.op, c.flags), (Op::Add, FLAG_ENABLE));
        assert!(!c.on_sites());
        let c = ok("  marker\tfoo   -ep  ");
        assert_eq!((c.op, c.flags), (Op::Remove, FLAG_ENABLE | FLAG_PRINT));
        let c = ok("marker * =_");
        assert_eq!((c.op, c.flags), (Op::Set, 0));
        let c = ok("marker foo =p");
        assert_eq!(c.op.apply(c.flags, FLAG_ENABLE), Some(false));
        assert_eq!(c.op.apply(c.flags, FLAG_PRINT), Some(true));
        let c = ok("marker foo +p");
        assert_eq!(c.op.apply(c.flags, FLAG_ENABLE), None);
    }

    #[test]
    fn site_commands() {
        let c = ok("marker net_* module netsim +e");
        assert_eq!(c.module, Some(&b"netsim"[..]));
        assert!(c.on_sites());
        let c = ok("site netsim:rx+0x1c -e");
        assert_eq!(
            c.site,
            Some(SiteSpec::Location {
                module: b"netsim",
                symbol: b"rx",
                offset: 0x1c
            })
        );
        let c = ok("site markers_sample:_RNvCs1234_14markers_sample4tick+0x9/0x40 +e");
        assert!(matches!(
            c.site,
            Some(SiteSpec::Location { offset: 9, symbol, .. }) if symbol == b"_RNvCs1234_14markers_sample4tick"
        ));
        let c = ok("site sample_tick/12 -e");
        assert_eq!(
            c.site,
            Some(SiteSpec::Id {
                marker: b"sample_tick",
                id: 12
            })
        );
        let c = ok("site m:f.cold+12 =e");
        assert!(matches!(
            c.site,
            Some(SiteSpec::Location { offset: 12, .. })
        ));
        ok("module my-mod +e");
    }

    #[test]
    fn syntax_errors() {
        bad("");
        bad("+e");
        bad("marker");
        bad("marker foo");
        bad("marker foo +x");
        bad("marker foo +");
        bad("marker foo ee");
        bad("marker foo +ee");
        bad("marker foo +e extra");
        bad("marker foo marker bar +e");
        bad("marker foo-bar +e");
        bad("marker aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa +e");
        bad("enable foo");
        bad("module m +p");
        bad("site foo/1 +ep");
        bad("site foo/x +e");
        bad("site foo/0x1 +e");
        bad("site foo/99999999999 +e");
        bad("site foo* /1 +e");
        bad("site m:sym -e");
        bad("site m:sym+zz -e");
        bad("site m*:sym+1 -e");
        bad("site :sym+1 -e");
        bad("site m:+1 -e");
        bad("site nothing -e");
        assert_eq!(
            bad("marker foo"),
            "a command needs a flag operation (+e, -e, +p, ...)"
        );
        assert_eq!(
            bad("=e"),
            "a command needs a selector (marker, module or site)"
        );
    }

    #[test]
    fn batches() {
        let b = b"marker a +e\n# a comment\n\nmarker b -e; marker c +p # trailing\n  ;  \n";
        let v: Vec<_> = commands(b).collect();
        assert_eq!(
            v,
            vec![
                (1, &b"marker a +e"[..]),
                (4, &b"marker b -e"[..]),
                (4, &b" marker c +p "[..])
            ]
        );
        assert_eq!(commands(b"\n \n# x\n").count(), 0);
        assert_eq!(bad_byte(b"marker a +e\nmarker \xff +e"), Some((2, 0xff)));
        assert_eq!(bad_byte(b"marker a\t+e\n"), None);
        assert_eq!(bad_byte(b"a\0"), Some((1, 0)));
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"*", b"anything"));
        assert!(glob_match(b"sample_*", b"sample_tick"));
        assert!(!glob_match(b"sample_*", b"sampl_tick"));
        assert!(glob_match(b"s?mple", b"sample"));
        assert!(!glob_match(b"s?mple", b"smple"));
        assert!(glob_match(b"*_tick", b"sample_tick"));
        assert!(glob_match(b"a*b*c", b"aXbYbZc"));
        assert!(!glob_match(b"a*b*c", b"aXbYbZ"));
        assert!(glob_match(b"a**", b"a"));
        assert!(!glob_match(b"abc", b"abcd"));
        assert!(!glob_match(b"", b"a"));
        assert!(glob_match(b"*a*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaaaaaaab"));
        assert!(!glob_match(b"*a*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(is_glob(b"a*") && is_glob(b"?") && !is_glob(b"abc"));
        assert!(valid_marker(b"abc_1", false) && !valid_marker(b"a*", false));
        assert!(valid_marker(b"a*", true) && !valid_marker(b"", true));
    }
}
