/* SPDX-License-Identifier: GPL-2.0 */
/*
 * markers: static markers for Rust kernel code, the C interface of markers.ko.
 *
 * Markers are placed in Rust code with mark!(name, "format", args...).  This
 * header is for kernel code that controls them.  See Documentation/markers.rst.
 */
#ifndef _LINUX_MARKERS_H
#define _LINUX_MARKERS_H

#include <linux/percpu.h>
#include <linux/types.h>

/* Release of the markers project this header belongs to. */
#define MARKERS_VERSION "0.1.0"

/*
 * Version of the binary interface between markers.ko and its clients: the
 * site descriptor and state layout, the trampoline protocol and the probe
 * calling convention below.  Every site descriptor names this markers.ko's
 * markers_abi_version and carries its layout version; a client built for
 * another ABI is refused at load.  See Documentation/probes.rst, "ABI".
 */
#define MARKERS_ABI_VERSION 2

/*
 * Every site descriptor points at this symbol: a module with markers cannot
 * load without markers.ko, and markers.ko cannot unload under it.
 */
extern const unsigned int markers_abi_version;

/**
 * markers_update() - enable or disable markers by name, in one patch pass
 * @names: marker names, [A-Za-z0-9_]{1,63}
 * @n: number of names
 * @enable: the new state
 *
 * All sites of all named markers, in every module, are patched in one pass of
 * three CPU serializations.  Context: process, may sleep.
 *
 * Return: 0; -EINVAL for no names (@n 0) or a malformed name; -ENOENT for a
 * name no loaded module defines (nothing changes); -EIO when some sites were
 * refused (they are logged and marked broken, the others are patched).
 */
int markers_update(const char *const *names, unsigned int n, bool enable);

/* markers_update() for one name. */
int markers_enable(const char *name);
int markers_disable(const char *name);

/* Hits of the named marker's enabled sites, or a negative errno. */
s64 markers_hits(const char *name);

/* State bits of a site, from markers_site_state(). */
#define MARKERS_SITE_ENABLED	0x01	/* the site jumps */
#define MARKERS_SITE_PATCHING	0x02	/* a pass is rewriting it */
#define MARKERS_SITE_BROKEN	0x04	/* refused: unexpected bytes */
#define MARKERS_SITE_RETIRED	0x08	/* gone: freed init text, or module going */
#define MARKERS_SITE_TORN	0x10	/* a write failed mid-pass; our int3 stays */

/* The MARKERS_SITE_* bits of the site at @addr, or -ENOENT. */
int markers_site_state(const void *addr);

/* Counters of the patcher. */
struct markers_stats {
	u64 int3;	/* int3 traps handled */
	u64 late;	/* of which on a site no pass was rewriting */
	u64 passes;	/* patch passes */
	u64 rewrites;	/* sites rewritten */
	u64 refused;	/* sites refused */
	u64 syncs;	/* CPU serialization rounds */
};

void markers_get_stats(struct markers_stats *stats);

/*
 * Test only, and only with markers.ko loaded with test_mode=1: write @byte at
 * @offset (0-4) of the registered, disabled site at @site.
 */
int markers_test_poke(const void *site, unsigned int offset, u8 byte);

/*
 * Test only, as above: make the text writes of the next patch passes fail
 * with -ENOMEM at the protocol steps in @steps (bit n for step n: 1, 3, 5),
 * @count times in all (each write is tried three times); @count 0 clears.
 * Bits 8-15 of @steps: the number of passes to let through first.
 * Returns the number of failures injected since the previous call.
 */
int markers_test_fail_writes(unsigned int steps, unsigned int count);

/*
 * Test only, as above: check that the patcher left no writable alias of
 * module text behind.  Returns 0 when the temporary mapping of the last
 * text write no longer maps that text and the text at @site is mapped
 * read-only; -EEXIST if the alias still maps the text, -EACCES if @site is
 * writable, -ENODATA if no text was written since markers.ko loaded.
 */
int markers_test_text_alias(const void *site);

