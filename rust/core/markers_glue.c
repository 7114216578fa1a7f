// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of markers.ko: what Rust cannot do on Linux 6.12.  Symbol exports
 * (EXPORT_SYMBOL_GPL is a macro), the module parameter, the notifiers
 * (register_die_notifier is not in the Rust bindings, user_mode() is
 * inline), the text write (vmap and PAGE_KERNEL are not in the bindings) and
 * the CPU serialization (sync_core() is inline).  Everything else is Rust.
 */
#include <linux/capability.h>
#include <linux/cpu.h>
#include <linux/export.h>
#include <linux/kdebug.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/ptrace.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/rcupdate_wait.h>
#include <linux/sched.h>
#include <linux/security.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/trace.h>
#include <linux/vmalloc.h>
#include <linux/uaccess.h>
#include <asm/ibt.h>
#include <asm/sync_core.h>

#include <linux/markers.h>

#include "markers_glue.h"

const unsigned int markers_abi_version = MARKERS_ABI_VERSION;
EXPORT_SYMBOL_GPL(markers_abi_version);

bool markers_test_mode;
module_param_named(test_mode, markers_test_mode, bool, 0400);
MODULE_PARM_DESC(test_mode, "Allow test-only operations (markers_test_poke, fault injection)");

/*
 * Test-mode fault injection around module events: the kernel's own
 * per-task fail-nth (Documentation/fault-injection), armed for the work
 * markers.ko does on every COMING or GOING event until the knob is set back
 * to 0, so a test can fail its Nth allocation (failslab/fail_page_alloc
 * must not ignore GFP_KERNEL: see tests/60-faults.sh).  Not one-shot:
 * busybox insmod retries a failed finit_module() with init_module(), and
 * the retry must fail the same way.  fail_nth_hit tells whether the last
 * armed event failed (N: the work made fewer allocations).
 */
static unsigned int markers_fail_nth_coming;
module_param_named(fail_nth_coming, markers_fail_nth_coming, uint, 0600);
MODULE_PARM_DESC(fail_nth_coming, "test_mode: fail the Nth allocation of module loads until 0");
static unsigned int markers_fail_nth_going;
module_param_named(fail_nth_going, markers_fail_nth_going, uint, 0600);
MODULE_PARM_DESC(fail_nth_going, "test_mode: fail the Nth allocation of module unloads until 0");
static bool markers_fail_nth_hit;
module_param_named(fail_nth_hit, markers_fail_nth_hit, bool, 0400);
MODULE_PARM_DESC(fail_nth_hit, "test_mode: the last armed failure happened");
static bool markers_fault_armed;

void markers_fault_arm(unsigned long action)
{
	unsigned int *knob = NULL;

	if (!markers_test_mode)
		return;
	if (action == MODULE_STATE_COMING)
		knob = &markers_fail_nth_coming;
	else if (action == MODULE_STATE_GOING)
		knob = &markers_fail_nth_going;
	if (!knob || !READ_ONCE(*knob))
		return;
#ifdef CONFIG_FAULT_INJECTION
	current->fail_nth = READ_ONCE(*knob);
	markers_fault_armed = true;
#endif
}

void markers_fault_disarm(void)
{
#ifdef CONFIG_FAULT_INJECTION
	if (!markers_fault_armed)
		return;
	markers_fault_armed = false;
	markers_fail_nth_hit = !current->fail_nth;
	current->fail_nth = 0;
#endif
}

/*
 * The exported API is defined in Rust (rust/core/markers_core.rs); its
 * exports cannot follow the definitions (checkpatch's EXPORT_SYMBOL rule is
 * ignored for this file by scripts/check.sh).
 */
EXPORT_SYMBOL_GPL(markers_update);
EXPORT_SYMBOL_GPL(markers_enable);
EXPORT_SYMBOL_GPL(markers_disable);
EXPORT_SYMBOL_GPL(markers_hits);
EXPORT_SYMBOL_GPL(markers_site_state);
EXPORT_SYMBOL_GPL(markers_get_stats);
EXPORT_SYMBOL_GPL(markers_test_poke);
EXPORT_SYMBOL_GPL(markers_test_fail_writes);
EXPORT_SYMBOL_GPL(markers_test_text_alias);
EXPORT_SYMBOL_GPL(markers_probe_register_many);
EXPORT_SYMBOL_GPL(markers_probe_unregister_many);
EXPORT_SYMBOL_GPL(markers_probe_state);
EXPORT_SYMBOL_GPL(markers_probe_synchronize);

