// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of markers_test.ko: its module parameters (Rust modules on 6.12
 * cannot declare parameters) and a kprobe (kprobes.h is not in the Rust
 * bindings), to show where kprobes are refused and where they coexist with
 * markers.
 */
#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "markers_test_glue.h"

unsigned int markers_test_toggles = 2000;
module_param_named(toggles, markers_test_toggles, uint, 0400);
MODULE_PARM_DESC(toggles, "Patch passes of the stress test (default 2000)");

bool markers_test_expect_no_late;
module_param_named(expect_no_late, markers_test_expect_no_late, bool, 0400);
MODULE_PARM_DESC(expect_no_late,
		 "Fail on late int3 traps (single-threaded TCG, hardware)");

static atomic_t markers_test_kp_hits = ATOMIC_INIT(0);

static int markers_test_kp_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&markers_test_kp_hits);
	return 0;
}

static struct kprobe markers_test_kp;

/* Place the kprobe at @addr (the struct is reused: reset it first). */
int markers_test_kprobe_arm(void *addr)
{
	memset(&markers_test_kp, 0, sizeof(markers_test_kp));
	markers_test_kp.pre_handler = markers_test_kp_pre;
	markers_test_kp.addr = addr;
	return register_kprobe(&markers_test_kp);
}

void markers_test_kprobe_disarm(void)
{
	unregister_kprobe(&markers_test_kp);
}

int markers_test_kprobe_hits(void)
{
	return atomic_read(&markers_test_kp_hits);
}
