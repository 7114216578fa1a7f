/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel trace event markers_bench.ko compares a marker's trace event
 * with (markers_bench_glue.c): the fields of the marker bench_ev, a u32 and
 * a string, recorded to the same ring buffer.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM markers_bench

#if !defined(_MARKERS_BENCH_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MARKERS_BENCH_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(markers_bench_ev,
	    TP_PROTO(u32 len, const char *dev),
	    TP_ARGS(len, dev),
	    TP_STRUCT__entry(__field(u32, len)
			     __string(dev, dev)),
	    TP_fast_assign(__entry->len = len;
			   __assign_str(dev);),
	    TP_printk("len=%u dev=%s", __entry->len, __get_str(dev)));

#endif /* _MARKERS_BENCH_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE markers_bench_trace
#include <trace/define_trace.h>
