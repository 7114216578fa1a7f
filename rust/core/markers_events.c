// SPDX-License-Identifier: GPL-2.0
/*
 * Markers as trace events: every marker appears under
 * /sys/kernel/tracing/events/markers/<name>/ with a format file whose fields
 * are the marker's arguments, named after its format string.  Enabling the
 * event (tracefs, a trigger, perf) attaches a probe that arms the marker and
 * records the arguments as one binary event; disabling it detaches the probe.
 *
 * Registration.  The kernel registers a module's trace events itself, from
 * the module's trace_events array, in its module notifier at
 * MODULE_STATE_COMING (kernel/trace/trace_events.c, priority 1), under
 * event_mutex; trace_add_event_call() needs that mutex too, and it is not
 * exported.  So the event of a marker is added to the trace_events array of
 * the first loaded module that defines the marker, by markers.ko's own
 * notifier, which runs before the kernel's (priority 2): the kernel
 * then registers it as one of that module's events, pins the module while
 * the event is in use, and removes it when the module goes, disabling it
 * first.  A module that defines a marker whose event another module owns
 * gets none; its sites record into the owner's event while it lasts.
 *
 * Lifetime.  One struct markers_event per marker name, made when a module
 * defining it first loads, kept for reuse until markers.ko unloads.  It is
 * in use from its owner's COMING (markers_events_prepare(), under the
 * registry mutex, which serializes the owners) until the late notifier below
 * sees the owner GOING, after the kernel removed the event (priority -1,
 * after the kernel's 1 and 0).  The extended trace_events array is needed
 * only until the kernel's notifier has read it: the late notifier frees it
 * at COMING (or GOING, for a load that failed after the kernel's notifier).
 * Should a notifier between the two fail a load, neither late call comes:
 * the array is leaked and the marker's event stays owned by the dead module
 * (no event for that name until markers.ko reloads); only an allocation
 * failure in another subsystem's notifier does that.
 *
 * Recording.  A marker's event records through the recorder the owner's
 * descriptor names (rust/markers/event.rs): an instance for the marker's
 * signature, compiled into the owner with each field's offset and store,
 * as a TRACE_EVENT's probe is; it reaches the ring buffer through
 * markers_event_reserve() and markers_event_commit() below.  The recorder
 * is code of the owner, which the event cannot outlive.  perf's buffer is
 * written by mev_perf_<n>() here, which read the layout from the event.
 *
 * Locking.  events_lock guards the events and the owner records; it is
 * taken under the registry mutex and by the late notifier, and nothing is
 * called under it.  The reg callback runs under event_mutex and takes the
 * registry mutex (probe registration); nothing of markers.ko waits for
 * event_mutex, so the order event_mutex -> registry mutex -> events_lock
 * is the only one.
 */
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/perf_event.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/trace_events.h>

#include "markers_glue.h"

#define MEV_ARGS_MAX	12
#define MEV_NAME_MAX	63
#define MEV_FIELD_MAX	24
/*
 * The bytes the dynamic fields of one entry share: an entry must fit a ring
 * buffer page and perf's PERF_MAX_TRACE_SIZE (a larger one is dropped, and
 * perf warns).  Longer strings and byte slices are cut.
 */
#define MEV_DYN_BUDGET	3072

/* How an argument is stored in an entry. */
enum mev_op {
	MEV_OP_8, MEV_OP_4, MEV_OP_2, MEV_OP_1,	/* integers, by size */
	MEV_OP_CSTR,				/* c: copied with its NUL */
	MEV_OP_STR,				/* t: copied, NUL added */
	MEV_OP_BYTES,				/* y: copied */
};

struct markers_event {
	struct list_head list;
	struct trace_event_call call;
	struct trace_event_class class;
	/* Owning module while registered (or about to be); NULL when free. */
	struct module *owner;
	char name[MEV_NAME_MAX + 1];
	char sig[MEV_ARGS_MAX + 1];
	unsigned int nargs;
	/* The marker's format string, for the text output. */
	char *format;
	/* print_fmt of the format file. */
	char *print_fmt;
	/* Each argument's field: name, offset in the entry, size. */
	char field[MEV_ARGS_MAX][MEV_FIELD_MAX];
	const struct mev_kind *kind[MEV_ARGS_MAX];
	u16 off[MEV_ARGS_MAX];
	/* kind[i]->op, where the perf recorder reads it. */
	u8 op[MEV_ARGS_MAX];
	/* Bit i: argument i is stored after the fixed part (c, t, y). */
	u16 dynmask;
	/* The format has one placeholder per argument. */
	bool named;
	/* Size of the fixed part of an entry (header and fields). */
	unsigned int fixed;
	/* The owner's recorder (a probe of the marker's arity); NULL when free. */
	const void *recorder;
};

