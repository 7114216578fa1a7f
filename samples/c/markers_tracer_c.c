// SPDX-License-Identifier: GPL-2.0
/*
 * Sample tracer in C: attaches probes to the sample module's markers through
 * include/linux/markers.h, both in one batch (one patch pass), counts hits
 * and prints them when it unloads.
 */
#include <linux/atomic.h>
#include <linux/kernel.h>
#include <linux/markers.h>
#include <linux/module.h>

static atomic64_t tick_hits = ATOMIC64_INIT(0);
static atomic64_t loop_hits = ATOMIC64_INIT(0);
static atomic64_t loop_sum = ATOMIC64_INIT(0);

/* sample_tick: "LcL" (u64 tick, C string, u64 ticks). */
static void on_tick(void *data, u64 tick, u64 by, u64 ticks)
{
	atomic64_t *hits = data;

	atomic64_inc(hits);
	if (tick % 20 == 0)
		pr_info("tick %llu by %s\n", tick, markers_arg_str(by));
}

/* sample_loop: "II" (u32 i, u32 sum). */
static void on_loop(void *data, u64 i, u64 sum)
{
	atomic64_t *hits = data;

	atomic64_inc(hits);
	atomic64_add((u32)i, &loop_sum);
}

static const struct markers_probe probes[] = {
	{ "sample_tick", "LcL", on_tick, &tick_hits, MARKERS_PROBE_ENABLE },
	{ "sample_loop", "II", on_loop, &loop_hits, MARKERS_PROBE_ENABLE },
};

static int __init tracer_c_init(void)
{
	int ret = markers_probe_register_many(probes, ARRAY_SIZE(probes));

	if (ret)
		pr_err("cannot register probes: %d\n", ret);
	else
		pr_info("C tracer loaded: sample_tick %d, sample_loop %d (1 = attached, 0 = pending)\n",
			markers_probe_state(&probes[0]), markers_probe_state(&probes[1]));
	return ret;
}

static void __exit tracer_c_exit(void)
{
	/* Waits for running handlers: afterwards nothing calls into us. */
	int ret = markers_probe_unregister_many(probes, ARRAY_SIZE(probes));

	/* Our data is static: markers.ko detaches us when we go, if need be. */
	if (ret)
		pr_err("cannot unregister probes: %d\n", ret);
	pr_info("C tracer unloading: sample_tick %lld hits, sample_loop %lld hits (sum of i %lld)\n",
		atomic64_read(&tick_hits), atomic64_read(&loop_hits),
		atomic64_read(&loop_sum));
}

module_init(tracer_c_init);
module_exit(tracer_c_exit);
MODULE_DESCRIPTION("Sample tracer in C for markers");
MODULE_LICENSE("GPL");
