/* SPDX-License-Identifier: GPL-2.0 */
/*
 * markers: static markers for Rust kernel code, the C interface of markers.ko.
 *
 * Markers are placed in Rust code with mark!(name, "format", args...).  This
 * header is for kernel code that controls them.  See Documentation/markers.rst.
 */
#ifndef _LINUX_MARKERS_H
#define _LINUX_MARKERS_H

#include <linux/types.h>

/* Release of the markers project this header belongs to. */
#define MARKERS_VERSION "0.1.0"

/* Version of the binary interface between markers.ko and its clients. */
#define MARKERS_ABI_VERSION 1

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
 * Return: 0; -EINVAL for a malformed name; -ENOENT for a name no loaded
 * module defines (nothing changes); -EIO when some sites were refused (they
 * are logged and marked broken, the others are patched).
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
#define MARKERS_SITE_RETIRED	0x08	/* in freed init text */

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

/* The call of an enabled site (used by the mark! expansion). */
struct markers_site_state;
void markers_fire(const struct markers_site_state *state, const u64 *slots,
		  size_t nslots);

#endif /* _LINUX_MARKERS_H */