static LIST_HEAD(events);
static DEFINE_MUTEX(events_lock);

/* A module's trace_events array as markers.ko extended it, and the original. */
struct markers_owner {
	struct list_head list;
	struct module *mod;
	struct trace_event_call **calls;
	struct trace_event_call **orig;
	unsigned int orig_n;
};

static LIST_HEAD(owners);

/*
 * What each argument kind (include/linux/markers.h, "Probes") becomes: its
 * store, its field's size, signedness and type in the format file, and its
 * conversion and argument (%s is the field's name) in print_fmt.
 */
struct mev_kind {
	char k;
	u8 op;
	u8 size;
	bool is_signed;
	const char *type;
	const char *conv;
	const char *arg;
};

static const struct mev_kind mev_kinds[] = {
	{ 'b', MEV_OP_1, 1, false, "bool", "%s", "REC->%s ? \"true\" : \"false\"" },
	{ 'h', MEV_OP_1, 1, true, "s8", "%d", "REC->%s" },
	{ 'H', MEV_OP_1, 1, false, "u8", "%u", "REC->%s" },
	{ 's', MEV_OP_2, 2, true, "s16", "%d", "REC->%s" },
	{ 'S', MEV_OP_2, 2, false, "u16", "%u", "REC->%s" },
	{ 'i', MEV_OP_4, 4, true, "s32", "%d", "REC->%s" },
	{ 'I', MEV_OP_4, 4, false, "u32", "%u", "REC->%s" },
	{ 'l', MEV_OP_8, 8, true, "s64", "%lld", "REC->%s" },
	{ 'L', MEV_OP_8, 8, false, "u64", "%llu", "REC->%s" },
	{ 'z', MEV_OP_8, 8, true, "long", "%ld", "REC->%s" },
	{ 'Z', MEV_OP_8, 8, false, "unsigned long", "%lu", "REC->%s" },
	{ 'p', MEV_OP_8, 8, false, "void *", "0x%lx", "(unsigned long)REC->%s" },
	{ 'c', MEV_OP_CSTR, 4, false, "__data_loc char[]", "%s", "__get_str(%s)" },
	{ 't', MEV_OP_STR, 4, false, "__data_loc char[]", "%s", "__get_str(%s)" },
	{ 'y', MEV_OP_BYTES, 4, false, "__data_loc u8[]", "%s",
	  "__print_hex(__get_dynamic_array(%s), __get_dynamic_array_len(%s))" },
};

static const struct mev_kind *mev_kind(char k)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mev_kinds); i++)
		if (mev_kinds[i].k == k)
			return &mev_kinds[i];
	return NULL;
}

static bool mev_ident_char(char c, bool first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (!first && c >= '0' && c <= '9');
}

/*
 * Placeholders of a format string: "{}" or "{:...}", "{{" and "}}" being
 * literal braces.  Calls @fn with the literal text before each placeholder
 * and at the end (@arg -1).  Returns the number of placeholders.
 */
static int mev_walk_format(const char *f,
			   void (*fn)(void *ctx, const char *lit, size_t len, int arg),
			   void *ctx)
{
	const char *lit = f;
	int n = 0;

	while (*f) {
		if ((f[0] == '{' && f[1] == '{') || (f[0] == '}' && f[1] == '}')) {
			fn(ctx, lit, f - lit + 1, -2);
			f += 2;
			lit = f;
		} else if (f[0] == '{') {
			const char *end = strchr(f, '}');

			if (!end)
				break;
			fn(ctx, lit, f - lit, n++);
			f = end + 1;
			lit = f;
		} else {
			f++;
		}
	}
	fn(ctx, lit, strlen(lit), -1);
	return n;
}

static void mev_count(void *ctx, const char *lit, size_t len, int arg)
{
}

/*
 * Field names: the word before "=" or ":" that precedes each placeholder of
 * the format ("len={} dev={}" names len and dev), else argN; a name that is
 * not an identifier, or is taken, becomes argN too.
 */
struct mev_names {
	struct markers_event *ev;
};

