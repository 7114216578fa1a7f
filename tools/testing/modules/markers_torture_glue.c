// SPDX-License-Identifier: GPL-2.0
/*
 * markers_torture.ko: a torture test of markers, in the style of rcutorture.
 *
 * Loading the module starts the run and returns; the run ends by itself
 * after `duration` seconds (or at rmmod) with one line
 * "markers_torture: SUCCESS ..." or "markers_torture: FAILURE ...", and the
 * parameter `result` reads 1 or 2 (0 while running).  Every broken
 * invariant prints a line with "!!!".
 *
 * Threads and what they do, all at once:
 *   - readers, on every online CPU: a kthread (process context), a hard
 *     hrtimer (hardirq) and a soft hrtimer (softirq), each running the
 *     module's marked code (markers_torture_main.rs): four markers of four
 *     signatures, one site each per context;
 *   - togglers flip markers and single sites through the in-kernel API
 *     (markers_enable/disable one at a time, markers_update in batches) and
 *     through /sys/kernel/markers/control (batches of marker and site
 *     lines, and single lines);
 *   - churners register and unregister probes: typed Rust probes and C
 *     probes, one or several per marker in one batch, with or without
 *     MARKERS_PROBE_ENABLE;
 *   - the main thread prints statistics every `stat_interval` seconds and,
 *     every `check_interval` ms, runs a quiescent window: it parks the
 *     togglers and churners, reads each site's state, lets the readers run
 *     `window_ms`, stops them, and checks that for every marker the calls
 *     made at its enabled sites equal the hits counted (markers_hits()) and
 *     the calls seen by a checker probe attached throughout, exactly.
 *
 * Every handler checks its arguments (functions of the reader's sequence
 * number) and its data: magic (poisoned when the probe goes), owner (C or
 * Rust) and marker.  A handler that runs after its probe was unregistered,
 * or with another probe's data, is caught.  markers.ko's test_skip_gp
 * (test mode) skips the grace period of probe changes: with a handler
 * delay, the run must then fail, which shows that it can.
 *
 * Module churn (loading and unloading marked modules and tracers while all
 * this runs) is done from user space by tests/65-torture.sh.
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/markers.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stacktrace.h>
#include <linux/string.h>

#include "markers_torture_glue.h"

static unsigned int duration = 60;
module_param(duration, uint, 0400);
MODULE_PARM_DESC(duration, "Seconds to run (default 60)");
static unsigned int togglers = 2;
module_param(togglers, uint, 0400);
MODULE_PARM_DESC(togglers, "Toggler threads (default 2)");
static unsigned int churners = 2;
module_param(churners, uint, 0400);
MODULE_PARM_DESC(churners, "Probe churn threads (default 2)");
static unsigned int stat_interval = 5;
module_param(stat_interval, uint, 0400);
MODULE_PARM_DESC(stat_interval, "Seconds between statistics lines (default 5)");
static unsigned int check_interval = 3000;
module_param(check_interval, uint, 0400);
MODULE_PARM_DESC(check_interval, "Milliseconds between quiescent checks (default 3000)");
static unsigned int window_ms = 100;
module_param(window_ms, uint, 0400);
MODULE_PARM_DESC(window_ms, "Milliseconds readers run in a quiescent check (default 100)");
static unsigned int timer_us = 1000;
module_param(timer_us, uint, 0400);
MODULE_PARM_DESC(timer_us, "Period of the interrupt readers in microseconds (default 1000)");
static unsigned int toggle_us = 500;
module_param(toggle_us, uint, 0400);
MODULE_PARM_DESC(toggle_us, "Pause of a toggler between changes in microseconds (default 500)");
static unsigned int churn_us = 1000;
module_param(churn_us, uint, 0400);
MODULE_PARM_DESC(churn_us, "Most time a churned probe stays in microseconds (default 1000)");
static unsigned int park_report = 60;
module_param(park_report, uint, 0400);
MODULE_PARM_DESC(park_report, "Seconds after which writers slow to park are shown (default 60)");
static unsigned int park_timeout = 240;
module_param(park_timeout, uint, 0400);
MODULE_PARM_DESC(park_timeout, "Seconds after which writers not parked are a failure (default 240)");
static unsigned int handler_delay_ns;
module_param(handler_delay_ns, uint, 0400);
MODULE_PARM_DESC(handler_delay_ns, "Handlers spin this long, then check their data again (default 0)");
static bool kprobe = true;
module_param(kprobe, bool, 0400);
MODULE_PARM_DESC(kprobe, "A kprobe on the softirq reader's entry, which holds sites (default on)");
static bool expect_no_late;
module_param(expect_no_late, bool, 0400);
MODULE_PARM_DESC(expect_no_late, "A late int3 trap is a failure (single-threaded TCG, hardware)");
static bool stop_on_fail;
module_param(stop_on_fail, bool, 0400);
MODULE_PARM_DESC(stop_on_fail, "End the run at its first broken invariant (default: run on)");
static bool expect_fail;
module_param(expect_fail, bool, 0400);
MODULE_PARM_DESC(expect_fail, "The run must fail (a broken mode): report \"caught:\", not \"!!!\"");
static int result;
module_param(result, int, 0444);
MODULE_PARM_DESC(result, "0 while running, 1 SUCCESS, 2 FAILURE");

#define TORT_MARKERS	4
#define TORT_CTXS	3	/* process, hardirq, softirq */
#define TORT_LIVE	0x4c49564550524f42ULL
#define TORT_DEAD	0x6465616464656164ULL
#define TORT_C		1	/* owners of probe data */
#define TORT_RUST	2
#define TORT_KEY_A	0x5a5a12348765a5a5ULL
#define TORT_WORD	"markers-torture"