/*
 * Where a marker's trampolines jump while the marker does not have exactly
 * one probe attached: markers_dispatch_<n> for a marker of n arguments,
 * defined in Rust (rust/core/probes.rs).  The enabled block calls the
 * trampoline as probe(data, a0, ..., an-1, dispatch) (rust/markers/args.rs);
 * markers_dispatch_<n> calls dispatch->func(dispatch->data, a0, ..., an-1)
 * with an ordinary compiler-emitted indirect call (retpoline thunk under
 * MITIGATION_RETPOLINE, type-checked by kCFI under CFI_CLANG).  A probe
 * reached directly through a patched trampoline ignores the extra
 * parameter.  The registry checks at load that every trampoline jumps to
 * the dispatcher of its arity.
 */
EXPORT_SYMBOL_GPL(markers_dispatch_0);
EXPORT_SYMBOL_GPL(markers_dispatch_1);
EXPORT_SYMBOL_GPL(markers_dispatch_2);
EXPORT_SYMBOL_GPL(markers_dispatch_3);
EXPORT_SYMBOL_GPL(markers_dispatch_4);
EXPORT_SYMBOL_GPL(markers_dispatch_5);
EXPORT_SYMBOL_GPL(markers_dispatch_6);
EXPORT_SYMBOL_GPL(markers_dispatch_7);
EXPORT_SYMBOL_GPL(markers_dispatch_8);
EXPORT_SYMBOL_GPL(markers_dispatch_9);
EXPORT_SYMBOL_GPL(markers_dispatch_10);
EXPORT_SYMBOL_GPL(markers_dispatch_11);
EXPORT_SYMBOL_GPL(markers_dispatch_12);

/*
 * test_mode's deliberately broken mode, for the torture test to prove that
 * it can fail (tools/testing/modules/markers_torture_glue.c): while
 * test_skip_gp is set, a probe change that moves no trampoline skips its
 * grace period, so unregistration returns while handlers of the removed
 * probes may still run, and their callers free data still in use.  The
 * replaced arrays are kept, not freed, until markers.ko unloads, and
 * trampoline moves keep their grace period: the breakage stays in what the
 * torture test checks (handlers called with data that is gone or reused),
 * not in markers.ko's own memory (rust/core/registry/attach.rs, finish()).
 */
static bool markers_test_skip_gp;
module_param_named(test_skip_gp, markers_test_skip_gp, bool, 0600);
MODULE_PARM_DESC(test_skip_gp, "test_mode: BROKEN on purpose: skip the grace period of probe changes");

bool markers_gp_skipped(void)
{
	return markers_test_mode && READ_ONCE(markers_test_skip_gp);
}

/*
 * The grace period after which no enabled block or probe still holds a
 * dispatch, probe array or probe replaced before the call.  Enabled blocks
 * run with whatever preemption the marked code has: RCU covers those in
 * interrupts, NMIs and preemption-disabled code, RCU-tasks a task preempted
 * in a block or in a probe (it waits for every task to switch voluntarily,
 * as the kernel's ftrace and BPF trampolines do).  Both run concurrently.
 * Without CONFIG_TASKS_RCU a preemptible kernel's blocks disable preemption
 * themselves (rust/markers/site.rs), and RCU alone covers them.
 */
void markers_synchronize_probes(void)
{
#ifdef CONFIG_TASKS_RCU
	synchronize_rcu_mult(call_rcu, call_rcu_tasks);
#else
	synchronize_rcu();
#endif
}

/*
 * The enabled block's read side where RCU-tasks is missing (see above):
 * exported for clients built for such a kernel.
 */
notrace void markers_preempt_disable(void)
{
	preempt_disable_notrace();
}
EXPORT_SYMBOL_GPL(markers_preempt_disable);

notrace void markers_preempt_enable(void)
{
	preempt_enable_notrace();
}
EXPORT_SYMBOL_GPL(markers_preempt_enable);

/*
 * Where a direct trampoline jumps for the probe at @addr: past its ENDBR64,
 * if it starts with one.  ENDBR marks a target of indirect branches; the
 * trampoline's jmp is direct, and skipping the instruction (a NOP to it)
 * saves one per hit.  The probe's first bytes are read without trusting
 * the address.
 */
unsigned long markers_skip_endbr(unsigned long addr)
{
	u32 insn;

	if (copy_from_kernel_nofault(&insn, (void *)addr, sizeof(insn)))
		return addr;
	return is_endbr(insn) ? addr + ENDBR_INSN_SIZE : addr;
}