static void mev_name_arg(void *ctx, const char *lit, size_t len, int arg)
{
	struct markers_event *ev = ((struct mev_names *)ctx)->ev;
	const char *end = lit + len, *start;
	size_t n;
	int i;

	if (arg < 0 || arg >= ev->nargs)
		return;
	while (end > lit && (end[-1] == ' ' || end[-1] == '=' || end[-1] == ':'))
		end--;
	start = end;
	while (start > lit && mev_ident_char(start[-1], false))
		start--;
	n = end - start;
	if (!n || n >= MEV_FIELD_MAX || !mev_ident_char(*start, true) ||
	    !strncmp(start, "common_", 7))
		return;
	for (i = 0; i < ev->nargs; i++)
		if (i != arg && strlen(ev->field[i]) == n &&
		    !memcmp(ev->field[i], start, n))
			return;
	memcpy(ev->field[arg], start, n);
	ev->field[arg][n] = '\0';
}

/* Fields, names and offsets of the event of a marker; -EINVAL for a kind
 * markers.ko does not know.
 */
static int mev_layout(struct markers_event *ev)
{
	struct mev_names names = { ev };
	unsigned int off = sizeof(struct trace_entry), i;

	for (i = 0; i < ev->nargs; i++) {
		const struct mev_kind *k = mev_kind(ev->sig[i]);

		if (!k)
			return -EINVAL;
		off = ALIGN(off, k->size);
		ev->kind[i] = k;
		ev->off[i] = off;
		ev->op[i] = k->op;
		if (k->op >= MEV_OP_CSTR)
			ev->dynmask |= BIT(i);
		off += k->size;
		snprintf(ev->field[i], MEV_FIELD_MAX, "arg%u", i);
	}
	ev->fixed = off;
	ev->named = mev_walk_format(ev->format, mev_count, NULL) == ev->nargs;
	if (ev->named)
		mev_walk_format(ev->format, mev_name_arg, &names);
	return 0;
}

static int mev_define_fields(struct trace_event_call *call)
{
	struct markers_event *ev = call->data;
	unsigned int i;
	int ret;

	for (i = 0; i < ev->nargs; i++) {
		const struct mev_kind *k = ev->kind[i];

		ret = trace_define_field(call, k->type, ev->field[i], ev->off[i],
					 k->size, k->is_signed, FILTER_OTHER);
		if (ret)
			return ret;
	}
	return 0;
}

static struct trace_event_fields mev_fields_array[] = {
	{ .type = TRACE_FUNCTION_TYPE, .define_fields = mev_define_fields },
	{}
};

/*
 * print_fmt, for perf and trace-cmd: the marker's format with each
 * placeholder replaced by its conversion, then the arguments.  Without one
 * placeholder per argument, "name=conv" for each.
 */
struct mev_fmt {
	struct markers_event *ev;
	char *buf;
	size_t len, pos;
};

static void mev_put(struct mev_fmt *p, const char *s, size_t n)
{
	if (p->buf && p->pos + n < p->len)
		memcpy(p->buf + p->pos, s, n);
	p->pos += n;
}

static void mev_put_lit(struct mev_fmt *p, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			mev_put(p, "\\", 1);
		if (s[i] == '%')
			mev_put(p, "%", 1);
		if (s[i] == '\n')
			mev_put(p, "\\n", 2);
		else
			mev_put(p, s + i, 1);
	}
}

static void mev_fmt_part(void *ctx, const char *lit, size_t len, int arg)
{
	struct mev_fmt *p = ctx;

	mev_put_lit(p, lit, len);
	if (arg >= 0 && arg < p->ev->nargs) {
		const char *c = p->ev->kind[arg]->conv;

		mev_put(p, c, strlen(c));
	}
}

static void mev_fmt_args(struct mev_fmt *p)
{
	struct markers_event *ev = p->ev;
	char tmp[3 * MEV_FIELD_MAX + 48];
	unsigned int i;

	mev_put(p, "\"", 1);
	for (i = 0; i < ev->nargs; i++) {
		const char *f = ev->field[i];
		int n;

		mev_put(p, ", ", 2);
		/* The argument names the field once, or twice (bytes). */
		n = snprintf(tmp, sizeof(tmp), ev->kind[i]->arg, f, f);
		mev_put(p, tmp, n);
	}
}

