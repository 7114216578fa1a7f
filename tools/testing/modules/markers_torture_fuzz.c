// SPDX-License-Identifier: GPL-2.0
/*
 * markers_torture.ko, fuzz=N: N random calls of the registration API, each
 * checked against a model of what must be registered.
 *
 * A call is a batch of probe registrations or unregistrations (one to
 * three entries mixing valid and invalid ones: malformed names and
 * signatures, a signature that differs from the loaded marker's, unknown
 * flags, duplicates, probes never registered), or markers_enable() or
 * markers_disable() of a loaded, unknown or malformed name.  The model
 * knows the documented outcome (include/linux/markers.h): 0, -EINVAL,
 * -EEXIST or -ENOENT, all or nothing.  After every call each probe of the
 * model must be in its state (attached on a loaded marker, pending on an
 * unknown one), and the entries of a refused call must not be registered.
 * Then the patcher's limits: markers_test_poke() refuses every address but
 * a registered, disabled site's, and no writable alias of module text is
 * left after a pass.  Runs at load, instead of the torture run; prints one
 * line, sets `result`.
 */
#include <linux/markers.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/string.h>

#include "markers_torture_glue.h"

static unsigned int fuzz;
module_param(fuzz, uint, 0400);
MODULE_PARM_DESC(fuzz, "Make this many random registration calls instead of the torture run");

unsigned int markers_torture_fuzz_calls(void)
{
	return fuzz;
}

/* Handlers of 0, 1, 2 and 7 arguments (never called: no reader runs). */
static void fz_zero(void *d)
{
}

static void fz_one(void *d, u64 a)
{
}

static void fz_two(void *d, u64 a, u64 b)
{
}

static void fz_seven(void *d, u64 a, u64 b, u64 c, u64 e, u64 f, u64 g, u64 h)
{
}

struct fz_name {
	const char *name;
	const char *sig;	/* loaded marker's signature, or NULL */
	bool valid;
};

static const struct fz_name fz_names[] = {
	{ "tort_a", "LL", true }, { "tort_b", "Il", true },
	{ "tort_c", "tL", true }, { "tort_d", "LLLLLLL", true },
	{ "tort_fz_pending", NULL, true }, { "tort_fz_other", NULL, true },
	{ "bad-name", NULL, false }, { "", NULL, false },
	{ "x123456789012345678901234567890123456789012345678901234567890123", NULL, false },
};

/* Valid signatures for names no module defines ("": no arguments). */
static const char *const fz_free_sigs[] = { "", "L", "LL", "Il", "tL", "LLLLLLL" };
/* Malformed ones: an unknown letter, a space, one argument too many. */
static const char *const fz_bad_sigs[] = { "Q", "L L", "LLLLLLLLLLLLL" };

static char fz_data[3];

#define FZ_MAX 256

struct fz_probe {
	const struct fz_name *n;
	const char *sig;
	const void *func;
	void *data;
	unsigned int flags;
};

static struct fz_probe fz_model[FZ_MAX];
static unsigned int fz_nmodel;
static unsigned int fz_errors;
/* Outcomes seen: 0, -EINVAL, -EEXIST, -ENOENT. */
static unsigned int fz_ok, fz_einval, fz_eexist, fz_enoent;

static void fz_count(int r)
{
	if (!r)
		fz_ok++;
	else if (r == -EINVAL)
		fz_einval++;
	else if (r == -EEXIST)
		fz_eexist++;
	else if (r == -ENOENT)
		fz_enoent++;
}

#define fz_fail(fmt, ...) do {							\
	if (++fz_errors <= 20)							\
		pr_err("markers_torture: !!! fuzz: " fmt "\n", ##__VA_ARGS__);	\
} while (0)

static const void *fz_func(const char *sig)
{
	switch (strlen(sig)) {
	case 0: return fz_zero;
	case 1: return fz_one;
	case 7: return fz_seven;
	default: return fz_two;
	}
}

static u32 fz_below(u32 n)
{
	return get_random_u32_below(n);
}

/* A random entry: mostly valid, sometimes not, often a duplicate. */
static struct fz_probe fz_entry(void)
{
	struct fz_probe p;
	u32 k = fz_below(100);

	p.n = &fz_names[fz_below(6)];
	p.sig = p.n->sig ? p.n->sig : fz_free_sigs[fz_below(ARRAY_SIZE(fz_free_sigs))];
	p.func = fz_func(p.sig);
	p.data = &fz_data[fz_below(ARRAY_SIZE(fz_data))];
	p.flags = fz_below(2) ? MARKERS_PROBE_ENABLE : 0;
	if (k < 8) {
		p.n = &fz_names[6 + fz_below(3)];
	} else if (k < 14) {
		p.sig = fz_bad_sigs[fz_below(ARRAY_SIZE(fz_bad_sigs))];
	} else if (k < 20 && p.n->sig) {
		p.sig = strlen(p.n->sig) == 2 ? "Ll" : "LL";	/* another signature */
		p.func = fz_func(p.sig);
	} else if (k < 24) {
		p.flags = 0x80;
	} else if (k < 50 && fz_nmodel) {
		p = fz_model[fz_below(fz_nmodel)];	/* a duplicate */
	}
	return p;
}