static const char *const tort_names[TORT_MARKERS] = {
	"tort_a", "tort_b", "tort_c", "tort_d"
};

static const char *const tort_sigs[TORT_MARKERS] = { "LL", "Il", "tL", "LLLLLLL" };
static const char *const tort_ctx_names[TORT_CTXS] = { "proc", "hard", "soft" };
static const char *const tort_readers[TORT_CTXS] = {
	"markers_torture_read_proc", "markers_torture_read_hard", "markers_torture_read_soft"
};

/* Site addresses by marker and context, and their offsets in the reader. */
static unsigned long tort_site[TORT_MARKERS][TORT_CTXS];
static unsigned long tort_site_off[TORT_MARKERS][TORT_CTXS];

static atomic_t tort_errors = ATOMIC_INIT(0);

/*
 * A broken invariant: "!!!", which the harness takes for a splat; "caught"
 * in a run that must fail (expect_fail, with markers.test_skip_gp).
 */
#define tort_fail(fmt, ...) do {						\
	if (atomic_inc_return(&tort_errors) <= 20)				\
		pr_err("markers_torture: %s " fmt "\n",			\
		       expect_fail ? "caught:" : "!!!", ##__VA_ARGS__);	\
} while (0)

/* --- Probes ---------------------------------------------------------------- */

static atomic64_t tort_probe_calls = ATOMIC64_INIT(0);

void markers_torture_seen(const struct tort_data *d, u32 owner, u32 marker, bool ok)
{
	u64 magic = READ_ONCE(d->magic);

	if (magic != TORT_LIVE || d->owner != owner || d->marker != marker) {
		tort_fail("handler of %s (owner %u) got data %p: magic %llx owner %u marker %u",
			  tort_names[marker], owner, d, magic, d->owner, d->marker);
		return;
	}
	if (!ok)
		tort_fail("handler of %s: wrong arguments", tort_names[marker]);
	atomic64_inc((atomic64_t *)&d->calls);
	atomic64_inc(&tort_probe_calls);
	if (handler_delay_ns) {
		ndelay(handler_delay_ns);
		magic = READ_ONCE(d->magic);
		if (magic != TORT_LIVE)
			tort_fail("data of a %s handler freed while it ran (magic %llx)",
				  tort_names[marker], magic);
	}
}

static void tort_c_a(void *data, u64 s, u64 k)
{
	markers_torture_seen(data, TORT_C, 0, k == (s ^ TORT_KEY_A));
}

static void tort_c_b(void *data, u64 s, u64 n)
{
	markers_torture_seen(data, TORT_C, 1, (s >> 32) == 0 && (s64)n == ~(s64)s);
}

static void tort_c_c(void *data, u64 w, u64 s)
{
	const struct markers_span *sp = markers_arg_span(w);
	bool ok = sp->len == strlen(TORT_WORD) && !memcmp(sp->ptr, TORT_WORD, sp->len);

	markers_torture_seen(data, TORT_C, 2, ok);
}