/*
 * Probes
 * ======
 *
 * A probe is a handler attached to a marker by name.  Names are global: a
 * probe attaches to the marker of that name in every module.  It may be
 * registered before any module defines the marker (it is then pending, and
 * attaches when one loads, and again after a reload).
 *
 * The signature is the contract: one kind letter per argument,
 *
 *	b bool       h/H s8/u8    s/S s16/u16   i/I s32/u32   l/L s64/u64
 *	z/Z ssize_t/size_t        p pointer     c C string
 *	t string (pointer, length)                y bytes (pointer, length)
 *
 * so a marker mark!(net_rx, "len={} dev={}", len: u32, dev: &CStr) has the
 * signature "Ic".  A probe attaches only to a marker of its signature.
 *
 * Probe ABI: a probe of a marker of n arguments is a function
 *
 *	void probe(void *data, u64 a0, u64 a1, ..., u64 an-1);
 *
 * called with the x86-64 C calling convention, one u64 parameter per
 * argument: integers zero- or sign-extended to 64 bits, bool 0 or 1,
 * pointers and C strings (c) as addresses, strings (t) and bytes (y) as the
 * address of a struct markers_span.  Every referent is valid only during the
 * call.  Declare the parameters u64, exactly n of them: under kCFI the
 * dispatcher's call is type-checked against that prototype, and
 * registration refuses a handler of another type (-EINVAL).
 *
 * Context: handlers run where the marked code runs (any context, NMI
 * included), with preemption as that code has it: a handler may be
 * preempted, must not sleep, and disables preemption itself if it needs to
 * stay on one CPU.  A handler must not hit its own marker.  Unregistration
 * waits for handlers preempted anywhere (an RCU-tasks grace period).
 *
 * Hits: every enabled site counts its hits in a per-CPU counter of its
 * mark! invocation, whatever its probes; markers_hits() sums them.
 *
 * Arming: a marker's sites jump exactly while the marker is enabled, either
 * explicitly (markers_enable(), the control file) or by an attached probe
 * registered with MARKERS_PROBE_ENABLE.  A probe without the flag gets hits
 * only while the marker is armed for another reason.
 */
struct markers_span {
	const void *ptr;
	size_t len;
};

/* The C string argument @a of a probe. */
static inline const char *markers_arg_str(u64 a)
{
	return (const char *)(unsigned long)a;
}

/* The string or bytes argument @a of a probe. */
static inline const struct markers_span *markers_arg_span(u64 a)
{
	return (const struct markers_span *)(unsigned long)a;
}

/* The probe arms its marker while attached. */
#define MARKERS_PROBE_ENABLE	0x1

struct markers_probe {
	const char *name;		/* marker name, [A-Za-z0-9_]{1,63} */
	const char *sig;		/* signature, e.g. "Ic" */
	const void *func;		/* void func(void *data, u64 a0, ...) */
	void *data;			/* passed to func */
	unsigned int flags;		/* MARKERS_PROBE_* */
};

/**
 * markers_probe_register_many() - attach probes to markers by name
 * @probes: the probes
 * @n: how many
 *
 * All or nothing, one patch pass for the whole batch.
 * Context: process, may sleep.
 *
 * Return: 0; -EINVAL for a malformed name or signature, unknown flags, a
 * signature that differs from the loaded marker's, or (under kCFI) a handler
 * that is not of the probe type of its signature; -EEXIST when the same
 * (name, func, data) is already registered; -ENOMEM; -EIO when a trampoline
 * of the marker cannot be rewritten (a text write failed; nothing changed).
 */
int markers_probe_register_many(const struct markers_probe *probes,
				unsigned int n);

/**
 * markers_probe_unregister_many() - detach probes
 * @probes: the probes (sig and flags are ignored)
 * @n: how many
 *
 * All or nothing (-ENOENT if one is not registered), one patch pass, one
 * grace period: when it returns 0, no handler of the batch is running or
 * will run, and their data may be freed.  Never fails for lack of memory.
 * Context: process, may sleep.
 *
 * Return: 0; -EINVAL for a malformed entry; -ENOENT; -EIO when a trampoline
 * that calls one of them directly cannot be rewritten (a text write failed):
 * then the probes stay registered and may still run, so their data must not
 * be freed.  A module that unloads anyway is detached by markers.ko when it
 * goes, which retries for a second.
 */
int markers_probe_unregister_many(const struct markers_probe *probes,
				  unsigned int n);

static inline int markers_probe_register(const char *name, const char *sig,
					 const void *func, void *data,
					 unsigned int flags)
{
	struct markers_probe p = { name, sig, func, data, flags };

	return markers_probe_register_many(&p, 1);
}

static inline int markers_probe_unregister(const char *name,
					   const void *func, void *data)
{
	struct markers_probe p = { name, NULL, func, data, 0 };

	return markers_probe_unregister_many(&p, 1);
}

/* States returned by markers_probe_state(). */
#define MARKERS_PROBE_PENDING	0	/* no loaded module defines the marker */
#define MARKERS_PROBE_ATTACHED	1
#define MARKERS_PROBE_MISMATCH	2	/* the loaded marker has another signature */

/* The state of a registered probe (name, func, data), or -ENOENT. */
int markers_probe_state(const struct markers_probe *probe);

/*
 * Wait until no handler unregistered before the call can still be running.
 * markers_probe_unregister*() already does; this is for callers that need
 * an explicit barrier, e.g. before freeing data shared by several probes.
 */
void markers_probe_synchronize(void);

#endif /* _LINUX_MARKERS_H */
