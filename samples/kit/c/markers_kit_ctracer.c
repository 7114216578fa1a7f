// SPDX-License-Identifier: GPL-2.0
/*
 * A third-party tracer in C, built only through the installed kit: a probe
 * on kit_rx and one on kit_done, registered in one batch (one patch pass),
 * through <linux/markers.h>.  It prints what it saw when it unloads.
 */
#include <linux/atomic.h>
#include <linux/markers.h>
#include <linux/module.h>
#include <linux/string.h>

static atomic64_t rx_packets = ATOMIC64_INIT(0);
static atomic64_t rx_bytes = ATOMIC64_INIT(0);
static atomic64_t done_bytes = ATOMIC64_INIT(-1);

/* kit_rx: "Ic" (u32 len, C string dev); every argument arrives as a u64. */
static void on_rx(void *data, u64 len, u64 dev)
{
	atomic64_inc(data);
	atomic64_add((u32)len, &rx_bytes);
	if (strcmp(markers_arg_str(dev), "kit0"))
		pr_warn("kit_rx: unexpected device %s\n", markers_arg_str(dev));
}

/* kit_done: "IL" (u32 packets, u64 bytes). */
static void on_done(void *data, u64 packets, u64 bytes)
{
	atomic64_set(data, bytes);
}

static const struct markers_probe probes[] = {
	{ "kit_rx", "Ic", on_rx, &rx_packets, MARKERS_PROBE_ENABLE },
	{ "kit_done", "IL", on_done, &done_bytes, MARKERS_PROBE_ENABLE },
};

static int __init kit_ctracer_init(void)
{
	int ret = markers_probe_register_many(probes, ARRAY_SIZE(probes));

	if (ret)
		pr_err("cannot register probes: %d\n", ret);
	return ret;
}

static void __exit kit_ctracer_exit(void)
{
	/* Waits for running handlers: afterwards nothing calls into us. */
	int ret = markers_probe_unregister_many(probes, ARRAY_SIZE(probes));

	if (ret)
		pr_err("cannot unregister probes: %d\n", ret);
	pr_info("kit_rx: %lld packets, %lld bytes; kit_done: %lld bytes\n",
		atomic64_read(&rx_packets), atomic64_read(&rx_bytes),
		atomic64_read(&done_bytes));
}

module_init(kit_ctracer_init);
module_exit(kit_ctracer_exit);
MODULE_DESCRIPTION("A C tracer built with the markers kit");
MODULE_LICENSE("GPL");