static void tort_c_d(void *data, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6)
{
	bool ok = a1 == a0 + 1 && a2 == a0 + 2 && a3 == a0 + 3 && a4 == a0 + 4 &&
		  a5 == a0 + 5 && a6 == a0 + 6;

	markers_torture_seen(data, TORT_C, 3, ok);
}

static const void *const tort_c_funcs[TORT_MARKERS] = {
	tort_c_a, tort_c_b, tort_c_c, tort_c_d
};

static struct tort_data *tort_data_new(u32 marker)
{
	struct tort_data *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (d) {
		d->magic = TORT_LIVE;
		d->owner = TORT_C;
		d->marker = marker;
	}
	return d;
}

/* Poisons and frees data whose probe is gone. */
static void tort_data_free(struct tort_data *d)
{
	WRITE_ONCE(d->magic, TORT_DEAD);
	kfree(d);
}

/* The checker probes, one per marker, attached for the whole run. */
static struct tort_data *tort_checker[TORT_MARKERS];

static struct markers_probe tort_probe(u32 m, struct tort_data *d, unsigned int flags)
{
	return (struct markers_probe){ tort_names[m], tort_sigs[m], tort_c_funcs[m], d, flags };
}

/* --- Readers ---------------------------------------------------------------- */

struct tort_cpu {
	struct hrtimer hard, soft;
	struct task_struct *reader;
	u64 seq[TORT_CTXS];
	bool timers;
};

static struct tort_cpu *tort_cpus;
static atomic64_t tort_calls[TORT_CTXS];
/* Readers in a call (see tort_pause_readers()). */
static atomic_t tort_busy = ATOMIC_INIT(0);
static bool tort_readers_paused;
static bool tort_stopping;
static ktime_t tort_period;

static void (*const tort_read_fns[TORT_CTXS])(u64) = {
	markers_torture_read_proc, markers_torture_read_hard, markers_torture_read_soft
};

/*
 * One reader call.  Ordering: busy is raised before paused is read, and
 * tort_pause_readers() sets paused before it reads busy, both with full
 * barriers between (Dekker): either the pauser sees this reader busy and
 * waits for it, or this reader sees the pause and makes no call.  The call
 * count is raised inside the busy section, so a paused snapshot of counts
 * and hits is exact.
 */
static void tort_read(struct tort_cpu *c, int ctx)
{
	atomic_inc(&tort_busy);
	/* Busy before paused is read: pairs with tort_pause_readers(). */
	smp_mb__after_atomic();
	if (!READ_ONCE(tort_readers_paused)) {
		tort_read_fns[ctx](++c->seq[ctx]);
		atomic64_inc(&tort_calls[ctx]);
	}
	/* The call and its count before busy drops: pairs as above. */
	smp_mb__before_atomic();
	atomic_dec(&tort_busy);
}

static enum hrtimer_restart tort_timer(struct hrtimer *t, struct tort_cpu *c, int ctx)
{
	tort_read(c, ctx);
	if (READ_ONCE(tort_stopping))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, tort_period);
	return HRTIMER_RESTART;
}

static enum hrtimer_restart tort_hard(struct hrtimer *t)
{
	return tort_timer(t, container_of(t, struct tort_cpu, hard), 1);
}

static enum hrtimer_restart tort_soft(struct hrtimer *t)
{
	return tort_timer(t, container_of(t, struct tort_cpu, soft), 2);
}