static void mev_fmt_build(struct mev_fmt *p)
{
	struct markers_event *ev = p->ev;
	unsigned int i;

	p->pos = 0;
	mev_put(p, "\"", 1);
	if (ev->named) {
		mev_walk_format(ev->format, mev_fmt_part, p);
	} else {
		for (i = 0; i < ev->nargs; i++) {
			const char *c = ev->kind[i]->conv;

			if (i)
				mev_put(p, " ", 1);
			mev_put(p, ev->field[i], strlen(ev->field[i]));
			mev_put(p, "=", 1);
			mev_put(p, c, strlen(c));
		}
	}
	mev_fmt_args(p);
	mev_put(p, "", 1);
}

static char *mev_print_fmt(struct markers_event *ev)
{
	struct mev_fmt p = { ev, NULL, 0, 0 };

	mev_fmt_build(&p);
	p.len = p.pos + 1;
	p.buf = kzalloc(p.len, GFP_KERNEL);
	if (p.buf)
		mev_fmt_build(&p);
	return p.buf;
}

/* The data of a dynamic field of entry @e: a __data_loc is offset | len << 16. */
static const void *mev_dyn(const void *e, const struct markers_event *ev,
			   unsigned int i, unsigned int *len)
{
	u32 loc = *(const u32 *)(e + ev->off[i]);

	*len = loc >> 16;
	return e + (loc & 0xffff);
}

/* The text output (the trace file), in the marker's own format. */
struct mev_out {
	struct trace_seq *s;
	const struct markers_event *ev;
	const void *e;
};

static void mev_out_arg(struct mev_out *o, unsigned int i)
{
	const void *v = o->e + o->ev->off[i];
	struct trace_seq *s = o->s;
	unsigned int len;

	switch (o->ev->sig[i]) {
	case 'b':
		trace_seq_printf(s, "%s", *(const u8 *)v ? "true" : "false");
		break;
	case 'h':
		trace_seq_printf(s, "%d", *(const s8 *)v);
		break;
	case 'H':
		trace_seq_printf(s, "%u", *(const u8 *)v);
		break;
	case 's':
		trace_seq_printf(s, "%d", *(const s16 *)v);
		break;
	case 'S':
		trace_seq_printf(s, "%u", *(const u16 *)v);
		break;
	case 'i':
		trace_seq_printf(s, "%d", *(const s32 *)v);
		break;
	case 'I':
		trace_seq_printf(s, "%u", *(const u32 *)v);
		break;
	case 'l':
	case 'z':
		trace_seq_printf(s, "%lld", *(const s64 *)v);
		break;
	case 'L':
	case 'Z':
		trace_seq_printf(s, "%llu", *(const u64 *)v);
		break;
	case 'p':
		trace_seq_printf(s, "0x%llx", *(const u64 *)v);
		break;
	case 'y':
		v = mev_dyn(o->e, o->ev, i, &len);
		trace_seq_printf(s, "%*phN", (int)min(len, 64U), v);
		break;
	default:
		v = mev_dyn(o->e, o->ev, i, &len);
		trace_seq_printf(s, "%.*s", (int)len, (const char *)v);
		break;
	}
}

static void mev_out_part(void *ctx, const char *lit, size_t len, int arg)
{
	struct mev_out *o = ctx;

	trace_seq_printf(o->s, "%.*s", (int)len, lit);
	if (arg >= 0 && arg < o->ev->nargs)
		mev_out_arg(o, arg);
}

static enum print_line_t mev_output(struct trace_iterator *iter, int flags,
				    struct trace_event *event)
{
	struct trace_event_call *call =
		container_of(event, struct trace_event_call, event);
	struct mev_out o = { &iter->seq, call->data, iter->ent };
	unsigned int i;
	int ret;

	ret = trace_raw_output_prep(iter, event);
	if (ret != TRACE_TYPE_HANDLED)
		return ret;
	if (o.ev->named) {
		mev_walk_format(o.ev->format, mev_out_part, &o);
	} else {
		for (i = 0; i < o.ev->nargs; i++) {
			trace_seq_printf(o.s, "%s%s=", i ? " " : "", o.ev->field[i]);
			mev_out_arg(&o, i);
		}
	}
	trace_seq_putc(o.s, '\n');
	return trace_handle_return(o.s);
}

static struct trace_event_functions mev_funcs = {
	.trace = mev_output,
};

