/* SPDX-License-Identifier: GPL-2.0 */
/* The C glue of markers_test.ko, called from its Rust half. */
#ifndef _MARKERS_TEST_GLUE_H
#define _MARKERS_TEST_GLUE_H

int markers_test_kprobe_arm(void *addr);
void markers_test_kprobe_disarm(void);
int markers_test_kprobe_hits(void);

#endif /* _MARKERS_TEST_GLUE_H */