/*
 * Under kCFI (CONFIG_CFI_CLANG) every address-taken function is preceded by
 * a preamble that holds its type hash, which an indirect call checks: the
 * kCFI form (mov $hash, %eax and padding) or, rewritten at boot or module
 * load, the FineIBT form, the same for every function of one type.  A probe
 * of a marker of n arguments must have the type of @ref, markers.ko's stub
 * of that arity: their preambles must be equal.  Returns 1 when they are,
 * 0 when they differ or cannot be read, and 1 without CFI (no preamble, no
 * type check on the dispatcher's call).
 */
#define MARKERS_CFI_PREAMBLE 16

int markers_cfi_same_type(const void *func, const void *ref)
{
#ifdef CONFIG_CFI_CLANG
	u8 a[MARKERS_CFI_PREAMBLE], b[MARKERS_CFI_PREAMBLE];

	if (copy_from_kernel_nofault(a, func - sizeof(a), sizeof(a)) ||
	    copy_from_kernel_nofault(b, ref - sizeof(b), sizeof(b)))
		return 0;
	return !memcmp(a, b, sizeof(a));
#else
	return 1;
#endif
}

/*
 * Per-CPU hit counters: one u64 for each mark! invocation of a client,
 * which its enabled block increments with one `incq %gs:(counter)`.
 * test_mode: fail_hits_alloc makes every allocation fail until it is
 * cleared (a one-shot failure would be hidden by busybox insmod, which
 * retries a failed finit_module() with init_module()).
 */
static bool markers_fail_hits_alloc;
module_param_named(fail_hits_alloc, markers_fail_hits_alloc, bool, 0600);
MODULE_PARM_DESC(fail_hits_alloc, "test_mode: fail allocations of hit counters while set");

u64 __percpu *markers_hits_alloc(size_t n)
{
	if (markers_test_mode && READ_ONCE(markers_fail_hits_alloc))
		return NULL;
	return __alloc_percpu_gfp(array_size(n ? n : 1, sizeof(u64)),
				  sizeof(u64), GFP_KERNEL);
}

void markers_hits_free(u64 __percpu *hits)
{
	free_percpu(hits);
}

u64 markers_hits_sum(const u64 __percpu *hits)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(hits, cpu);
	return sum;
}

void markers_hits_reset(u64 __percpu *hits)
{
	int cpu;

	for_each_possible_cpu(cpu)
		WRITE_ONCE(*per_cpu_ptr(hits, cpu), 0);
}

/*
 * The sysfs files of markers and sites drop their kernfs active reference
 * while they wait for the registry (rust/core/nodes.rs); a reference on
 * markers.ko keeps its code and registry alive meanwhile.
 */
bool markers_self_get(void)
{
	return try_module_get(THIS_MODULE);
}

void markers_self_put(void)
{
	module_put(THIS_MODULE);
}

/*
 * Writes to /sys/kernel/markers are refused while the kernel is locked down
 * at the confidentiality level, like tracefs (no lockdown reason of our own
 * exists; this one is checked at the same level).  0 or -EPERM.
 */
int markers_locked_down(void)
{
	return security_locked_down(LOCKDOWN_TRACEFS);
}

/* Whether the caller may change markers through sysfs. */
bool markers_capable(void)
{
	return capable(CAP_SYS_ADMIN);
}

/*
 * Kernel-mode int3: runs NMI-like, after the kernel's own text_poke_bp
 * vector and kprobes have passed on the trap, and first on the die chain
 * (priority INT_MAX): kgdb's notifier (priority 0, registered when kgdboc=
 * is set) would otherwise enter the debugger on every trap of ours.  With
 * CONFIG_KGDB_LOW_LEVEL_TRAP, kgdb_ll_trap() runs before any notifier; it
 * acts only on its own breakpoints.  No locks, no tracing; everything below
 * is on the kprobe blacklist.
 */
static notrace int markers_die_notify(struct notifier_block *nb,
				      unsigned long val, void *data)
{
	struct die_args *args = data;

	if (val != DIE_INT3 || user_mode(args->regs))
		return NOTIFY_DONE;
	return markers_int3(args->regs) ? NOTIFY_STOP : NOTIFY_DONE;
}

NOKPROBE_SYMBOL(markers_die_notify);
NOKPROBE_SYMBOL(markers_int3);

static struct notifier_block markers_die_nb = {
	.notifier_call = markers_die_notify,
	.priority = INT_MAX,
};

static int markers_module_notify(struct notifier_block *nb,
				 unsigned long action, void *data)
{
	return notifier_from_errno(markers_module_event(action, data));
}

/*
 * Priority 2: before the kernel's trace events notifier (1), which registers
 * the trace events markers.ko adds to a loading module (markers_events.c).
 */
static struct notifier_block markers_module_nb = {
	.notifier_call = markers_module_notify,
	.priority = 2,
};