static int tort_reader(void *arg)
{
	struct tort_cpu *c = arg;
	unsigned long n = 0;

	/* Pinned timers, started here to run on this thread's CPU. */
	hrtimer_init(&c->hard, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	c->hard.function = tort_hard;
	hrtimer_init(&c->soft, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_SOFT);
	c->soft.function = tort_soft;
	WRITE_ONCE(c->timers, true);
	hrtimer_start(&c->hard, tort_period, HRTIMER_MODE_REL_PINNED_HARD);
	hrtimer_start(&c->soft, tort_period, HRTIMER_MODE_REL_PINNED_SOFT);
	while (!kthread_should_stop()) {
		tort_read(c, 0);
		/*
		 * A voluntary sleep now and then: a quiescent state for
		 * RCU-tasks, whose grace periods every probe change waits for.
		 */
		if (!(++n % 32))
			usleep_range(10, 20);
	}
	return 0;
}

static void tort_pause_readers(void)
{
	WRITE_ONCE(tort_readers_paused, true);
	/* Paused before busy is read: pairs with tort_read(). */
	smp_mb();
	/* A reader may be preempted in its call: sleep, do not spin. */
	while (atomic_read(&tort_busy))
		usleep_range(10, 20);
	/* The readers' calls and counts before the snapshot that follows. */
	smp_mb();
}

static void tort_resume_readers(void)
{
	/* The snapshot taken before readers go on (they need not see it). */
	smp_store_release(&tort_readers_paused, false);
}

/* --- Writers: togglers and churners ------------------------------------------ */

static bool tort_writers_paused;
static atomic_t tort_parked = ATOMIC_INIT(0);
static unsigned int tort_nwriters;
static struct task_struct **tort_writers;
/* Which writers are parked, for the report of a slow pause (tort_pause_writers). */
static bool *tort_writer_parked;

static atomic64_t tort_api_toggles = ATOMIC64_INIT(0);
static atomic64_t tort_ctl_writes = ATOMIC64_INIT(0);
static atomic64_t tort_site_toggles = ATOMIC64_INIT(0);
static atomic64_t tort_registered = ATOMIC64_INIT(0);
static atomic64_t tort_unregistered = ATOMIC64_INIT(0);
static atomic64_t tort_checks = ATOMIC64_INIT(0);

/* Parks the calling writer while the main thread runs a quiescent window. */
static void tort_park(void)
{
	unsigned int i, me = 0;

	if (!READ_ONCE(tort_writers_paused))
		return;
	for (i = 0; i < tort_nwriters; i++)
		if (tort_writers[i] == current)
			me = i;
	WRITE_ONCE(tort_writer_parked[me], true);
	atomic_inc(&tort_parked);
	while (READ_ONCE(tort_writers_paused) && !kthread_should_stop())
		usleep_range(500, 1000);
	atomic_dec(&tort_parked);
	WRITE_ONCE(tort_writer_parked[me], false);
}

static void tort_sleep_us(unsigned int most)
{
	unsigned int us = 1 + get_random_u32_below(most ? most : 1);

	usleep_range(us, us + us / 2 + 1);
}

/* Writes one batch to the control file; it must be taken whole. */
static void tort_ctl(struct file *ctl, const char *buf)
{
	size_t len = strlen(buf);
	loff_t pos = 0;
	ssize_t r = kernel_write(ctl, buf, len, &pos);

	if (r != len)
		tort_fail("control write returned %zd: %s", r, buf);
	atomic64_inc(&tort_ctl_writes);
}

/* Appends one random control line to @buf (of @size bytes). */
static void tort_ctl_line(char *buf, size_t size, bool site)
{
	u32 m = get_random_u32_below(TORT_MARKERS);
	char op = get_random_u32_below(2) ? '+' : '-';
	size_t n = strlen(buf);

	if (site) {
		u32 c = get_random_u32_below(TORT_CTXS);

		snprintf(buf + n, size - n, "site markers_torture:%s+0x%lx %ce\n",
			 tort_readers[c], tort_site_off[m][c], op);
		atomic64_inc(&tort_site_toggles);
	} else if (get_random_u32_below(8) == 0) {
		snprintf(buf + n, size - n, "marker tort_* %ce\n", op);
	} else {
		snprintf(buf + n, size - n, "marker %s %ce\n", tort_names[m], op);
	}
}

static int tort_toggler(void *arg)
{
	struct file *ctl = filp_open("/sys/kernel/markers/control", O_WRONLY, 0);
	char buf[512];

	if (IS_ERR(ctl)) {
		tort_fail("cannot open the control file: %ld", PTR_ERR(ctl));
		ctl = NULL;
	}
	while (!kthread_should_stop()) {
		u32 op = get_random_u32_below(ctl ? 5 : 2);
		u32 m = get_random_u32_below(TORT_MARKERS);
		const char *names[TORT_MARKERS];
		unsigned int i, n = 0;
		int r = 0;

		tort_park();
		switch (op) {
		case 0:		/* one marker, in-kernel API */
			r = get_random_u32_below(2) ? markers_enable(tort_names[m]) :
						      markers_disable(tort_names[m]);
			atomic64_inc(&tort_api_toggles);
			break;
		case 1:		/* a batch, in-kernel API */
			for (i = 0; i < TORT_MARKERS; i++)
				if (get_random_u32_below(2))
					names[n++] = tort_names[i];
			r = markers_update(names, n, get_random_u32_below(2));
			/* An empty batch is refused (documented). */
			if (!n && r == -EINVAL)
				r = 0;
			atomic64_inc(&tort_api_toggles);
			break;
		case 2:		/* a batch of marker and site lines */
			buf[0] = 0;
			n = 2 + get_random_u32_below(5);
			for (i = 0; i < n; i++)
				tort_ctl_line(buf, sizeof(buf), get_random_u32_below(2));
			tort_ctl(ctl, buf);
			break;
		default:	/* one line */
			buf[0] = 0;
			tort_ctl_line(buf, sizeof(buf), op == 3);
			tort_ctl(ctl, buf);
			break;
		}
		if (r)
			tort_fail("in-kernel toggle (op %u) returned %d", op, r);
		tort_sleep_us(toggle_us);
	}
	if (ctl)
		filp_close(ctl, NULL);
	return 0;
}

/* Registers a few probes, lets them be hit, unregisters them. */
static void tort_churn_c(u32 m, unsigned int flags)
{
	struct markers_probe p[3];
	unsigned int i, n = 1 + get_random_u32_below(3);
	int r;

	for (i = 0; i < n; i++) {
		struct tort_data *d = tort_data_new(m);

		if (!d) {
			tort_fail("out of memory");
			n = i;
			goto out;
		}
		p[i] = tort_probe(m, d, flags);
	}
	r = markers_probe_register_many(p, n);
	if (r) {
		tort_fail("registering %u C probes on %s returned %d", n, tort_names[m], r);
		goto out;
	}
	atomic64_add(n, &tort_registered);
	tort_park();
	tort_sleep_us(churn_us);
	r = markers_probe_unregister_many(p, n);
	if (r) {
		/* Still registered: the data must not be freed. */
		tort_fail("unregistering %u C probes of %s returned %d", n, tort_names[m], r);
		return;
	}
	atomic64_add(n, &tort_unregistered);
out:
	for (i = 0; i < n; i++)
		tort_data_free(p[i].data);
}

static void tort_churn_rust(u32 m, unsigned int flags)
{
	void *p;
	int r = markers_torture_rust_probe(m, flags & MARKERS_PROBE_ENABLE, &p);

	if (r) {
		tort_fail("registering a Rust probe on %s returned %d", tort_names[m], r);
		return;
	}
	atomic64_inc(&tort_registered);
	tort_park();
	tort_sleep_us(churn_us);
	markers_torture_rust_unprobe(p);
	atomic64_inc(&tort_unregistered);
}

static int tort_churner(void *arg)
{
	while (!kthread_should_stop()) {
		u32 m = get_random_u32_below(TORT_MARKERS);
		unsigned int flags = get_random_u32_below(2) ? MARKERS_PROBE_ENABLE : 0;

		tort_park();
		if (get_random_u32_below(2))
			tort_churn_rust(m, flags);
		else
			tort_churn_c(m, flags);
		tort_sleep_us(churn_us);
	}
	return 0;
}

/* --- A kprobe on marked code -------------------------------------------------- */

/*
 * A kprobe at the entry of the softirq reader, a function whose sites the
 * togglers patch all the time: the kprobe's int3 and ours coexist in one
 * function (not at one address: the sites are further in).
 */
static atomic64_t tort_kprobe_hits = ATOMIC64_INIT(0);

static int tort_kprobe_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic64_inc(&tort_kprobe_hits);
	return 0;
}