/*
 * Recording for perf.  @a holds the probe's @n arguments (struct
 * markers_probe ABI); @n is the probe's arity, a constant where these are
 * inlined, so the loops below unroll; each field's store is read from the
 * event (the ring buffer's recorders have them compiled in).
 * Dynamic data (strings, bytes) is copied after the fixed part; a string
 * longer than what a __data_loc can say is cut.
 */
static __always_inline unsigned int mev_entry_size(const struct markers_event *ev,
						   const u64 *a, unsigned int n,
						   u16 *dlen)
{
	unsigned int size = ev->fixed, budget = MEV_DYN_BUDGET, i;
	size_t len;

#pragma GCC unroll 12
	for (i = 0; i < n; i++) {
		if (!(ev->dynmask & BIT(i)))
			continue;
		if (ev->op[i] == MEV_OP_CSTR)
			len = strlen(markers_arg_str(a[i])) + 1;
		else
			len = markers_arg_span(a[i])->len + (ev->op[i] == MEV_OP_STR);
		/* A string keeps at least its NUL. */
		if (unlikely(len > budget))
			len = max(budget, 1U);
		budget -= min_t(unsigned int, len, budget);
		dlen[i] = len;
		size += len;
	}
	return size;
}

static __always_inline void mev_fill(const struct markers_event *ev, void *e,
				     const u64 *a, unsigned int n,
				     const u16 *dlen)
{
	unsigned int i, dyn = ev->fixed;

#pragma GCC unroll 12
	for (i = 0; i < n; i++) {
		void *f = e + ev->off[i];

		if (!(ev->dynmask & BIT(i))) {
			switch (ev->op[i]) {
			case MEV_OP_8:
				*(u64 *)f = a[i];
				break;
			case MEV_OP_4:
				*(u32 *)f = a[i];
				break;
			case MEV_OP_2:
				*(u16 *)f = a[i];
				break;
			default:
				*(u8 *)f = a[i];
				break;
			}
			continue;
		}
		if (ev->op[i] == MEV_OP_CSTR) {
			/* The NUL is stored again: the copy may be cut. */
			memcpy(e + dyn, markers_arg_str(a[i]), dlen[i]);
			((char *)e)[dyn + dlen[i] - 1] = '\0';
		} else if (ev->op[i] == MEV_OP_STR) {
			memcpy(e + dyn, markers_arg_span(a[i])->ptr, dlen[i] - 1);
			((char *)e)[dyn + dlen[i] - 1] = '\0';
		} else {
			memcpy(e + dyn, markers_arg_span(a[i])->ptr, dlen[i]);
		}
		*(u32 *)f = dyn | (u32)dlen[i] << 16;
		dyn += dlen[i];
	}
}

/*
 * The recorders' way into the ring buffer (rust/markers/event.rs): what a
 * TRACE_EVENT's probe does around its stores.  The recorder's buffer state
 * is room for a struct trace_event_buffer, and its entries' header a struct
 * trace_entry, of the sizes the crate assumes.
 */
#define MEV_EVENT_BUF_SIZE	64
static_assert(sizeof(struct trace_event_buffer) <= MEV_EVENT_BUF_SIZE);
static_assert(__alignof__(struct trace_event_buffer) <= 8);
static_assert(sizeof(struct trace_entry) == 8);
static_assert(MEV_DYN_BUDGET == 3072);

/**
 * markers_event_reserve() - start an entry of a marker's trace event
 * @file: the event's file in a trace instance (the recorder's probe data)
 * @buf: room for the buffer state, MEV_EVENT_BUF_SIZE bytes, 8-aligned
 * @size: the entry's size, header included
 *
 * As a tracepoint calls its probes, with preemption disabled:
 * trace_event_buffer_reserve() takes one off the preemption count it
 * records.  Preemption stays disabled until markers_event_commit() after
 * an entry is returned.
 *
 * Return: the entry, or NULL if the event records nothing now (soft
 * disabled, a trigger without condition, a PID filter, no room).
 */
notrace void *markers_event_reserve(struct trace_event_file *file, void *buf,
				    unsigned int size)
{
	void *e;

	preempt_disable_notrace();
	if (!trace_trigger_soft_disabled(file)) {
		e = trace_event_buffer_reserve(buf, file, size);
		if (e)
			return e;
	}
	preempt_enable_notrace();
	return NULL;
}
EXPORT_SYMBOL_GPL(markers_event_reserve);

/**
 * markers_event_commit() - commit the entry markers_event_reserve() started
 * @buf: the buffer state passed to it
 *
 * Filters and triggers run here, as for any event.
 */
