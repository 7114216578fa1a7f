/* SPDX-License-Identifier: GPL-2.0 */
/* Between the Rust and C halves of markers_event_test.ko. */
#ifndef _MARKERS_EVENT_TEST_GLUE_H
#define _MARKERS_EVENT_TEST_GLUE_H

#include <linux/types.h>

/* Rust: fires ev_rx and ev_misc @n times. */
void markers_event_test_fire(u32 n);

/* C: the debugfs file. */
int markers_event_test_glue_init(void);
void markers_event_test_glue_exit(void);

#endif /* _MARKERS_EVENT_TEST_GLUE_H */