static struct kprobe tort_kp = {
	.symbol_name = "markers_torture_read_soft",
	.pre_handler = tort_kprobe_pre,
};

static bool tort_kp_armed;

/* --- The main thread ------------------------------------------------------- */

static struct task_struct *tort_main_task;

/*
 * Where a writer is (not sched_show_task(): its "Call Trace:" line is a
 * splat to the harness, and a slow writer is not one).
 */
static void tort_show_writer(struct task_struct *t)
{
	unsigned long entries[24];
	unsigned int n = stack_trace_save_tsk(t, entries, ARRAY_SIZE(entries), 0);

	pr_warn("markers_torture: %s (state %#x) is at:\n", t->comm, READ_ONCE(t->__state));
	stack_trace_print(entries, n, 2);
}

/*
 * Parks the writers for a quiescent window. A writer parks between two
 * operations; one operation may take long on a slow machine (a patch pass
 * waits for text_mutex, which the function tracer holds while it patches
 * every function, and for grace periods): the debug kernel under
 * single-threaded TCG has been seen to need more than 60 s. After
 * park_report seconds the writers not yet parked are shown (their stacks say
 * where they wait), and the wait goes on; only after park_timeout seconds is
 * it a failure (a writer that never returns is a hang).
 */
static bool tort_pause_writers(void)
{
	unsigned long start = jiffies;
	bool reported = false;
	unsigned int i;

	WRITE_ONCE(tort_writers_paused, true);
	while (atomic_read(&tort_parked) < tort_nwriters) {
		if (!reported && time_after(jiffies, start + park_report * HZ)) {
			pr_warn("markers_torture: %u of %u writers not parked after %u s; still waiting for:\n",
				tort_nwriters - atomic_read(&tort_parked), tort_nwriters,
				park_report);
			for (i = 0; i < tort_nwriters; i++)
				if (!READ_ONCE(tort_writer_parked[i]))
					tort_show_writer(tort_writers[i]);
			reported = true;
		}
		if (time_after(jiffies, start + park_timeout * HZ)) {
			tort_fail("writers did not park within %u s (%d of %u)", park_timeout,
				  atomic_read(&tort_parked), tort_nwriters);
			WRITE_ONCE(tort_writers_paused, false);
			return false;
		}
		usleep_range(500, 1000);
	}
	if (reported)
		pr_info("markers_torture: every writer parked after %u s\n",
			jiffies_to_msecs(jiffies - start) / 1000);
	return true;
}

