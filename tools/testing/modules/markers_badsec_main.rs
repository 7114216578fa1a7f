// SPDX-License-Identifier: GPL-2.0

//! A module with a malformed `__markers` section, for the registry's
//! validation: hand-written entries, each wrong in one way, next to two
//! real sites. The module must load; each bad entry must be refused with a
//! log line naming the reason; the real site `badsec_ok` must work; the real
//! site `sample_tick` has another signature than the sample module's marker
//! of that name and must be refused when both are loaded; the real site
//! `control` has a name reserved for a file of `/sys/kernel/markers` and
//! must be refused.

use core::hint::black_box;

use kernel::prelude::*;
use markers::mark;

module! {
    type: Badsec,
    name: "markers_badsec",
    author: "The markers developers",
    description: "Malformed __markers entries for the registry's tests",
    license: "GPL",
}

#[no_mangle]
#[inline(never)]
extern "C" fn markers_badsec_work(x: u32) -> u32 {
    let y = black_box(x).wrapping_mul(3);
    mark!(badsec_ok, "y={}", y);
    mark!(sample_tick, "wrong signature {}", y);
    mark!(control, "a reserved name {}", y);
    y
}

/// State slot of the hand-written descriptors: the size of a `SiteState`,
/// which the registry writes for an entry it accepts.
#[no_mangle]
static mut markers_badsec_state: [u64; 3] = [0; 3];