static bool fz_same(const struct fz_probe *a, const struct fz_probe *b)
{
	return !strcmp(a->n->name, b->n->name) && a->func == b->func && a->data == b->data;
}

static int fz_find(const struct fz_probe *p)
{
	unsigned int i;

	for (i = 0; i < fz_nmodel; i++)
		if (fz_same(&fz_model[i], p))
			return i;
	return -1;
}

static bool fz_sig_ok(const char *sig)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fz_bad_sigs); i++)
		if (!strcmp(sig, fz_bad_sigs[i]))
			return false;
	return true;
}

static struct markers_probe fz_raw(const struct fz_probe *p)
{
	return (struct markers_probe){ p->n->name, p->sig, p->func, p->data, p->flags };
}

/* What registering @b[0..n) must return, by include/linux/markers.h. */
static int fz_expect_register(const struct fz_probe *b, unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i++)		/* every entry is read first */
		if (!b[i].n->valid || (b[i].flags & ~MARKERS_PROBE_ENABLE))
			return -EINVAL;
	for (i = 0; i < n; i++) {	/* then checked in order */
		if (!fz_sig_ok(b[i].sig))
			return -EINVAL;
		if (b[i].n->sig && strcmp(b[i].n->sig, b[i].sig))
			return -EINVAL;
		if (fz_find(&b[i]) >= 0)
			return -EEXIST;
		for (j = 0; j < i; j++)
			if (fz_same(&b[j], &b[i]))
				return -EEXIST;
	}
	if (fz_nmodel + n > FZ_MAX)
		return 1;	/* not made: the model is full */
	return 0;
}

/* What unregistering @b[0..n) must return. */
static int fz_expect_unregister(const struct fz_probe *b, unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		if (!b[i].n->valid || (b[i].flags & ~MARKERS_PROBE_ENABLE))
			return -EINVAL;
		if (fz_find(&b[i]) < 0)
			return -ENOENT;
		for (j = 0; j < i; j++)
			if (fz_same(&b[j], &b[i]))
				return -ENOENT;	/* already taken by this batch */
	}
	return 0;
}

/* Every probe of the model in its state; @b[0..n) registered only if listed. */
static void fz_check_state(const struct fz_probe *b, unsigned int n, unsigned int call)
{
	unsigned int i;

	for (i = 0; i < fz_nmodel; i++) {
		struct markers_probe r = fz_raw(&fz_model[i]);
		int want = fz_model[i].n->sig ? MARKERS_PROBE_ATTACHED : MARKERS_PROBE_PENDING;
		int st = markers_probe_state(&r);

		if (st != want)
			fz_fail("call %u: probe on %s is in state %d, not %d", call,
				fz_model[i].n->name, st, want);
	}
	for (i = 0; i < n; i++) {
		struct markers_probe r = fz_raw(&b[i]);
		/* An entry with unknown flags is refused before it is looked up. */
		int want = b[i].flags & ~MARKERS_PROBE_ENABLE ? -EINVAL : -ENOENT;
		int st;

		if (!b[i].n->valid || fz_find(&b[i]) >= 0)
			continue;
		st = markers_probe_state(&r);
		if (st != want)
			fz_fail("call %u: a probe on %s, not registered, is in state %d, not %d",
				call, b[i].n->name, st, want);
	}
}

