// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters of markers_probe_test.ko (Rust modules on 6.12 cannot
 * declare parameters).
 */
#include <linux/moduleparam.h>

bool markers_probe_test_leak;
module_param_named(leak, markers_probe_test_leak, bool, 0400);
MODULE_PARM_DESC(leak, "Leave a probe registered at unload (safety-net test)");

bool markers_probe_test_mismatch;
module_param_named(mismatch, markers_probe_test_mismatch, bool, 0400);
MODULE_PARM_DESC(mismatch, "Only register a pending probe of the wrong signature");
