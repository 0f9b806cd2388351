// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel contract (contract.h): one table of every kernel function
 * the module hooks or looks up and every behaviour it relies on, the
 * state of each on the running kernel, and the one place ftrace hooks
 * are registered and removed.  A reliance that does not hold switches
 * its feature off (the stock kernel's answers from then on), is said
 * once in the kernel log and is listed, with every other, in
 * /sys/module/wwatch/parameters/contract, which `wwatch info` reads.
 *
 * What each reliance means, and the kernels it was read in, is in
 * docs/design.md ("Kernel contract"); the comments here are the short
 * form.  contract_fail= (load time only) is a test knob: it makes the
 * named checks fail, so tests can show each fallback.
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include "wwatch.h"
#include "symbols.h"
#include "contract.h"

static const char * const feature_names[WWATCH_F_NR] = {
	[WWATCH_F_ENGINE] = "engine",
	[WWATCH_F_UFFD_IOCTL] = "uffd-ioctl",
	[WWATCH_F_KABI] = "kernel-abi",
	[WWATCH_F_KABI_FORK] = "kernel-abi-fork",
	[WWATCH_F_FILEWP] = "file-wp",
};

/* What each feature is built on (it is off when that is). */
static const int feature_base[WWATCH_F_NR] = {
	[WWATCH_F_ENGINE] = -1,
	[WWATCH_F_UFFD_IOCTL] = WWATCH_F_ENGINE,
	[WWATCH_F_KABI] = WWATCH_F_UFFD_IOCTL,
	[WWATCH_F_KABI_FORK] = WWATCH_F_KABI,
	[WWATCH_F_FILEWP] = WWATCH_F_UFFD_IOCTL,
};

/* Built for this kernel at all (compat.h)? */
static bool feature_built(enum wwatch_feature f)
{
	switch (f) {
	case WWATCH_F_KABI:
	case WWATCH_F_KABI_FORK:
		return WWATCH_KABI_BUILT;
	case WWATCH_F_FILEWP:
		return WWATCH_FILE_WP;
	default:
		return true;
	}
}

static bool feature_failed[WWATCH_F_NR];

bool wwatch_feature_on(enum wwatch_feature f)
{
	int g;

	for (g = f; g >= 0; g = feature_base[g])
		if (!feature_built(g) || READ_ONCE(feature_failed[g]))
			return false;
	return true;
}

enum rel_state { REL_UNCHECKED, REL_OK, REL_FAILED };

static struct {
	const char *name;
	enum wwatch_feature feature;
	bool applies;		/* on this kernel build */
	u8 state;
	bool forced;		/* contract_fail= names it */
} rel[WWATCH_R_NR] = {
#define R(id, n, f, cond) \
	[WWATCH_R_##id] = { n, WWATCH_F_##f, cond }
	/*
	 * ftrace hooks: the function exists, is traceable (not inlined, in
	 * available_filter_functions) and ftrace accepts the ops (no other
	 * IPMODIFY owner, ftrace enabled).  Checked at load.
	 */
	R(HOOK_DO_WP_PAGE, "hook:do_wp_page", ENGINE, true),
	R(HOOK_HANDLE_USERFAULT, "hook:handle_userfault", ENGINE, true),
	R(HOOK_UFFD_RELEASE, "hook:userfaultfd_release", KABI,
	  WWATCH_KABI_BUILT),
	R(HOOK_DO_VFS_IOCTL, "hook:do_vfs_ioctl", KABI, WWATCH_KABI_BUILT),
	R(HOOK_DUP_UFFD, "hook:dup_userfaultfd", KABI_FORK, WWATCH_KABI_BUILT),
	R(HOOK_DUP_UFFD_COMPLETE, "hook:dup_userfaultfd_complete", KABI_FORK,
	  WWATCH_KABI_BUILT),
	R(HOOK_CHANGE_PROTECTION, "hook:change_protection", FILEWP,
	  WWATCH_FILE_WP && WWATCH_CHANGE_PROT_FIX),
	R(HOOK_VMA_IS_SHMEM, "hook:vma_is_shmem", FILEWP, WWATCH_FILE_WP),
	R(HOOK_UFFD_IOCTL, "hook:userfaultfd_ioctl", UFFD_IOCTL, true),
	/* kallsyms: found, and callable (ENDBR64 where IBT is enforced). */
	R(SYM_KALLSYMS, "sym:kallsyms_lookup_name", ENGINE, true),
	R(SYM_PTRACE_MAY_ACCESS, "sym:ptrace_may_access", ENGINE, true),
	R(SYM_FLUSH_TLB_MM_RANGE, "sym:flush_tlb_mm_range", ENGINE, true),
	/* No THP under PREEMPT_RT (Debian's 6.1 rt-amd64): never called. */
	R(SYM_SPLIT_HUGE_PMD, "sym:__split_huge_pmd", ENGINE,
	  IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE)),
	R(SYM_MMU_RANGE_START, "sym:__mmu_notifier_invalidate_range_start",
	  ENGINE, true),
	R(SYM_MMU_RANGE_END, "sym:__mmu_notifier_invalidate_range_end",
	  ENGINE, true),
	R(SYM_PTE_OFFSET_MAP_LOCK, "sym:__pte_offset_map_lock", ENGINE,
	  WWATCH_PTE_MAP_LOCK_OUT_OF_LINE),
	R(SYM_PTE_ALLOC, "sym:__pte_alloc", ENGINE, true),
	R(SYM_PMD_ALLOC, "sym:__pmd_alloc", ENGINE, true),
	R(SYM_PUD_ALLOC, "sym:__pud_alloc", ENGINE, true),
	R(SYM_P4D_ALLOC, "sym:__p4d_alloc", ENGINE, !WWATCH_P4D_FOLDED),
	R(SYM_UFFD_IOCTL, "sym:userfaultfd_ioctl", UFFD_IOCTL, true),
	R(SYM_PAGEMAP_FOPS, "sym:proc_pagemap_operations", KABI,
	  WWATCH_KABI_BUILT),
	R(SYM_DUP_UFFD, "sym:dup_userfaultfd", KABI_FORK, WWATCH_KABI_BUILT),
	R(SYM_DUP_UFFD_COMPLETE, "sym:dup_userfaultfd_complete", KABI_FORK,
	  WWATCH_KABI_BUILT),
	/*
	 * proc_pagemap_operations is pagemap's: its .read and .open are
	 * pagemap_read and pagemap_open (load).
	 */
	R(PAGEMAP_FOPS_SHAPE, "check:pagemap_fops", KABI, WWATCH_KABI_BUILT),
	/*
	 * A uffd's fdinfo has the line "API:\t%llx:%x:%llx" with the
	 * features the kernel recorded (first WP_ASYNC handshake).
	 */
	R(UFFD_FDINFO_API, "check:uffd_fdinfo_api", KABI, WWATCH_KABI_BUILT),
	/*
	 * dup_userfaultfd() queues { orig, new, list } (compat.h's mirror)
	 * at the list's tail, orig the VMA's context before, new after
	 * (first fork of an async EVENT_FORK context).
	 */
	R(FORK_CTX_LAYOUT, "check:fork_ctx_layout", KABI_FORK,
	  WWATCH_KABI_BUILT),
	/*
	 * Every child context dup_userfaultfd_complete() hands over was
	 * seen by the dup_userfaultfd hook (first fork, as above).
	 */
	R(FORK_CHILD_SEEN, "check:fork_child_seen", KABI_FORK,
	  WWATCH_KABI_BUILT),
#undef R
};

static DEFINE_SPINLOCK(rel_lock);

int wwatch_contract_fail(enum wwatch_reliance r, const char *why)
{
	enum wwatch_feature f = rel[r].feature;
	bool first;

	spin_lock(&rel_lock);
	first = rel[r].state != REL_FAILED;
	rel[r].state = REL_FAILED;
	WRITE_ONCE(feature_failed[f], true);
	spin_unlock(&rel_lock);
	if (first) {
		if (f == WWATCH_F_ENGINE)
			pr_err("kernel contract: %s does not hold (%s): wwatch cannot load\n",
			       rel[r].name, why);
		else
			pr_warn("kernel contract: %s does not hold (%s): %s is off, the kernel's own answers apply\n",
				rel[r].name, why, feature_names[f]);
	}
	return f == WWATCH_F_ENGINE ? -ENOENT : 0;
}

void wwatch_contract_ok(enum wwatch_reliance r)
{
	spin_lock(&rel_lock);
	if (rel[r].state == REL_UNCHECKED)
		rel[r].state = REL_OK;
	spin_unlock(&rel_lock);
}

bool wwatch_contract_forced(enum wwatch_reliance r)
{
	return rel[r].forced;
}

/*
 * The test knob: contract_fail=NAME[,NAME...], names as in the table
 * ("hook:do_vfs_ioctl", "check:fork_ctx_layout").  Not in sysfs: load
 * time only.
 */
static char *contract_fail;
module_param(contract_fail, charp, 0);
MODULE_PARM_DESC(contract_fail,
		 "Test knob: make the named kernel-contract checks fail (comma-separated, as listed in the contract parameter)");

int wwatch_contract_init(void)
{
	char *p = contract_fail, *name;
	unsigned int i;

	while (p && (name = strsep(&p, ",")) != NULL) {
		if (!*name)
			continue;
		for (i = 0; i < WWATCH_R_NR; i++)
			if (!strcmp(rel[i].name, name))
				break;
		if (i == WWATCH_R_NR) {
			pr_err("contract_fail: no reliance named '%s'\n", name);
			return -EINVAL;
		}
		rel[i].forced = true;
		pr_warn("contract_fail: %s will be made to fail (test knob)\n",
			name);
	}
	return 0;
}

/*
 * /sys/module/wwatch/parameters/contract: one line per reliance of this
 * kernel, "NAME STATE FEATURE", STATE ok, FAILED, or unchecked (a check
 * made at first use that has not run yet).
 */
static int contract_get(char *buf, const struct kernel_param *kp)
{
	static const char * const states[] = { "unchecked", "ok", "FAILED" };
	int i, n = 0;

	for (i = 0; i < WWATCH_R_NR; i++) {
		if (!rel[i].applies)
			continue;
		n += scnprintf(buf + n, PAGE_SIZE - n, "%s %s %s\n",
			       rel[i].name, states[READ_ONCE(rel[i].state)],
			       feature_names[rel[i].feature]);
	}
	return n;
}

static const struct kernel_param_ops contract_ops = {
	.get = contract_get,
};
module_param_cb(contract, &contract_ops, NULL, 0444);
MODULE_PARM_DESC(contract,
		 "The kernel contract on this kernel: each reliance, whether it held, and the feature that needs it (read only)");

/*
 * The hooks.  PERMANENT: registering fails (-EBUSY) while
 * kernel.ftrace_enabled=0, where a hook would silently never run, and
 * that sysctl cannot turn ftrace off while one is in place.  IPMODIFY:
 * the callback may send the call elsewhere (one such owner per function).
 * WWATCH_FTRACE_ARGS_FLAGS: the argument registers suffice (compat.h).
 */
#define PERM FTRACE_OPS_FL_PERMANENT
#define REGS FTRACE_OPS_FL_SAVE_REGS
#define IPMOD FTRACE_OPS_FL_IPMODIFY
#define ARGS WWATCH_FTRACE_ARGS_FLAGS

static struct wwatch_hook {
	enum wwatch_reliance rel;
	const char *func;
	enum wwatch_hook_group group;
	struct ftrace_ops ops;
	bool on;		/* registered */
} hooks[] = {
#define H(id, fn, grp, cb, fl) { WWATCH_R_HOOK_##id, fn, WWATCH_HOOKS_##grp, \
				 { .func = cb, .flags = (fl) | PERM } }
	/* Entry only: clears the bit of a write fault under the PTE lock. */
	H(DO_WP_PAGE, "do_wp_page", ENGINE, wwatch_hook_do_wp_page, REGS),
	H(HANDLE_USERFAULT, "handle_userfault", ENGINE,
	  wwatch_hook_handle_userfault, REGS | IPMOD),
	/* Before uffd_ioctl's: no adopted context may outlive the module. */
	H(UFFD_RELEASE, "userfaultfd_release", KABI,
	  wwatch_hook_uffd_release, REGS),
	H(DO_VFS_IOCTL, "do_vfs_ioctl", KABI, wwatch_hook_vfs_ioctl,
	  ARGS | IPMOD),
	H(DUP_UFFD, "dup_userfaultfd", KABI_FORK, wwatch_hook_dup_uffd,
	  ARGS | IPMOD),
	H(DUP_UFFD_COMPLETE, "dup_userfaultfd_complete", KABI_FORK,
	  wwatch_hook_dup_uffd_complete, ARGS | IPMOD),
	/* Changes an argument only (< 6.2): nothing to wait for. */
	H(CHANGE_PROTECTION, "change_protection", FILEWP,
	  wwatch_hook_change_protection, REGS),
	H(VMA_IS_SHMEM, "vma_is_shmem", FILEWP, wwatch_hook_vma_is_shmem,
	  REGS | IPMOD),
	H(UFFD_IOCTL, "userfaultfd_ioctl", UFFD_IOCTL, wwatch_hook_uffd_ioctl,
	  REGS | IPMOD),
#undef H
};