struct tort_snap {
	s64 calls[TORT_CTXS];
	s64 hits[TORT_MARKERS];
	s64 seen[TORT_MARKERS];
	int state[TORT_MARKERS][TORT_CTXS];
};

static void tort_snap(struct tort_snap *s)
{
	int m, c;

	for (c = 0; c < TORT_CTXS; c++)
		s->calls[c] = atomic64_read(&tort_calls[c]);
	for (m = 0; m < TORT_MARKERS; m++) {
		s->hits[m] = markers_hits(tort_names[m]);
		s->seen[m] = atomic64_read(&tort_checker[m]->calls);
		for (c = 0; c < TORT_CTXS; c++)
			s->state[m][c] = markers_site_state((void *)tort_site[m][c]);
	}
}

/*
 * A quiescent window: nothing changes the markers' state; readers run for
 * window_ms; every call at an enabled site must then be one hit and one
 * call of the checker probe, exactly.
 */
static void tort_window(void)
{
	struct tort_snap a, b;
	int m, c;

	if (!tort_pause_writers())
		return;
	tort_pause_readers();
	tort_snap(&a);
	tort_resume_readers();
	msleep(window_ms);
	tort_pause_readers();
	tort_snap(&b);
	for (m = 0; m < TORT_MARKERS; m++) {
		s64 want = 0;

		for (c = 0; c < TORT_CTXS; c++) {
			int st = a.state[m][c];

			if (st < 0 || (st & ~MARKERS_SITE_ENABLED) || st != b.state[m][c])
				tort_fail("site %s/%s: state %d, then %d, in a quiescent window",
					  tort_names[m], tort_ctx_names[c], st, b.state[m][c]);
			if (st & MARKERS_SITE_ENABLED)
				want += b.calls[c] - a.calls[c];
		}
		if (b.hits[m] - a.hits[m] != want || b.seen[m] - a.seen[m] != want)
			tort_fail("%s: %lld calls at enabled sites, %lld hits, %lld checker calls",
				  tort_names[m], want, b.hits[m] - a.hits[m],
				  b.seen[m] - a.seen[m]);
	}
	atomic64_inc(&tort_checks);
	tort_resume_readers();
	WRITE_ONCE(tort_writers_paused, false);
}

static void tort_stats(unsigned int secs, const char *what)
{
	struct markers_stats st;

	markers_get_stats(&st);
	pr_info("markers_torture: %s%us: calls %lld proc %lld hard %lld soft, probe calls %lld, toggles %lld api %lld control (%lld site lines), probes %lld registered %lld unregistered, checks %lld, passes %llu, int3 %llu (late %llu), errors %d\n",
		what, secs, atomic64_read(&tort_calls[0]), atomic64_read(&tort_calls[1]),
		atomic64_read(&tort_calls[2]), atomic64_read(&tort_probe_calls),
		atomic64_read(&tort_api_toggles), atomic64_read(&tort_ctl_writes),
		atomic64_read(&tort_site_toggles), atomic64_read(&tort_registered),
		atomic64_read(&tort_unregistered), atomic64_read(&tort_checks),
		st.passes, st.int3, st.late, atomic_read(&tort_errors));
}

