// SPDX-License-Identifier: GPL-2.0
/*
 * C half of markers_fault_test.ko: the module parameter and the per-task
 * fail-nth knob (task_struct fields are not reachable from Rust on 6.12).
 */
#include <linux/moduleparam.h>
#include <linux/sched.h>

#include "markers_fault_test_glue.h"

bool markers_fault_test_hot;
module_param_named(hot, markers_fault_test_hot, bool, 0400);
MODULE_PARM_DESC(hot, "Only run the ftest_hot site on one CPU until unloaded");

/*
 * Fail the @n-th slab or page allocation of the current task from now on
 * (the kernel's fail-nth; failslab and fail_page_alloc must be set not to
 * ignore sleeping allocations).  Returns -EOPNOTSUPP without fault
 * injection.
 */
int markers_fault_test_arm(unsigned int n)
{
#ifdef CONFIG_FAULT_INJECTION
	current->fail_nth = n;
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

/* Disarm; returns whether the armed failure happened. */
bool markers_fault_test_fired(void)
{
#ifdef CONFIG_FAULT_INJECTION
	bool fired = !current->fail_nth;

	current->fail_nth = 0;
	return fired;
#else
	return false;
#endif
}
