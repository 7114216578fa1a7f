// SPDX-License-Identifier: GPL-2.0
/*
 * C half of markers_bench.ko: its parameters, the kernel's own mechanisms
 * it compares markers with (a static key, a tracepoint, an int3 kprobe, and
 * for the toggle cost an array of static keys), and the C probes it puts on
 * markers.  The loops here are shaped like the Rust ones in
 * markers_bench_main.rs: a counter, an optimization barrier on it, and the
 * subject.
 */
#define pr_fmt(fmt) "markers_bench: " fmt

#include <linux/fs.h>
#include <linux/jump_label.h>
#include <linux/kprobes.h>
#include <linux/string.h>
#include <linux/ktime.h>
#include <linux/markers.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/sprintf.h>
#include <linux/tracepoint.h>

#include "markers_bench_glue.h"

unsigned long markers_bench_iters = 1000000;
module_param_named(iters, markers_bench_iters, ulong, 0400);
MODULE_PARM_DESC(iters, "Iterations of each loop (default 1000000)");

unsigned long markers_bench_slow_iters;
module_param_named(slow_iters, markers_bench_slow_iters, ulong, 0400);
MODULE_PARM_DESC(slow_iters,
		 "Iterations of the kprobe and print probe loops (default: iters / 10)");

unsigned int markers_bench_reps = 3;
module_param_named(reps, markers_bench_reps, uint, 0400);
MODULE_PARM_DESC(reps, "Repetitions of each measurement (default 3)");

bool markers_bench_toggle;
module_param_named(toggle, markers_bench_toggle, bool, 0400);
MODULE_PARM_DESC(toggle,
		 "Measure toggle costs instead of instruction counts (plain TCG; needs markers_bench_toggle.ko and markers_bench_sites.ko)");

/* --- Loops ---------------------------------------------------------------- */

void markers_bench_c_empty(u64 n)
{
	u64 i;

	for (i = 0; i < n; i++)
		OPTIMIZER_HIDE_VAR(i);
}

/*
 * Where an enabled static key would lead: never reached.  Even cold, gcc
 * places the call right after the site's NOP, which then needs a jmp over
 * it (a disabled static key costs nop + jmp in these loops: objdump -d).
 */
static u64 markers_bench_sink;

static noinline __cold void markers_bench_hit(u64 i)
{
	WRITE_ONCE(markers_bench_sink, i);
}

static DEFINE_STATIC_KEY_FALSE(markers_bench_key);

void markers_bench_key_loop(u64 n)
{
	u64 i;

	for (i = 0; i < n; i++) {
		OPTIMIZER_HIDE_VAR(i);
		if (static_branch_unlikely(&markers_bench_key))
			markers_bench_hit(i);
	}
}

/*
 * A kernel tracepoint without a trace event: only what DECLARE_TRACE and
 * DEFINE_TRACE make (the static key, the static call to the probe or the
 * iterator, register_trace_markers_bench_tp()).
 */
DECLARE_TRACE(markers_bench_tp, TP_PROTO(u64 i), TP_ARGS(i));
DEFINE_TRACE(markers_bench_tp, TP_PROTO(u64 i), TP_ARGS(i));

void markers_bench_tp_loop(u64 n)
{
	u64 i;

	for (i = 0; i < n; i++) {
		OPTIMIZER_HIDE_VAR(i);
		trace_markers_bench_tp(i);
	}
}

/*
 * A kernel trace event with the fields of the marker bench_ev (a u32 and a
 * string), beside that marker's own trace event: both record to the top
 * trace instance's ring buffer.
 */
#define CREATE_TRACE_POINTS
#include "markers_bench_trace.h"

void markers_bench_ev_loop(u64 n)
{
	u64 i;

	for (i = 0; i < n; i++) {
		OPTIMIZER_HIDE_VAR(i);
		trace_markers_bench_ev(i, "bench0");
	}
}