notrace void markers_event_commit(void *buf)
{
	trace_event_buffer_commit(buf);
	preempt_enable_notrace();
}
EXPORT_SYMBOL_GPL(markers_event_commit);

#ifdef CONFIG_PERF_EVENTS
static __always_inline void mev_perf(struct trace_event_call *call,
				     const u64 *a, unsigned int n, u16 *dlen)
{
	const struct markers_event *ev =
		container_of(call, struct markers_event, call);
	struct hlist_head *head;
	struct pt_regs *regs;
	unsigned int size;
	int rctx;
	void *e;

	preempt_disable_notrace();
	head = this_cpu_ptr(call->perf_events);
	if (!bpf_prog_array_valid(call) && hlist_empty(head))
		goto out;
	size = mev_entry_size(ev, a, n, dlen);
	/* perf's raw record: a u32 size, then the entry, u64-aligned. */
	size = ALIGN(size + sizeof(u32), sizeof(u64)) - sizeof(u32);
	e = perf_trace_buf_alloc(size, &regs, &rctx);
	if (!e)
		goto out;
	perf_fetch_caller_regs(regs);
	mev_fill(ev, e, a, n, dlen);
	perf_trace_run_bpf_submit(e, size, rctx, call, 1, regs, head, NULL);
out:
	preempt_enable_notrace();
}
#else
static __always_inline void mev_perf(struct trace_event_call *call,
				     const u64 *a, unsigned int n, u16 *dlen)
{
}
#endif

/*
 * The perf probes, one per arity (kCFI checks a probe's type against its
 * marker's arity): mev_perf_<n>(): PARAMS, then the arguments.  dlen, the
 * lengths of the dynamic fields, is written before it is read.
 */
#define MEV_PERF_PROBE(n, params, ...)					\
static notrace void mev_perf_##n params					\
{									\
	const u64 a[] = { __VA_ARGS__ };				\
	u16 dlen[ARRAY_SIZE(a)] __uninitialized;			\
									\
	mev_perf(data, a, n, dlen);					\
}

MEV_PERF_PROBE(0, (void *data), 0)
MEV_PERF_PROBE(1, (void *data, u64 a0), a0)
MEV_PERF_PROBE(2, (void *data, u64 a0, u64 a1), a0, a1)
MEV_PERF_PROBE(3, (void *data, u64 a0, u64 a1, u64 a2), a0, a1, a2)
MEV_PERF_PROBE(4, (void *data, u64 a0, u64 a1, u64 a2, u64 a3), a0, a1, a2, a3)
MEV_PERF_PROBE(5, (void *data, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4), a0, a1,
	       a2, a3, a4)
MEV_PERF_PROBE(6, (void *data, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5),
	       a0, a1, a2, a3, a4, a5)
MEV_PERF_PROBE(7, (void *data, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5,
		   u64 a6), a0, a1, a2, a3, a4, a5, a6)
MEV_PERF_PROBE(8, (void *data, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5,
		   u64 a6, u64 a7), a0, a1, a2, a3, a4, a5, a6, a7)
MEV_PERF_PROBE(9, (void *data, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5,
		   u64 a6, u64 a7, u64 a8), a0, a1, a2, a3, a4, a5, a6, a7, a8)
MEV_PERF_PROBE(10, (void *data, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5,
		    u64 a6, u64 a7, u64 a8, u64 a9), a0, a1, a2, a3, a4, a5, a6,
	       a7, a8, a9)
MEV_PERF_PROBE(11, (void *data, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5,
		    u64 a6, u64 a7, u64 a8, u64 a9, u64 a10), a0, a1, a2, a3,
	       a4, a5, a6, a7, a8, a9, a10)
MEV_PERF_PROBE(12, (void *data, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5,
		    u64 a6, u64 a7, u64 a8, u64 a9, u64 a10, u64 a11), a0, a1,
	       a2, a3, a4, a5, a6, a7, a8, a9, a10, a11)

static const void *const mev_perf_probes[] = {
	mev_perf_0, mev_perf_1, mev_perf_2, mev_perf_3, mev_perf_4,
	mev_perf_5, mev_perf_6, mev_perf_7, mev_perf_8, mev_perf_9,
	mev_perf_10, mev_perf_11, mev_perf_12,
};

/*
 * Enable and disable, under event_mutex: a probe per trace instance (its
 * data the instance's event file) or for perf (the call), registered with
 * MARKERS_PROBE_ENABLE, so the marker is armed exactly while one is there.
 */