/* Places one hook; the reliance fails (and says why) if it cannot. */
static int hook_on(struct wwatch_hook *h)
{
	const char *func = h->func;
	int ret;

	if (wwatch_contract_forced(h->rel)) {
		ret = -ENOENT;
		wwatch_contract_fail(h->rel, "made to fail by contract_fail=");
		return ret;
	}
	ret = ftrace_set_filter(&h->ops, (unsigned char *)func, strlen(func),
				0);
	if (ret) {
		pr_err("cannot trace %s (error %d): the kernel needs CONFIG_DYNAMIC_FTRACE_WITH_REGS and %s must not be inlined\n",
		       func, ret, func);
		wwatch_contract_fail(h->rel, "not traceable");
		return ret;
	}
	ret = register_ftrace_function(&h->ops);
	if (ret) {
		pr_err("cannot hook %s (error %d): ftrace is disabled (set sysctl kernel.ftrace_enabled=1) or a live patch already redirects it\n",
		       func, ret);
		wwatch_ftrace_free_filter(&h->ops);
		wwatch_contract_fail(h->rel, "ftrace refused the hook");
		return ret;
	}
	h->on = true;
	wwatch_contract_ok(h->rel);
	return 0;
}

/*
 * Called once the hooks that redirect into some code are unregistered:
 * waits until no task is left inside it (@inside counts the tasks
 * redirected and not yet out), then an RCU-tasks grace period covers a
 * task preempted between its atomic_dec() and its return.  After this the
 * module's text may go.
 */