/* Enables (1) or disables (0) a trace event of the top trace instance. */
int markers_bench_event_set(const char *system, const char *event, int set)
{
	return trace_set_clr_event(system, event, set);
}

/*
 * The kprobe's loop: the empty loop with its increment written out, so that
 * the instruction has a name to probe.  It is an ordinary ALU instruction,
 * copied out of line and single-stepped by a second int3 (not emulated).
 * The .discard.noendbr entry tells objtool that the address taken below is
 * not an indirect branch target.
 */
void markers_bench_kp_loop(u64 n)
{
	u64 i = 0;

	while (i < n)
		asm volatile("markers_bench_kp_insn:\n\t"
			     "addq $1, %0\n\t"
			     ".pushsection .discard.noendbr\n\t"
			     ".long markers_bench_kp_insn\n\t"
			     ".popsection"
			     : "+r" (i));
}

/* --- Kernel baselines: tracepoint probes, the kprobe ---------------------- */

static int markers_bench_tp_data[3];

static void markers_bench_tp_probe(void *data, u64 i)
{
}

int markers_bench_tp_attach(unsigned int nprobes)
{
	unsigned int k;
	int err;

	for (k = 0; k < nprobes; k++) {
		err = register_trace_markers_bench_tp(markers_bench_tp_probe,
						      &markers_bench_tp_data[k]);
		if (err) {
			markers_bench_tp_detach(k);
			return err;
		}
	}
	return 0;
}

void markers_bench_tp_detach(unsigned int nprobes)
{
	unsigned int k;

	for (k = 0; k < nprobes; k++)
		unregister_trace_markers_bench_tp(markers_bench_tp_probe,
						  &markers_bench_tp_data[k]);
	/* The probes' module may go right after this. */
	tracepoint_synchronize_unregister();
}

extern const u8 markers_bench_kp_insn[];
static u64 markers_bench_kp_pre_hits, markers_bench_kp_post_hits;

static int markers_bench_kp_pre(struct kprobe *p, struct pt_regs *regs)
{
	markers_bench_kp_pre_hits++;
	return 0;
}

static void markers_bench_kp_post(struct kprobe *p, struct pt_regs *regs,
				  unsigned long flags)
{
	markers_bench_kp_post_hits++;
}

static struct kprobe markers_bench_kp;

/*
 * A pre and a post handler: kprobes neither optimizes such a probe into a
 * jump (kernel/kprobes.c, optimize_kprobe()) nor boosts it
 * (arch/x86/kernel/kprobes/core.c, prepare_singlestep()).  Each hit takes
 * the int3 on the probed instruction and the int3 after its copy.
 */
int markers_bench_kp_arm(void)
{
	memset(&markers_bench_kp, 0, sizeof(markers_bench_kp));
	markers_bench_kp.addr = (kprobe_opcode_t *)markers_bench_kp_insn;
	markers_bench_kp.pre_handler = markers_bench_kp_pre;
	markers_bench_kp.post_handler = markers_bench_kp_post;
	markers_bench_kp_pre_hits = 0;
	markers_bench_kp_post_hits = 0;
	return register_kprobe(&markers_bench_kp);
}

void markers_bench_kp_disarm(void)
{
	unregister_kprobe(&markers_bench_kp);
}

unsigned long markers_bench_kp_flags(void)
{
	return markers_bench_kp.flags;
}

u64 markers_bench_kp_hits(void)
{
	return min(markers_bench_kp_pre_hits, markers_bench_kp_post_hits);
}

/*
 * --- Probes on markers, C side ------------------------------------------
 *
 * Every markers probe the bench registers from C is registered here, one
 * function per subject (the Rust typed probe is in markers_bench_main.rs,
 * `mod probes`).  Empty handlers; distinct data make three registrations of
 * the same handler three probes.
 */
static int markers_bench_probe_data[3];

/* Empty probes of the arities the bench's markers have (one u64 each). */
static void markers_bench_probe_empty1(void *data, u64 a0)
{
}

