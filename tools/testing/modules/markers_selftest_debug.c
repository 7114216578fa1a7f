// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test for the debug kernel (KCONFIG=debug): provokes, on
 * purpose, a report that the kernel's debugging options print and that
 * tools/ktap-check must turn red.  LKDTM covers oopses, WARNs and list
 * corruption; it has nothing for these two:
 *
 *   what=lockdep  takes two mutexes in both orders: lockdep reports
 *                 "possible circular locking dependency" at once (one
 *                 thread, so nothing actually deadlocks)
 *   what=leak     allocates a few objects and drops every pointer to them:
 *                 the guest's end-of-run kmemleak scan reports them
 *
 * The load succeeds either way: the report is the point.
 */

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *what = "";
module_param(what, charp, 0444);
MODULE_PARM_DESC(what, "report to provoke: lockdep or leak");

static DEFINE_MUTEX(selftest_a);
static DEFINE_MUTEX(selftest_b);

static void provoke_lockdep(void)
{
	mutex_lock(&selftest_a);
	mutex_lock(&selftest_b);
	mutex_unlock(&selftest_b);
	mutex_unlock(&selftest_a);

	/* The reverse order: lockdep now sees the cycle a -> b -> a. */
	mutex_lock(&selftest_b);
	mutex_lock(&selftest_a);
	mutex_unlock(&selftest_a);
	mutex_unlock(&selftest_b);
}

/*
 * Several objects of several sizes, so that a stale copy of one pointer
 * (in a register spilled to a stack kmemleak scans) cannot hide them all.
 */
static noinline void provoke_leak(void)
{
	static const size_t sizes[] = { 32, 64, 128, 256, 512, 1024 };
	int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *p = kmalloc(sizes[i], GFP_KERNEL);

		if (p)
			memset(p, 0x5a, sizes[i]);
	}
}

static int __init markers_selftest_debug_init(void)
{
	if (!strcmp(what, "lockdep")) {
		pr_info("provoking a lockdep report (circular locking)\n");
		provoke_lockdep();
	} else if (!strcmp(what, "leak")) {
		pr_info("leaking memory for kmemleak to find\n");
		provoke_leak();
	} else {
		pr_err("unknown what='%s' (lockdep or leak)\n", what);
		return -EINVAL;
	}
	return 0;
}

static void __exit markers_selftest_debug_exit(void)
{
}

module_init(markers_selftest_debug_init);
module_exit(markers_selftest_debug_exit);
MODULE_DESCRIPTION("markers harness self-test: provoke debug kernel reports");
MODULE_LICENSE("GPL");
