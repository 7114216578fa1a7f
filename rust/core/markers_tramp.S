/* SPDX-License-Identifier: GPL-2.0 */
/*
 * markers_call_indirect: where a marker's trampolines jump while the marker
 * does not have exactly one probe attached.  The enabled block has loaded
 * the site's dispatch into %rax and the probe arguments into %rdi (the
 * dispatch's data), %rsi (slots) and %edx (number of slots); this calls
 * dispatch->func with them, as a tail call through the retpoline thunk.
 * Not a C function: its input is %rax.  See rust/markers/site.rs.
 */
#include <linux/export.h>
#include <linux/linkage.h>
#include <asm/nospec-branch.h>

SYM_FUNC_START(markers_call_indirect)
	movq	(%rax), %r11
	JMP_NOSPEC r11
SYM_FUNC_END(markers_call_indirect)
EXPORT_SYMBOL_GPL(markers_call_indirect)
