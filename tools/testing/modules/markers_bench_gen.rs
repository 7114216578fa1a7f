// SPDX-License-Identifier: GPL-2.0

//! Generated marker sites for the toggle and module-load benchmarks.
//!
//! Not a crate of its own: `markers_bench_toggle_main.rs`,
//! `markers_bench_sites_main.rs` and `markers_bench_nosites_main.rs` include
//! it (`#[path]`), after defining `bench_site!(name, x)` as a `mark!` or as
//! nothing. [`bench_group!`] then makes a group of sites: 100 markers
//! `<group>_m00` to `_m99` (or one, `_m00`), each an `#[inline(always)]`
//! function with one `mark!` invocation, and `#[inline(never)]` callers
//! `<group>_call00`... that each call every marker's function once. Every
//! inlined copy is a site of its own, so a group has markers x callers
//! sites, and one descriptor, trampoline, state and jump key per marker.

/// One inline function per marker of the group, holding its `mark!`.
macro_rules! bench_markers {
    ($g:ident, ($($m:tt)*)) => {
        kernel::macros::paste! { $(
            #[inline(always)]
            fn [<$g _m $m>](x: u64) {
                bench_site!([<$g _m $m>], x);
            }
        )* }
    };
}

/// One caller: a site of every marker of the group. Each caller passes its
/// own number too, so that no two callers are the same function (LLVM would
/// merge them, and their sites with them).
macro_rules! bench_caller {
    ($g:ident, $c:tt, ($($m:tt)*)) => {
        kernel::macros::paste! {
            #[inline(never)]
            fn [<$g _call $c>](x: u64) {
                $( [<$g _m $m>](x.wrapping_add($c)); )*
            }
        }
    };
}

/// A group: `bench_group!(name, (marker numbers), (caller numbers))`, and
/// `<NAME>_CALLERS`, the table of its callers (which keeps them).
macro_rules! bench_group {
    ($g:ident, $ms:tt, ($($c:tt)*)) => {
        bench_markers!($g, $ms);
        $( bench_caller!($g, $c, $ms); )*
        kernel::macros::paste! {
            pub(crate) static [<$g:upper _CALLERS>]: &[fn(u64)] = &[$( [<$g _call $c>] ),*];
        }
    };
}

/// 1 site: one marker, one caller.
#[allow(unused_macros)]
macro_rules! bench_group_1 {
    () => {
        bench_group!(bsites1, (00), (00));
    };
}

/// 100 sites: 100 markers, one caller.
#[allow(unused_macros)]
macro_rules! bench_group_100 {
    () => {
        bench_group!(bsites100, (00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99), (00));
    };
}

/// 1,000 sites: 100 markers, 10 callers.
#[allow(unused_macros)]
macro_rules! bench_group_1000 {
    () => {
        bench_group!(bsites1000, (00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99), (00 01 02 03 04 05 06 07 08 09));
    };
}

/// 10,000 sites: 100 markers, 100 callers.
#[allow(unused_macros)]
macro_rules! bench_group_10000 {
    () => {
        bench_group!(
            bsites10000,
            (00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99),
            (00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99)
        );
    };
}