static void tort_stop_threads(void)
{
	unsigned int i;
	int cpu;

	if (tort_writers) {
		WRITE_ONCE(tort_writers_paused, false);
		for (i = 0; i < tort_nwriters; i++)
			if (tort_writers[i])
				kthread_stop_put(tort_writers[i]);
		kfree(tort_writers);
		tort_writers = NULL;
	}
	kfree(tort_writer_parked);
	tort_writer_parked = NULL;
	WRITE_ONCE(tort_stopping, true);
	if (tort_cpus) {
		for_each_possible_cpu(cpu) {
			struct tort_cpu *c = &tort_cpus[cpu];

			if (c->reader)
				kthread_stop_put(c->reader);
			c->reader = NULL;
			if (READ_ONCE(c->timers)) {
				hrtimer_cancel(&c->hard);
				hrtimer_cancel(&c->soft);
			}
		}
	}
	WRITE_ONCE(tort_readers_paused, false);
}

static void tort_teardown(void)
{
	struct markers_probe p[TORT_MARKERS];
	int m, r, n = 0;

	tort_stop_threads();
	if (tort_kp_armed) {
		unregister_kprobe(&tort_kp);
		tort_kp_armed = false;
	}
	r = markers_update((const char **)tort_names, TORT_MARKERS, false);
	if (r)
		tort_fail("disabling the markers at the end returned %d", r);
	for (m = 0; m < TORT_MARKERS; m++)
		if (tort_checker[m])
			p[n++] = tort_probe(m, tort_checker[m], 0);
	r = n ? markers_probe_unregister_many(p, n) : 0;
	if (r) {
		tort_fail("unregistering the checkers returned %d", r);
		return;
	}
	for (m = 0; m < TORT_MARKERS; m++) {
		if (tort_checker[m])
			tort_data_free(tort_checker[m]);
		tort_checker[m] = NULL;
	}
}

/* The patcher's late traps when the run started. */
static u64 tort_late0;

static int tort_main(void *arg)
{
	unsigned long start = jiffies, next_stat, next_check;
	struct markers_stats st;
	unsigned int secs = 0;
	s64 calls;

	next_stat = start + stat_interval * HZ;
	next_check = start + msecs_to_jiffies(check_interval);
	while (!kthread_should_stop() && time_before(jiffies, start + duration * HZ) &&
	       !(stop_on_fail && atomic_read(&tort_errors))) {
		msleep(20);
		if (time_after_eq(jiffies, next_check)) {
			tort_window();
			next_check = jiffies + msecs_to_jiffies(check_interval);
		}
		if (time_after_eq(jiffies, next_stat)) {
			secs = (jiffies - start) / HZ;
			tort_stats(secs, "");
			next_stat += stat_interval * HZ;
		}
	}
	/* A last quiescent window with everything still running. */
	tort_window();
	secs = (jiffies - start) / HZ;
	tort_teardown();
	calls = atomic64_read(&tort_calls[0]) + atomic64_read(&tort_calls[1]) +
		atomic64_read(&tort_calls[2]);
	/* A run that checked nothing proves nothing. */
	if (!atomic64_read(&tort_checks) || !atomic64_read(&tort_probe_calls) || !calls)
		tort_fail("nothing was checked: %lld checks, %lld calls, %lld probe calls",
			  atomic64_read(&tort_checks), calls, atomic64_read(&tort_probe_calls));
	markers_get_stats(&st);
	if (expect_no_late && st.late != tort_late0)
		tort_fail("%llu late int3 traps (none can happen here)", st.late - tort_late0);
	if (kprobe && !atomic64_read(&tort_kprobe_hits))
		tort_fail("the kprobe on the softirq reader was never hit");
	pr_info("markers_torture: kprobe on markers_torture_read_soft: %lld hits\n",
		atomic64_read(&tort_kprobe_hits));
	if (atomic_read(&tort_errors)) {
		tort_stats(secs, "FAILURE after ");
		WRITE_ONCE(result, 2);
	} else {
		tort_stats(secs, "SUCCESS after ");
		WRITE_ONCE(result, 1);
	}
	return 0;
}