static int mev_reg(struct trace_event_call *call, enum trace_reg type,
		   void *data)
{
	struct markers_event *ev = call->data;

	switch (type) {
	case TRACE_REG_REGISTER:
		return markers_probe_register(ev->name, ev->sig, ev->recorder,
					      data, MARKERS_PROBE_ENABLE);
	case TRACE_REG_UNREGISTER:
		return markers_probe_unregister(ev->name, ev->recorder, data);
#ifdef CONFIG_PERF_EVENTS
	case TRACE_REG_PERF_REGISTER:
		return markers_probe_register(ev->name, ev->sig,
					      mev_perf_probes[ev->nargs], call,
					      MARKERS_PROBE_ENABLE);
	case TRACE_REG_PERF_UNREGISTER:
		return markers_probe_unregister(ev->name,
						mev_perf_probes[ev->nargs], call);
	case TRACE_REG_PERF_OPEN:
	case TRACE_REG_PERF_CLOSE:
	case TRACE_REG_PERF_ADD:
	case TRACE_REG_PERF_DEL:
		return 0;
#endif
	}
	return 0;
}

static struct markers_event *mev_find(const char *name, size_t len)
{
	struct markers_event *ev;

	list_for_each_entry(ev, &events, list)
		if (strlen(ev->name) == len && !memcmp(ev->name, name, len))
			return ev;
	return NULL;
}

static struct markers_event *mev_new(const char *name, size_t nlen,
				     const char *sig, size_t nargs,
				     const char *format, size_t flen)
{
	struct markers_event *ev;
	int ret = -ENOMEM;

	if (nlen > MEV_NAME_MAX || nargs > MEV_ARGS_MAX)
		return ERR_PTR(-EINVAL);
	ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return ERR_PTR(-ENOMEM);
	memcpy(ev->name, name, nlen);
	memcpy(ev->sig, sig, nargs);
	ev->nargs = nargs;
	ev->format = kmemdup_nul(format, flen, GFP_KERNEL);
	if (!ev->format)
		goto err;
	ret = mev_layout(ev);
	if (ret)
		goto err;
	ret = -ENOMEM;
	ev->print_fmt = mev_print_fmt(ev);
	if (!ev->print_fmt)
		goto err;
	return ev;
err:
	kfree(ev->format);
	kfree(ev);
	return ERR_PTR(ret);
}

/*
 * The call and class as the kernel wants them at registration: afresh each
 * time, since the kernel leaves its own state in them (the event type, the
 * list heads) when it removes an event.
 */
static void mev_init_call(struct markers_event *ev)
{
	memset(&ev->call, 0, sizeof(ev->call));
	memset(&ev->class, 0, sizeof(ev->class));
	ev->class.system = "markers";
	ev->class.reg = mev_reg;
	ev->class.fields_array = mev_fields_array;
	ev->class.raw_init = trace_event_raw_init;
	INIT_LIST_HEAD(&ev->class.fields);
	ev->call.class = &ev->class;
	ev->call.name = ev->name;
	ev->call.print_fmt = ev->print_fmt;
	ev->call.event.funcs = &mev_funcs;
	ev->call.data = ev;
}

static void mev_free(struct markers_event *ev)
{
	kfree(ev->print_fmt);
	kfree(ev->format);
	kfree(ev);
}

/**
 * markers_events_prepare() - give the marker an event owned by @mod
 * @mod: the loading module (MODULE_STATE_COMING), which defines the marker
 * @name, @nlen: the marker's name
 * @sig, @nargs: its signature
 * @format, @flen: its format string
 *
 * Does nothing if another module owns the marker's event.  The event goes
 * to @mod's trace_events at markers_events_commit(); markers_events_abort()
 * undoes the preparations of a load that fails.
 *
 * Return: 0, or -ENOMEM (nothing of the marker's event is kept).
 */
int markers_events_prepare(struct module *mod, const char *name, size_t nlen,
			   const char *sig, size_t nargs, const char *format,
			   size_t flen, const void *recorder)
{
	struct markers_event *ev;
	int ret = 0;

	mutex_lock(&events_lock);
	ev = mev_find(name, nlen);
	if (!ev) {
		ev = mev_new(name, nlen, sig, nargs, format, flen);
		if (IS_ERR(ev)) {
			ret = PTR_ERR(ev);
			pr_err("module %s: marker %.*s: cannot make its trace event: %d\n",
			       mod->name, (int)nlen, name, ret);
			goto out;
		}
		list_add_tail(&ev->list, &events);
	} else if (ev->owner || ev->nargs != nargs || memcmp(ev->sig, sig, nargs)) {
		/* Owned, or kept from a marker of another signature. */
		goto out;
	}
	mev_init_call(ev);
	ev->owner = mod;
	ev->recorder = recorder;
out:
	mutex_unlock(&events_lock);
	return ret;
}

