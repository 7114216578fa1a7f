/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers of markers_fault_test.ko, called from its Rust half.
 */
#ifndef _MARKERS_FAULT_TEST_GLUE_H
#define _MARKERS_FAULT_TEST_GLUE_H

#include <linux/types.h>

int markers_fault_test_arm(unsigned int n);
bool markers_fault_test_fired(void);

#endif /* _MARKERS_FAULT_TEST_GLUE_H */