static void markers_bench_probe_empty3(void *data, u64 a0, u64 a1, u64 a2)
{
}

/* The empty probe for a marker of signature @sig, or NULL. */
static const void *markers_bench_probe_for(const char *sig)
{
	switch (strlen(sig)) {
	case 1:
		return markers_bench_probe_empty1;
	case 3:
		return markers_bench_probe_empty3;
	default:
		return NULL;
	}
}

/* The probe of the subject attached last (one subject at a time). */
static const void *markers_bench_probe_attached;

int markers_bench_attach_c(const char *name, const char *sig,
			   unsigned int nprobes)
{
	struct markers_probe p[ARRAY_SIZE(markers_bench_probe_data)];
	const void *func = markers_bench_probe_for(sig);
	unsigned int k;

	if (nprobes > ARRAY_SIZE(p) || !func)
		return -EINVAL;
	for (k = 0; k < nprobes; k++) {
		p[k].name = name;
		p[k].sig = sig;
		p[k].func = func;
		p[k].data = &markers_bench_probe_data[k];
		p[k].flags = MARKERS_PROBE_ENABLE;
	}
	markers_bench_probe_attached = func;
	return markers_probe_register_many(p, nprobes);
}

void markers_bench_detach_c(const char *name, unsigned int nprobes)
{
	struct markers_probe p[ARRAY_SIZE(markers_bench_probe_data)];
	unsigned int k;

	for (k = 0; k < nprobes && k < ARRAY_SIZE(p); k++) {
		p[k].name = name;
		p[k].sig = NULL;
		p[k].func = markers_bench_probe_attached;
		p[k].data = &markers_bench_probe_data[k];
		p[k].flags = 0;
	}
	WARN_ON_ONCE(markers_probe_unregister_many(p, k));
}

/*
 * The built-in print probe, through the control file
 * (Documentation/ABI/testing/sysfs-kernel-markers): there is no kernel API
 * for it.
 */
