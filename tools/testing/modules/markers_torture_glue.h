/* SPDX-License-Identifier: GPL-2.0 */
/*
 * markers_torture.ko: the functions its C and Rust halves call in each other.
 */
#ifndef _MARKERS_TORTURE_GLUE_H
#define _MARKERS_TORTURE_GLUE_H

#include <linux/types.h>

/* The probe data of both halves (TData in markers_torture_main.rs). */
struct tort_data {
	u64 magic;
	u32 owner;
	u32 marker;
	atomic64_t calls;
};

/* C, called by the Rust half. */
int markers_torture_start(const unsigned long *sites, u32 nsites);
void markers_torture_stop(void);
void markers_torture_seen(const struct tort_data *d, u32 owner, u32 marker, bool ok);

/* C: the registration fuzzer (markers_torture_fuzz.c). */
unsigned int markers_torture_fuzz_calls(void);
int markers_torture_fuzz(const unsigned long *sites);

/* Rust: the marked code, one function per context. */
void markers_torture_read_proc(u64 seq);
void markers_torture_read_hard(u64 seq);
void markers_torture_read_soft(u64 seq);

/* Rust: a typed Rust probe on marker @marker (0-3), and its removal. */
int markers_torture_rust_probe(u32 marker, bool enable, void **out);
void markers_torture_rust_unprobe(void *p);

#endif /* _MARKERS_TORTURE_GLUE_H */