static struct task_struct *tort_run(int (*fn)(void *), void *arg, const char *name,
				    unsigned int i)
{
	struct task_struct *t = kthread_create(fn, arg, "%s/%u", name, i);

	if (IS_ERR(t))
		return t;
	get_task_struct(t);
	wake_up_process(t);
	return t;
}

/* Starts the readers on every online CPU, the writers and the main thread. */
static int tort_spawn(void)
{
	struct markers_stats st;
	unsigned int i;
	int cpu;

	tort_cpus = kcalloc(nr_cpu_ids, sizeof(*tort_cpus), GFP_KERNEL);
	tort_nwriters = togglers + churners;
	tort_writers = kcalloc(tort_nwriters, sizeof(*tort_writers), GFP_KERNEL);
	tort_writer_parked = kcalloc(tort_nwriters, sizeof(*tort_writer_parked), GFP_KERNEL);
	if (!tort_cpus || !tort_writers || !tort_writer_parked)
		return -ENOMEM;
	for_each_online_cpu(cpu) {
		struct task_struct *t = kthread_create_on_cpu(tort_reader, &tort_cpus[cpu], cpu,
							      "tort_reader/%u");

		if (IS_ERR(t))
			return PTR_ERR(t);
		get_task_struct(t);
		tort_cpus[cpu].reader = t;
		wake_up_process(t);
	}
	for (i = 0; i < tort_nwriters; i++) {
		struct task_struct *t = i < togglers ?
			tort_run(tort_toggler, NULL, "tort_toggler", i) :
			tort_run(tort_churner, NULL, "tort_churner", i - togglers);

		if (IS_ERR(t))
			return PTR_ERR(t);
		tort_writers[i] = t;
	}
	markers_get_stats(&st);
	tort_late0 = st.late;
	tort_main_task = tort_run(tort_main, NULL, "tort_main", 0);
	if (IS_ERR(tort_main_task)) {
		int r = PTR_ERR(tort_main_task);

		tort_main_task = NULL;
		return r;
	}
	return 0;
}

int markers_torture_start(const unsigned long *sites, u32 nsites)
{
	struct markers_probe p[TORT_MARKERS];
	int m, c, r;

	if (nsites != TORT_MARKERS * TORT_CTXS)
		return -EINVAL;
	for (m = 0; m < TORT_MARKERS; m++) {
		for (c = 0; c < TORT_CTXS; c++) {
			tort_site[m][c] = sites[m * TORT_CTXS + c];
			tort_site_off[m][c] = tort_site[m][c] -
					      (unsigned long)tort_read_fns[c];
		}
	}
	if (markers_torture_fuzz_calls()) {
		WRITE_ONCE(result, markers_torture_fuzz(sites) ? 2 : 1);
		return 0;
	}
	if (!duration || !window_ms || !timer_us)
		return -EINVAL;
	tort_period = ns_to_ktime((u64)timer_us * NSEC_PER_USEC);

	/* The checkers. */
	for (m = 0; m < TORT_MARKERS; m++) {
		tort_checker[m] = tort_data_new(m);
		if (!tort_checker[m]) {
			r = -ENOMEM;
			goto free;
		}
		p[m] = tort_probe(m, tort_checker[m], 0);
	}
	r = markers_probe_register_many(p, TORT_MARKERS);
	if (r) {
		pr_err("markers_torture: registering the checker probes: %d\n", r);
		goto free;
	}

	if (kprobe) {
		r = register_kprobe(&tort_kp);
		if (r) {
			pr_err("markers_torture: a kprobe on markers_torture_read_soft: %d\n", r);
			goto stop;
		}
		tort_kp_armed = true;
	}
	r = tort_spawn();
	if (r)
		goto stop;
	pr_info("markers_torture: started: %u s, %u CPUs, %u togglers, %u churners, timers every %u us, checks every %u ms\n",
		duration, num_online_cpus(), togglers, churners, timer_us, check_interval);
	return 0;

stop:
	tort_teardown();
	kfree(tort_cpus);
	tort_cpus = NULL;
	return r;
free:
	for (m = 0; m < TORT_MARKERS; m++) {
		kfree(tort_checker[m]);
		tort_checker[m] = NULL;
	}
	return r;
}

void markers_torture_stop(void)
{
	/* The main thread tears everything down when it ends. */
	if (tort_main_task)
		kthread_stop_put(tort_main_task);
	kfree(tort_cpus);
	tort_cpus = NULL;
}