static int markers_bench_control(const char *name, const char *flags)
{
	struct file *f;
	char line[80];
	loff_t pos = 0;
	ssize_t n;
	int len;

	len = scnprintf(line, sizeof(line), "marker %s %s\n", name, flags);
	f = filp_open("/sys/kernel/markers/control", O_WRONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_write(f, line, len, &pos);
	filp_close(f, NULL);
	return n < 0 ? n : 0;
}

int markers_bench_print_on(const char *name)
{
	return markers_bench_control(name, "+p");
}

void markers_bench_print_off(const char *name)
{
	WARN_ON_ONCE(markers_bench_control(name, "-p"));
}

/*
 * --- Toggle cost ---------------------------------------------------------
 *
 * Markers of the generated client modules (markers_bench_sites.rs): groups
 * of 1, 100, 1,000 and 10,000 sites, named <group>_m00 to _m99 (the first
 * group has one marker).  The baseline is as many kernel static keys with
 * one site each: 10,000 keys, their sites in one function.
 */
#define MARKERS_BENCH_NKEYS 10000

static DEFINE_STATIC_KEY_ARRAY_FALSE(markers_bench_keys, MARKERS_BENCH_NKEYS);

/*
 * Key @k's site (@k is a constant once inlined in an unrolled loop).  The
 * enabled branch returns: objtool validates the target of a branch before
 * what follows it, recursively, and 10,000 sites whose targets all flow on to
 * the next site overflow its stack (seen with clang).
 */
static __always_inline bool markers_bench_key_site(const unsigned int k)
{
	if (static_branch_unlikely(&markers_bench_keys[k])) {
		markers_bench_hit(k);
		return true;
	}
	return false;
}

/*
 * Runs every key's site once, while all are disabled (10,000 NOPs).  The
 * loop is unrolled completely, so that each key has a site of its own; were
 * it not, the key's address would not be a constant and the build would
 * fail ("impossible constraint in asm").
 */
static noinline void markers_bench_keys_run(void)
{
	unsigned int k;

#pragma GCC unroll 65534
	for (k = 0; k < MARKERS_BENCH_NKEYS; k++)
		if (markers_bench_key_site(k))
			return;
}

struct markers_bench_group {
	const char *prefix;
	unsigned int sites, markers;
};

static const struct markers_bench_group markers_bench_groups[] = {
	{ "bsites1", 1, 1 },
	{ "bsites100", 100, 100 },
	{ "bsites1000", 1000, 100 },
	{ "bsites10000", 10000, 100 },
};

#define MARKERS_BENCH_NAME_LEN 24

struct markers_bench_names {
	char buf[100][MARKERS_BENCH_NAME_LEN];
	const char *ptr[100];
};

static void markers_bench_names_fill(struct markers_bench_names *nm,
				     const struct markers_bench_group *g)
{
	unsigned int k;

	for (k = 0; k < g->markers; k++) {
		snprintf(nm->buf[k], MARKERS_BENCH_NAME_LEN, "%s_m%02u",
			 g->prefix, k);
		nm->ptr[k] = nm->buf[k];
	}
}

/* One toggle of a group's markers, all in one batch or one at a time. */
static int markers_bench_toggle_markers(const struct markers_bench_names *nm,
					const struct markers_bench_group *g,
					bool batch, bool on, unsigned int rep)
{
	struct markers_stats a, b;
	unsigned int k;
	u64 t0, t1;
	int err = 0;

	markers_get_stats(&a);
	t0 = ktime_get_ns();
	if (batch)
		err = markers_update(nm->ptr, g->markers, on);
	else
		for (k = 0; k < g->markers && !err; k++)
			err = on ? markers_enable(nm->ptr[k]) :
				   markers_disable(nm->ptr[k]);
	t1 = ktime_get_ns();
	markers_get_stats(&b);
	pr_info("toggle sites=%u markers=%u how=%s op=%s rep=%u ns=%llu syncs=%llu int3=%llu rewrites=%llu err=%d\n",
		g->sites, g->markers, batch ? "batch" : "each",
		on ? "on" : "off", rep, t1 - t0, b.syncs - a.syncs,
		b.int3 - a.int3, b.rewrites - a.rewrites, err);
	return err;
}

/* The baseline: the same number of static keys, one after the other. */
static void markers_bench_toggle_keys(unsigned int n, bool on, unsigned int rep)
{
	unsigned int k;
	u64 t0, t1;

	t0 = ktime_get_ns();
	for (k = 0; k < n; k++) {
		if (on)
			static_branch_enable(&markers_bench_keys[k]);
		else
			static_branch_disable(&markers_bench_keys[k]);
	}
	t1 = ktime_get_ns();
	pr_info("keys sites=%u op=%s rep=%u ns=%llu\n", n, on ? "on" : "off",
		rep, t1 - t0);
}

int markers_bench_toggle_run(unsigned int reps)
{
	struct markers_bench_names *nm;
	unsigned int gi, rep, how;
	int err = 0;

	nm = kzalloc(sizeof(*nm), GFP_KERNEL);
	if (!nm)
		return -ENOMEM;
	markers_bench_keys_run();
	for (gi = 0; gi < ARRAY_SIZE(markers_bench_groups) && !err; gi++) {
		const struct markers_bench_group *g = &markers_bench_groups[gi];

		markers_bench_names_fill(nm, g);
		for (rep = 0; rep < reps && !err; rep++) {
			for (how = 0; how < 2 && !err; how++) {
				err = markers_bench_toggle_markers(nm, g, !how,
								   true, rep);
				if (!err)
					err = markers_bench_toggle_markers(nm, g, !how,
									   false, rep);
			}
			markers_bench_toggle_keys(g->sites, true, rep);
			markers_bench_toggle_keys(g->sites, false, rep);
		}
	}
	kfree(nm);
	return err;
}
