/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private interface between the Rust and C halves of markers.ko.
 */
#ifndef _MARKERS_GLUE_H
#define _MARKERS_GLUE_H

#include <linux/types.h>

#include <linux/markers.h>

struct module;
struct pt_regs;

/* Defined in Rust (rust/core/). */
bool markers_int3(struct pt_regs *regs);
int markers_module_event(unsigned long action, struct module *mod);

/*
 * What an enabled block calls: a handler and its data, immutable once
 * published.  Layout shared with the client crate (rust/markers/section.rs
 * `Dispatch`) and the probes of markers.ko (rust/core/probes.rs).
 */
struct markers_dispatch {
	markers_probe_fn func;
	void *data;
};

/* Defined in C (markers_glue.c), called from marker sites. */
void markers_call_indirect(void *data, const u64 *slots, unsigned int nslots,
			   const struct markers_dispatch *d);

/* Defined in C (markers_glue.c), called from Rust. */
int markers_glue_init(void);
void markers_glue_exit(void);
int markers_text_write(void *addr, const void *src, size_t len);
void markers_text_flush(void);
void markers_sync_all_cpus(void);
void markers_fault_arm(unsigned long action);
void markers_fault_disarm(void);
void markers_trace_print(const char *name, const char *msg, size_t len);

#endif /* _MARKERS_GLUE_H */