// The hand-written entries. `good_desc` is a valid descriptor; each entry
// breaks one rule. `work+1` is inside an instruction: not the NOP.
core::arch::global_asm!(
    ".pushsection .rodata.badsec, \"a\"",
    ".balign 8",
    "badsec_name_ok: .asciz \"badsec_hand\"",
    "badsec_name_bad: .asciz \"bad-name\"",
    "badsec_name_dup: .asciz \"badsec_dup\"",
    "badsec_name_rec: .asciz \"badsec_rec\"",
    "badsec_fmt: .asciz \"v={{}}\"",
    ".balign 8",
    // A valid descriptor (magic "MRKD", layout 4, one u32 argument, no
    // trampoline or recorder: entries using it fail an earlier check).
    "badsec_good_desc:",
    ".long 0x444b524d",
    ".short 4, 1",
    ".quad badsec_name_ok, badsec_fmt, __this_module, markers_abi_version",
    ".quad {state}",
    ".quad 0x49, 0",
    ".quad 0, 0",
    "badsec_bad_magic:",
    ".long 0x12345678",
    ".short 4, 1",
    ".quad badsec_name_ok, badsec_fmt, __this_module, markers_abi_version",
    ".quad {state}",
    ".quad 0x49, 0",
    ".quad 0, 0",
    "badsec_bad_owner:",
    ".long 0x444b524d",
    ".short 4, 1",
    ".quad badsec_name_ok, badsec_fmt, 0, markers_abi_version",
    ".quad {state}",
    ".quad 0x49, 0",
    ".quad 0, 0",
    "badsec_bad_name:",
    ".long 0x444b524d",
    ".short 4, 1",
    ".quad badsec_name_bad, badsec_fmt, __this_module, markers_abi_version",
    ".quad {state}",
    ".quad 0x49, 0",
    ".quad 0, 0",
    "badsec_bad_sig:",
    ".long 0x444b524d",
    ".short 4, 1",
    ".quad badsec_name_ok, badsec_fmt, __this_module, markers_abi_version",
    ".quad {state}",
    ".quad 0x51, 0",
    ".quad 0, 0",
    // The state in read-only data: the registry would fault writing it.
    "badsec_ro_state:",
    ".long 0x444b524d",
    ".short 4, 1",
    ".quad badsec_name_ok, badsec_fmt, __this_module, markers_abi_version",
    ".quad badsec_good_desc",
    ".quad 0x49, 0",
    ".quad 0, 0",
    // A valid descriptor with a valid trampoline, for the two entries of
    // one site (below).
    "badsec_dup_desc:",
    ".long 0x444b524d",
    ".short 4, 1",
    ".quad badsec_name_dup, badsec_fmt, __this_module, markers_abi_version",
    ".quad {state}",
    ".quad 0x49, 0",
    ".quad badsec_dup_tramp, badsec_dup_rec",
    // Valid but for its trace event recorder, which is in read-only data.
    "badsec_bad_rec:",
    ".long 0x444b524d",
    ".short 4, 1",
    ".quad badsec_name_rec, badsec_fmt, __this_module, markers_abi_version",
    ".quad {state}",
    ".quad 0x49, 0",
    ".quad badsec_dup_tramp, badsec_fmt",
    // Thirteen arguments: one more than a marker may take.
    "badsec_too_many:",
    ".long 0x444b524d",
    ".short 4, 13",
    ".quad badsec_name_ok, badsec_fmt, __this_module, markers_abi_version",
    ".quad {state}",
    ".ascii \"IIIIIIIIIIIII\", \"\\0\\0\\0\"",
    ".quad 0, 0",
    ".popsection",
    ".pushsection __markers, \"a\"",
    ".balign 8",
    // 1. The site is in .rodata, not text.
    ".long badsec_fmt - .",
    ".long {work} - .",
    ".quad badsec_good_desc - .",
    // 2. The jump target is in .rodata.
    ".long {work} + 1 - .",
    ".long badsec_fmt - .",
    ".quad badsec_good_desc - .",
    // 3. The descriptor is far outside the module.
    ".long {work} + 1 - .",
    ".long {work} - .",
    ".quad 0x100000000",
    // 4. Bad magic.
    ".long {work} + 1 - .",
    ".long {work} - .",
    ".quad badsec_bad_magic - .",
    // 5. Descriptor owned by no module.
    ".long {work} + 1 - .",
    ".long {work} - .",
    ".quad badsec_bad_owner - .",
    // 6. Malformed name.
    ".long {work} + 1 - .",
    ".long {work} - .",
    ".quad badsec_bad_name - .",
    // 7. Malformed signature.
    ".long {work} + 1 - .",
    ".long {work} - .",
    ".quad badsec_bad_sig - .",
    // 8. Everything valid, but the site is not the 5-byte NOP.
    ".long {work} + 1 - .",
    ".long {work} - .",
    ".quad badsec_good_desc - .",
    // 9. The site state in read-only data.
    ".long {work} + 1 - .",
    ".long {work} - .",
    ".quad badsec_ro_state - .",
    // 10. Thirteen arguments.
    ".long {work} + 1 - .",
    ".long {work} - .",
    ".quad badsec_too_many - .",
    // 11-12. A valid site, then the same site again.
    ".long badsec_dup_site - .",
    ".long badsec_dup_site + 5 - .",
    ".quad badsec_dup_desc - .",
    ".long badsec_dup_site - .",
    ".long badsec_dup_site + 5 - .",
    ".quad badsec_dup_desc - .",
    // 13. A valid site whose descriptor's recorder is not code.
    ".long badsec_rec_site - .",
    ".long badsec_rec_site + 5 - .",
    ".quad badsec_bad_rec - .",
    ".popsection",
    // The sites of entries 11-13: a NOP and a return, never called; and
    // their trampoline. Jump targets, not indirect-call targets.
    ".pushsection .text.badsec_dup, \"ax\"",
    ".type badsec_dup_site, @function",
    "badsec_dup_site:",
    ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00",
    "jmp __x86_return_thunk",
    ".size badsec_dup_site, . - badsec_dup_site",
    ".type badsec_rec_site, @function",
    "badsec_rec_site:",
    ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00",
    "jmp __x86_return_thunk",
    ".size badsec_rec_site, . - badsec_rec_site",
    // The recorder of badsec_dup (a probe doing nothing; its event is
    // never switched on).
    ".type badsec_dup_rec, @function",
    "badsec_dup_rec:",
    "endbr64",
    "jmp __x86_return_thunk",
    ".size badsec_dup_rec, . - badsec_dup_rec",
    ".popsection",
    ".pushsection .kprobes.text, \"ax\"",
    ".type badsec_dup_tramp, @function",
    "badsec_dup_tramp:",
    ".byte 0xe9",
    ".long markers_dispatch_1 - . - 4",
    ".size badsec_dup_tramp, 5",
    ".popsection",
    ".pushsection .discard.noendbr",
    ".long badsec_dup_site, badsec_dup_site + 5, badsec_dup_tramp",
    ".long badsec_rec_site, badsec_rec_site + 5",
    ".popsection",
    work = sym markers_badsec_work,
    state = sym markers_badsec_state,
);

struct Badsec;

impl kernel::Module for Badsec {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded, work(2) = {}\n", markers_badsec_work(2));
        Ok(Badsec)
    }
}