void wwatch_wait_redirected(atomic_t *inside)
{
	while (atomic_read(inside))
		usleep_range(500, 1000);
	synchronize_rcu_tasks();
}

void wwatch_hooks_off(enum wwatch_hook_group group, atomic_t *inside)
{
	bool any = false;
	int i;

	for (i = ARRAY_SIZE(hooks) - 1; i >= 0; i--) {
		if (hooks[i].group != group || !hooks[i].on)
			continue;
		unregister_ftrace_function(&hooks[i].ops);
		any = true;
	}
	if (!any)
		return;
	/* No new call can be redirected now. */
	wwatch_wait_redirected(inside);
	for (i = ARRAY_SIZE(hooks) - 1; i >= 0; i--) {
		if (hooks[i].group != group || !hooks[i].on)
			continue;
		wwatch_ftrace_free_filter(&hooks[i].ops);
		hooks[i].on = false;
	}
}

int wwatch_hooks_on(enum wwatch_hook_group group, atomic_t *inside)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		if (hooks[i].group != group || !rel[hooks[i].rel].applies)
			continue;
		ret = hook_on(&hooks[i]);
		if (ret) {
			wwatch_hooks_off(group, inside);
			return ret;
		}
	}
	return 0;
}

/*
 * The functions found through kallsyms (symbols.c looks them up, checks
 * them and fails the reliance of one it cannot use).
 */