/*
 * The trace instance the built-in print probe writes to:
 * /sys/kernel/tracing/instances/markers/trace.  Missing (NULL) if tracefs
 * cannot provide it; the print probe then drops its output.
 */
static struct trace_array *markers_tr;

void markers_trace_print(const char *name, const char *msg, size_t len)
{
	if (markers_tr)
		trace_array_printk(markers_tr, _THIS_IP_, "%s: %.*s\n", name,
				   (int)len, msg);
}

int markers_glue_init(void)
{
	int ret;

	markers_tr = trace_array_get_by_name("markers", NULL);
	if (markers_tr && trace_array_init_printk(markers_tr)) {
		trace_array_put(markers_tr);
		trace_array_destroy(markers_tr);
		markers_tr = NULL;
	}
	if (!markers_tr)
		pr_warn("markers: no trace instance; the print probe is silent\n");

	ret = markers_events_init();
	if (ret)
		goto out_tr;
	/* The int3 handler first: a site can be patched only after COMING. */
	ret = register_die_notifier(&markers_die_nb);
	if (ret)
		goto out_events;
	ret = register_module_notifier(&markers_module_nb);
	if (!ret)
		return 0;
	unregister_die_notifier(&markers_die_nb);
out_events:
	markers_events_exit();
out_tr:
	if (markers_tr) {
		trace_array_put(markers_tr);
		trace_array_destroy(markers_tr);
	}
	return ret;
}

void markers_glue_exit(void)
{
	unregister_module_notifier(&markers_module_nb);
	markers_events_exit();
	unregister_die_notifier(&markers_die_nb);
	/* Wait for int3 handlers still running on another CPU. */
	synchronize_rcu();
	if (markers_tr) {
		trace_array_put(markers_tr);
		trace_array_destroy(markers_tr);
	}
}

/* test_mode: the temporary mapping of the last text write, and its page. */
static unsigned long markers_alias;
static struct page *markers_alias_page;

/*
 * Write @len bytes at @addr of module text through a temporary writable
 * alias of the page (or two pages) the write touches.  The alias is unmapped
 * before returning; the caller purges lazily freed aliases with
 * vm_unmap_aliases() at the end of its pass.
 */
int markers_text_write(void *addr, const void *src, size_t len)
{
	unsigned long start = (unsigned long)addr;
	unsigned long off = offset_in_page(start);
	unsigned int npages = off + len > PAGE_SIZE ? 2 : 1;
	struct page *pages[2];
	void *map;

	if (!len || len > PAGE_SIZE || !is_vmalloc_or_module_addr(addr))
		return -EINVAL;
	pages[0] = vmalloc_to_page(addr);
	pages[1] = npages == 2 ? vmalloc_to_page((void *)(start - off + PAGE_SIZE)) : NULL;
	if (!pages[0] || (npages == 2 && !pages[1]))
		return -EFAULT;
	map = vmap(pages, npages, VM_MAP, PAGE_KERNEL);
	if (!map)
		return -ENOMEM;
	memcpy(map + off, src, len);
	vunmap(map);
	if (markers_test_mode) {
		WRITE_ONCE(markers_alias_page, pages[0]);
		WRITE_ONCE(markers_alias, (unsigned long)map);
	}
	return 0;
}

/* See include/linux/markers.h. */
int markers_test_text_alias(const void *site)
{
	unsigned long alias = READ_ONCE(markers_alias);
	unsigned int level;
	pte_t *pte;

	if (!markers_test_mode)
		return -EPERM;
	if (!alias)
		return -ENODATA;
	/* Unmapped, or reused for other pages: no alias of the text. */
	if (vmalloc_to_page((void *)alias) == READ_ONCE(markers_alias_page)) {
		pr_err("markers: the alias of a text write still maps the text\n");
		return -EEXIST;
	}
	pte = lookup_address((unsigned long)site, &level);
	if (!pte || pte_write(*pte)) {
		pr_err("markers: the text at %pS is %s\n", site,
		       pte ? "writable" : "not mapped");
		return -EACCES;
	}
	return 0;
}

/*
 * Purge lazily freed vmap aliases and their TLB entries on every CPU, so that
 * no writable mapping of module text outlives a patch pass.
 */
void markers_text_flush(void)
{
	vm_unmap_aliases();
}

static void markers_do_sync_core(void *info)
{
	sync_core();
}

/*
 * Serialize every online CPU.  Called with cpus_read_lock() held (not
 * asserted: lockdep_assert_cpus_held() is not exported), so the set of
 * online CPUs cannot change under a pass.
 */
void markers_sync_all_cpus(void)
{
	on_each_cpu(markers_do_sync_core, NULL, 1);
}

MODULE_VERSION(MARKERS_VERSION);
