/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C half of markers_bench.ko, called from markers_bench_main.rs.
 */
#ifndef _MARKERS_BENCH_GLUE_H
#define _MARKERS_BENCH_GLUE_H

#include <linux/types.h>

/* Module parameters (Rust modules on 6.12 cannot declare them). */
extern unsigned long markers_bench_iters;
extern unsigned long markers_bench_slow_iters;
extern unsigned int markers_bench_reps;
extern bool markers_bench_toggle;

/* Loops of n iterations, C baselines and subjects. */
void markers_bench_c_empty(u64 n);
void markers_bench_key_loop(u64 n);
void markers_bench_tp_loop(u64 n);
void markers_bench_ev_loop(u64 n);
int markers_bench_event_set(const char *system, const char *event, int set);
void markers_bench_kp_loop(u64 n);

/* Kernel baselines: a tracepoint's probes, an int3 kprobe. */
int markers_bench_tp_attach(unsigned int nprobes);
void markers_bench_tp_detach(unsigned int nprobes);
int markers_bench_kp_arm(void);
void markers_bench_kp_disarm(void);
unsigned long markers_bench_kp_flags(void);
u64 markers_bench_kp_hits(void);

/* Probes on markers, C side (see the section in markers_bench_glue.c). */
int markers_bench_attach_c(const char *name, const char *sig,
			   unsigned int nprobes);
void markers_bench_detach_c(const char *name, unsigned int nprobes);
int markers_bench_print_on(const char *name);
void markers_bench_print_off(const char *name);

/* Toggle costs: markers against static keys (plain TCG). */
int markers_bench_toggle_run(unsigned int reps);

#endif /* _MARKERS_BENCH_GLUE_H */