#define S(id, sym, field, cond) { WWATCH_R_SYM_##id, #sym, \
				  offsetof(struct wwatch_syms, field), cond }
#define SD(id, sym, field, cond) { WWATCH_R_SYM_##id, #sym, \
				   offsetof(struct wwatch_syms, field), cond, \
				   true }
const struct wwatch_symbol wwatch_contract_symbols[] = {
	S(PTRACE_MAY_ACCESS, ptrace_may_access, ptrace_may_access, true),
	S(FLUSH_TLB_MM_RANGE, flush_tlb_mm_range, flush_tlb_mm_range, true),
	S(SPLIT_HUGE_PMD, __split_huge_pmd, split_huge_pmd_fn,
	  IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE)),
	S(MMU_RANGE_START, __mmu_notifier_invalidate_range_start,
	  mmu_notifier_range_start, true),
	S(MMU_RANGE_END, __mmu_notifier_invalidate_range_end,
	  mmu_notifier_range_end, true),
	S(PTE_OFFSET_MAP_LOCK, __pte_offset_map_lock, pte_offset_map_lock_fn,
	  WWATCH_PTE_MAP_LOCK_OUT_OF_LINE),
	S(PTE_ALLOC, __pte_alloc, pte_alloc_fn, true),
	S(PMD_ALLOC, __pmd_alloc, pmd_alloc_fn, true),
	S(PUD_ALLOC, __pud_alloc, pud_alloc_fn, true),
	S(P4D_ALLOC, __p4d_alloc, p4d_alloc_fn, !WWATCH_P4D_FOLDED),
	S(UFFD_IOCTL, userfaultfd_ioctl, userfaultfd_ioctl, true),
	SD(PAGEMAP_FOPS, proc_pagemap_operations, proc_pagemap_operations,
	   WWATCH_KABI_BUILT),
	S(DUP_UFFD, dup_userfaultfd, dup_userfaultfd, WWATCH_KABI_BUILT),
	S(DUP_UFFD_COMPLETE, dup_userfaultfd_complete,
	  dup_userfaultfd_complete, WWATCH_KABI_BUILT),
};
#undef S
#undef SD
const unsigned int wwatch_contract_nr_symbols =
	ARRAY_SIZE(wwatch_contract_symbols);
