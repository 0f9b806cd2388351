/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel contract: everything wwatch.ko relies on in the kernel it
 * runs on (functions it hooks or looks up, behaviour it depends on),
 * each named, tied to the feature that needs it, and checked on the
 * running kernel at load or at first use.  contract.c holds the tables
 * and the one registration helper for every ftrace hook; docs/design.md
 * ("Kernel contract") has the same list with what is relied on and the
 * kernel versions it was read in.
 */
#ifndef WWATCH_CONTRACT_H
#define WWATCH_CONTRACT_H

#include <linux/atomic.h>
#include <linux/ftrace.h>
#include <linux/types.h>
#include "compat.h"

/*
 * What the module serves, each needing its reliances (and the features it
 * is built on) to hold.  The engine is required: without it the module
 * does not load.  Any other one that fails is switched off, and the
 * kernel's own answer (the stock kernel's refusal) is what callers get.
 */
enum wwatch_feature {
	WWATCH_F_ENGINE,	/* async WP faults, /dev/wwatch, the scan */
	WWATCH_F_UFFD_IOCTL,	/* the wrap of userfaultfd_ioctl */
	WWATCH_F_KABI,		/* the upstream ABI for every process */
	WWATCH_F_KABI_FORK,	/* ... with UFFD_FEATURE_EVENT_FORK */
	WWATCH_F_FILEWP,	/* WP-only registration of any VMA */
	WWATCH_F_NR
};

/* Every reliance, by name (contract.c's table, same order). */
enum wwatch_reliance {
	/* ftrace hooks, in registration order */
	WWATCH_R_HOOK_DO_WP_PAGE,
	WWATCH_R_HOOK_HANDLE_USERFAULT,
	WWATCH_R_HOOK_UFFD_RELEASE,
	WWATCH_R_HOOK_DO_VFS_IOCTL,
	WWATCH_R_HOOK_DUP_UFFD,
	WWATCH_R_HOOK_DUP_UFFD_COMPLETE,
	WWATCH_R_HOOK_CHANGE_PROTECTION,
	WWATCH_R_HOOK_VMA_IS_SHMEM,
	WWATCH_R_HOOK_UFFD_IOCTL,
	/* symbols found through kallsyms (symbols.c) */
	WWATCH_R_SYM_KALLSYMS,
	WWATCH_R_SYM_PTRACE_MAY_ACCESS,
	WWATCH_R_SYM_FLUSH_TLB_MM_RANGE,
	WWATCH_R_SYM_SPLIT_HUGE_PMD,
	WWATCH_R_SYM_MMU_RANGE_START,
	WWATCH_R_SYM_MMU_RANGE_END,
	WWATCH_R_SYM_PTE_OFFSET_MAP_LOCK,
	WWATCH_R_SYM_PTE_ALLOC,
	WWATCH_R_SYM_PMD_ALLOC,
	WWATCH_R_SYM_PUD_ALLOC,
	WWATCH_R_SYM_P4D_ALLOC,
	WWATCH_R_SYM_UFFD_IOCTL,
	WWATCH_R_SYM_PAGEMAP_FOPS,
	WWATCH_R_SYM_DUP_UFFD,
	WWATCH_R_SYM_DUP_UFFD_COMPLETE,
	/* behaviour, checked at load or at first use */
	WWATCH_R_PAGEMAP_FOPS_SHAPE,
	WWATCH_R_UFFD_FDINFO_API,
	WWATCH_R_FORK_CTX_LAYOUT,
	WWATCH_R_FORK_CHILD_SEEN,
	WWATCH_R_NR
};

/* Is @f served (it and everything it is built on held so far)? */
bool wwatch_feature_on(enum wwatch_feature f);

/*
 * @r did not hold on this kernel (@why: what was seen): its feature and
 * those built on it are switched off, and the kernel log says so once.
 * Returns -ENOENT if the feature is the engine (the module cannot load).
 */
int wwatch_contract_fail(enum wwatch_reliance r, const char *why);

/* @r was checked and holds. */
void wwatch_contract_ok(enum wwatch_reliance r);

/*
 * Does the test knob (contract_fail=, load time only) say @r must fail?
 * Each check asks before it looks, so a test sees the fallback.
 */
bool wwatch_contract_forced(enum wwatch_reliance r);

/* Parses contract_fail= (called first at load): -EINVAL on a bad name. */
int wwatch_contract_init(void);

/*
 * The ftrace hooks, grouped by the file that owns their callbacks.  Each
 * group is registered in the table's order and unregistered in reverse.
 */
enum wwatch_hook_group {
	WWATCH_HOOKS_ENGINE,
	WWATCH_HOOKS_KABI,
	WWATCH_HOOKS_KABI_FORK,
	WWATCH_HOOKS_FILEWP,
	WWATCH_HOOKS_UFFD_IOCTL,
};

/*
 * Registers every hook of @group this kernel needs.  If one cannot be
 * placed, the ones placed are removed again, its feature is off and the
 * error returned (the caller fails the load only for the engine).
 */
int wwatch_hooks_on(enum wwatch_hook_group group, atomic_t *inside);

/*
 * Removes every hook of @group that is in place, in reverse order, waits
 * until no task is left in code they redirected to (@inside) and frees
 * their filters.
 */
void wwatch_hooks_off(enum wwatch_hook_group group, atomic_t *inside);

/* Waits until @inside is 0, then an RCU-tasks grace period. */
void wwatch_wait_redirected(atomic_t *inside);

/* The callbacks, defined in the files named by their group. */
#define WWATCH_HOOK_CB(name) \
	void name(unsigned long ip, unsigned long parent_ip, \
		  struct ftrace_ops *op, wwatch_fregs_t *fregs)
WWATCH_HOOK_CB(wwatch_hook_do_wp_page);		/* engine.c */
WWATCH_HOOK_CB(wwatch_hook_handle_userfault);	/* engine.c */
WWATCH_HOOK_CB(wwatch_hook_uffd_release);	/* kernel_abi.c */
WWATCH_HOOK_CB(wwatch_hook_vfs_ioctl);		/* kernel_abi.c */
WWATCH_HOOK_CB(wwatch_hook_dup_uffd);		/* kabi_fork.c */
WWATCH_HOOK_CB(wwatch_hook_dup_uffd_complete);	/* kabi_fork.c */
WWATCH_HOOK_CB(wwatch_hook_change_protection);	/* file_wp.c */
WWATCH_HOOK_CB(wwatch_hook_vma_is_shmem);	/* file_wp.c */
WWATCH_HOOK_CB(wwatch_hook_uffd_ioctl);		/* uffd_ioctl.c */

/* symbols.c: the kallsyms lookups of the contract's symbol table. */
struct wwatch_symbol {
	enum wwatch_reliance rel;
	const char *name;
	size_t offset;		/* in struct wwatch_syms */
	bool needed;		/* on this kernel (see compat.h) */
	bool data;		/* an object, never called: no IBT check */
};
extern const struct wwatch_symbol wwatch_contract_symbols[];
extern const unsigned int wwatch_contract_nr_symbols;

#endif
