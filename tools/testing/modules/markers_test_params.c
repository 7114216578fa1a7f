// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters of markers_test.ko (Rust modules on 6.12 cannot declare
 * parameters).
 */
#include <linux/moduleparam.h>

unsigned int markers_test_toggles = 2000;
module_param_named(toggles, markers_test_toggles, uint, 0400);
MODULE_PARM_DESC(toggles, "Patch passes of the stress test (default 2000)");
