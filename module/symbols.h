/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel functions wwatch needs that stock kernels do not export to
 * modules.  They are found once, at load, by symbols.c; nothing else in
 * the module looks up symbols.
 */
#ifndef WWATCH_SYMBOLS_H
#define WWATCH_SYMBOLS_H

#include <linux/fs.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/userfaultfd_k.h>

/*
 * Each pointer has the type of the kernel's own declaration (typeof), so
 * a kernel update that changes a signature breaks the build instead of
 * the call.  Where no header declares the function, the type comes from
 * what the kernel calls it through, or from a build probe (compat.h).
 */
struct wwatch_syms {
	typeof(&ptrace_may_access) ptrace_may_access;
	/* Declared for built-in code only: the type is checked by a probe. */
	void (*flush_tlb_mm_range)(struct mm_struct *mm, unsigned long start,
				   unsigned long end, unsigned int stride_shift,
				   bool freed_tables);
	typeof(&__split_huge_pmd) split_huge_pmd_fn;
	typeof(&__mmu_notifier_invalidate_range_start) mmu_notifier_range_start;
	/* (range, only_end) before 6.6, (range) since: compat.h calls it. */
	typeof(&__mmu_notifier_invalidate_range_end) mmu_notifier_range_end;
#ifdef WWATCH_HAVE_PTE_OFFSET_MAP_LOCK_FN
	/* Only on kernels where pte_offset_map_lock() is out of line. */
	typeof(&__pte_offset_map_lock) pte_offset_map_lock_fn;
#else
	void *pte_offset_map_lock_fn;	/* never looked up */
#endif
	/* Page-table allocation (the scan arms unpopulated ranges). */
	typeof(&__pte_alloc) pte_alloc_fn;
	typeof(&__pmd_alloc) pmd_alloc_fn;
	typeof(&__pud_alloc) pud_alloc_fn;
	typeof(&__p4d_alloc) p4d_alloc_fn;
	/*
	 * The original of what uffd_ioctl.c hooks (every kernel): static in
	 * fs/userfaultfd.c, called by the kernel as the file's ioctl.
	 */
	typeof(((const struct file_operations *)NULL)->unlocked_ioctl)
		userfaultfd_ioctl;
	/* The kernel ABI (kernel_abi.c, kernels without WP_ASYNC only). */
	const struct file_operations *proc_pagemap_operations;
	typeof(&dup_userfaultfd) dup_userfaultfd;
	typeof(&dup_userfaultfd_complete) dup_userfaultfd_complete;
};

extern struct wwatch_syms wwatch_sym;

/*
 * Calls the kernel's own userfaultfd_ioctl from the module: the module's
 * hook on it (uffd_ioctl.c) lets calls that come from module text
 * through.  No tail call, or the hook would see our caller's caller.
 */
static inline long notrace wwatch_call_uffd_ioctl(struct file *file,
						  unsigned int cmd,
						  unsigned long arg)
{
	long ret = wwatch_sym.userfaultfd_ioctl(file, cmd, arg);

	barrier();
	return ret;
}

int wwatch_symbols_init(void);

#endif
