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
 * `Dispatch`) and the probes of markers.ko (rust/core/probes.rs), which
 * defines markers_dispatch_0 ... markers_dispatch_12, where trampolines
 * jump.
 */
struct markers_dispatch {
	const void *func;
	void *data;
};

/* The dispatchers, by arity (rust/core/probes.rs); exported here. */
#define MARKERS_DECLARE_DISPATCH(n) void markers_dispatch_##n(void)
MARKERS_DECLARE_DISPATCH(0);
MARKERS_DECLARE_DISPATCH(1);
MARKERS_DECLARE_DISPATCH(2);
MARKERS_DECLARE_DISPATCH(3);
MARKERS_DECLARE_DISPATCH(4);
MARKERS_DECLARE_DISPATCH(5);
MARKERS_DECLARE_DISPATCH(6);
MARKERS_DECLARE_DISPATCH(7);
MARKERS_DECLARE_DISPATCH(8);
MARKERS_DECLARE_DISPATCH(9);
MARKERS_DECLARE_DISPATCH(10);
MARKERS_DECLARE_DISPATCH(11);
MARKERS_DECLARE_DISPATCH(12);

/* Defined in C (markers_glue.c), called from Rust. */
int markers_glue_init(void);
void markers_glue_exit(void);
int markers_text_write(void *addr, const void *src, size_t len);
void markers_text_flush(void);
void markers_sync_all_cpus(void);
void markers_fault_arm(unsigned long action);
void markers_fault_disarm(void);
void markers_trace_print(const char *name, const char *msg, size_t len);
void markers_synchronize_probes(void);
bool markers_gp_skipped(void);
unsigned long markers_skip_endbr(unsigned long addr);
int markers_cfi_same_type(const void *func, const void *ref);
void markers_preempt_disable(void);
void markers_preempt_enable(void);
u64 __percpu *markers_hits_alloc(size_t n);
void markers_hits_free(u64 __percpu *hits);
u64 markers_hits_sum(const u64 __percpu *hits);
void markers_hits_reset(u64 __percpu *hits);
bool markers_self_get(void);
void markers_self_put(void);
int markers_locked_down(void);
bool markers_capable(void);

/* Markers as trace events (markers_events.c). */
int markers_events_init(void);
void markers_events_exit(void);
int markers_events_prepare(struct module *mod, const char *name, size_t nlen,
			   const char *sig, size_t nargs, const char *format,
			   size_t flen, const void *recorder);
int markers_events_commit(struct module *mod);
void markers_events_abort(struct module *mod);
/* Called by the trace event recorders of client modules (rust/markers/event.rs). */
struct trace_event_file;
void *markers_event_reserve(struct trace_event_file *file, void *buf, unsigned int size);
void markers_event_commit(void *buf);

#endif /* _MARKERS_GLUE_H */