/* Gives @mod its own trace_events array back; frees ours. */
static void mev_restore(struct module *mod)
{
	struct markers_owner *o, *tmp;

	list_for_each_entry_safe(o, tmp, &owners, list) {
		if (o->mod == mod) {
			mod->trace_events = o->orig;
			mod->num_trace_events = o->orig_n;
			list_del(&o->list);
			kfree(o->calls);
			kfree(o);
		}
	}
}

/* The events @mod owned are free for the next module defining them. */
static void mev_release(struct module *mod)
{
	struct markers_event *ev;

	list_for_each_entry(ev, &events, list)
		if (ev->owner == mod) {
			ev->owner = NULL;
			ev->recorder = NULL;
		}
}

/* The load of @mod fails before the kernel saw its events. */
void markers_events_abort(struct module *mod)
{
	mutex_lock(&events_lock);
	mev_restore(mod);
	mev_release(mod);
	mutex_unlock(&events_lock);
}

/**
 * markers_events_commit() - hand @mod's prepared events to the kernel
 * @mod: the loading module (MODULE_STATE_COMING)
 *
 * Extends @mod's trace_events array with its prepared events, which the
 * kernel's notifier then registers.
 *
 * Return: 0, or -ENOMEM (the events are given back; the module's load
 * fails).
 */
int markers_events_commit(struct module *mod)
{
	struct markers_owner *o;
	struct markers_event *ev;
	unsigned int n = 0, i = 0;

	mutex_lock(&events_lock);
	list_for_each_entry(ev, &events, list)
		n += ev->owner == mod;
	if (!n)
		goto out;
	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		goto nomem;
	o->calls = kcalloc(mod->num_trace_events + n, sizeof(*o->calls),
			   GFP_KERNEL);
	if (!o->calls) {
		kfree(o);
		goto nomem;
	}
	o->mod = mod;
	o->orig = mod->trace_events;
	o->orig_n = mod->num_trace_events;
	for (i = 0; i < mod->num_trace_events; i++)
		o->calls[i] = mod->trace_events[i];
	list_for_each_entry(ev, &events, list)
		if (ev->owner == mod)
			o->calls[i++] = &ev->call;
	list_add(&o->list, &owners);
	mod->trace_events = o->calls;
	mod->num_trace_events = i;
out:
	mutex_unlock(&events_lock);
	return 0;
nomem:
	pr_err("module %s: no memory for the trace events of its markers\n",
	       mod->name);
	mev_release(mod);
	mutex_unlock(&events_lock);
	return -ENOMEM;
}

/*
 * After the kernel's notifier (a higher priority): at COMING it has read
 * the extended array; at GOING it has removed the module's events, which are
 * then free for the next module that defines their marker.
 */
static int mev_module_notify(struct notifier_block *nb, unsigned long action,
			     void *data)
{
	if (action != MODULE_STATE_COMING && action != MODULE_STATE_GOING)
		return NOTIFY_DONE;
	mutex_lock(&events_lock);
	mev_restore(data);
	if (action == MODULE_STATE_GOING)
		mev_release(data);
	mutex_unlock(&events_lock);
	return NOTIFY_OK;
}

static struct notifier_block mev_module_nb = {
	.notifier_call = mev_module_notify,
	.priority = -1,
};

int markers_events_init(void)
{
	return register_module_notifier(&mev_module_nb);
}

/* Every module with markers is gone: no event of ours is registered. */
void markers_events_exit(void)
{
	struct markers_event *ev, *tmp;
	struct markers_owner *o, *otmp;

	unregister_module_notifier(&mev_module_nb);
	/* Left by loads that failed between the two notifiers. */
	list_for_each_entry_safe(o, otmp, &owners, list) {
		list_del(&o->list);
		kfree(o->calls);
		kfree(o);
	}
	list_for_each_entry_safe(ev, tmp, &events, list) {
		list_del(&ev->list);
		mev_free(ev);
	}
}
