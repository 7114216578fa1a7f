// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters of markers_probe_test.ko (Rust modules on 6.12 cannot
 * declare parameters).
 */
#include <linux/moduleparam.h>
#include <linux/types.h>

bool markers_probe_test_leak;
module_param_named(leak, markers_probe_test_leak, bool, 0400);
MODULE_PARM_DESC(leak, "Leave a probe registered at unload (safety-net test)");

bool markers_probe_test_mismatch;
module_param_named(mismatch, markers_probe_test_mismatch, bool, 0400);
MODULE_PARM_DESC(mismatch, "Only register a pending probe of the wrong signature");

/*
 * A probe of the wrong type for a marker of one argument (two u64
 * parameters), by address: under kCFI the registration must refuse it.
 */
static void markers_probe_test_wrong_type_fn(void *data, u64 a0, u64 a1)
{
}

const void *const markers_probe_test_wrong_type = markers_probe_test_wrong_type_fn;