static void fz_call(unsigned int call)
{
	struct fz_probe b[3];
	struct markers_probe raw[3];
	unsigned int i, n = 1 + fz_below(3);
	u32 op = fz_below(100);
	int want, got;

	for (i = 0; i < n; i++) {
		b[i] = fz_entry();
		raw[i] = fz_raw(&b[i]);
	}
	if (op < 45) {
		want = fz_expect_register(b, n);
		if (want == 1)
			return;
		got = markers_probe_register_many(raw, n);
		fz_count(got);
		if (got != want)
			fz_fail("call %u: registering %u probes (first on '%s' \"%s\"): %d, not %d",
				call, n, b[0].n->name, b[0].sig, got, want);
		if (!got)
			for (i = 0; i < n; i++)
				fz_model[fz_nmodel++] = b[i];
	} else if (op < 85) {
		/* Mostly probes that are registered. */
		for (i = 0; i < n; i++) {
			if (fz_nmodel && fz_below(10) < 7) {
				b[i] = fz_model[fz_below(fz_nmodel)];
				raw[i] = fz_raw(&b[i]);
			}
		}
		want = fz_expect_unregister(b, n);
		got = markers_probe_unregister_many(raw, n);
		fz_count(got);
		if (got != want)
			fz_fail("call %u: unregistering %u probes (first on '%s'): %d, not %d",
				call, n, b[0].n->name, got, want);
		if (!got) {
			for (i = 0; i < n; i++) {
				int j = fz_find(&b[i]);

				if (j >= 0)
					fz_model[j] = fz_model[--fz_nmodel];
			}
		}
	} else {
		const struct fz_name *nm = &fz_names[fz_below(ARRAY_SIZE(fz_names))];

		want = !nm->valid ? -EINVAL : nm->sig ? 0 : -ENOENT;
		got = fz_below(2) ? markers_enable(nm->name) : markers_disable(nm->name);
		fz_count(got);
		if (got != want)
			fz_fail("call %u: enabling or disabling '%s' returned %d, not %d",
				call, nm->name, got, want);
	}
	fz_check_state(b, n, call);
}

/*
 * What the patcher must refuse to write (markers_test_poke(), test mode):
 * anything but the first byte range of a registered, disabled site; and
 * after a patch pass, no writable alias of the text may be left.
 */
static void fz_security(const unsigned long *sites)
{
	static const char *const what[] = {
		"a function's first byte", "the middle of a site", "core kernel text",
		"a site's sixth byte", "an enabled site",
	};
	const void *addr[] = {
		markers_torture_read_proc, (void *)(sites[0] + 2), _printk,
		(void *)sites[0], (void *)sites[0],
	};
	unsigned int off[] = { 0, 0, 0, 5, 0 };
	int want[] = { -ENOENT, -ENOENT, -ENOENT, -EINVAL, -EBUSY };
	unsigned int i;
	u8 before[5];
	int r;

	r = markers_enable("tort_a");
	if (r)
		fz_fail("enabling tort_a: %d", r);
	r = markers_test_text_alias((void *)sites[0]);
	if (r)
		fz_fail("after a patch pass, the text alias check returned %d", r);
	for (i = 0; i < ARRAY_SIZE(addr); i++) {
		if (i == 4)
			markers_enable("tort_a");
		else
			markers_disable("tort_a");
		memcpy(before, addr[i], 5);
		r = markers_test_poke(addr[i], off[i], 0xcc);
		if (r != want[i] || memcmp(before, addr[i], 5))
			fz_fail("poking %s returned %d, not %d, and the text %s", what[i], r,
				want[i], memcmp(before, addr[i], 5) ? "changed" : "stayed");
	}
	markers_disable("tort_a");
	r = markers_test_text_alias((void *)sites[0]);
	if (r)
		fz_fail("after the last pass, the text alias check returned %d", r);
}

/* Runs the calls; 0 if every one did as documented. */
int markers_torture_fuzz(const unsigned long *sites)
{
	static struct markers_probe raw[FZ_MAX];
	unsigned int call, i, most = 0;
	int r;

	for (call = 0; call < fuzz; call++) {
		fz_call(call);
		most = max(most, fz_nmodel);
	}
	/* Unregister what is left, in one batch; then nothing is. */
	for (i = 0; i < fz_nmodel; i++)
		raw[i] = fz_raw(&fz_model[i]);
	r = fz_nmodel ? markers_probe_unregister_many(raw, fz_nmodel) : 0;
	if (r)
		fz_fail("unregistering the %u probes left returned %d", fz_nmodel, r);
	for (i = 0; i < fz_nmodel; i++)
		if (markers_probe_state(&raw[i]) != -ENOENT)
			fz_fail("a probe on %s is still registered at the end",
				fz_model[i].n->name);
	for (i = 0; i < 4; i++)
		markers_disable(fz_names[i].name);
	fz_security(sites);
	/* Every outcome must have been seen, or the calls tested little. */
	if (fuzz >= 100 && (!fz_ok || !fz_einval || !fz_eexist || !fz_enoent))
		fz_fail("an outcome never occurred: %u ok, %u -EINVAL, %u -EEXIST, %u -ENOENT",
			fz_ok, fz_einval, fz_eexist, fz_enoent);
	pr_info("markers_torture: fuzz %s: %u calls (%u ok, %u -EINVAL, %u -EEXIST, %u -ENOENT), at most %u probes registered, %u unregistered at the end, %u errors\n",
		fz_errors ? "FAILURE" : "SUCCESS", fuzz, fz_ok, fz_einval, fz_eexist,
		fz_enoent, most, fz_nmodel, fz_errors);
	fz_nmodel = 0;
	return fz_errors ? -EINVAL : 0;
}
