// SPDX-License-Identifier: GPL-2.0
/*
 * A C tracer outside the markers tree, written from Documentation/probes.rst
 * and built with scripts/markers-client.mk by scripts/check-client.sh.
 */
#include <linux/atomic.h>
#include <linux/markers.h>
#include <linux/module.h>

static atomic_t hellos = ATOMIC_INIT(0);

/* client_hello: "I" (u32): one u64 parameter after the data. */
static void on_hello(void *data, u64 v)
{
	atomic_add((u32)v, data);
}

static int __init client_tracer_init(void)
{
	return markers_probe_register("client_hello", "I", on_hello, &hellos,
				      MARKERS_PROBE_ENABLE);
}

static void __exit client_tracer_exit(void)
{
	markers_probe_unregister("client_hello", on_hello, &hellos);
	pr_info("client_hello: %d\n", atomic_read(&hellos));
}

module_init(client_tracer_init);
module_exit(client_tracer_exit);
MODULE_DESCRIPTION("Out-of-tree C tracer for markers");
MODULE_LICENSE("GPL");
