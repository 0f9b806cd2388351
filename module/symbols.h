/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel functions wwatch needs that stock kernels do not export to
 * modules.  They are found once, at load, by symbols.c; nothing else in
 * the module looks up symbols.
 */
#ifndef WWATCH_SYMBOLS_H
#define WWATCH_SYMBOLS_H

#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/sched.h>

struct wwatch_syms {
	bool (*ptrace_may_access)(struct task_struct *task, unsigned int mode);
	void (*flush_tlb_mm_range)(struct mm_struct *mm, unsigned long start,
				   unsigned long end, unsigned int stride_shift,
				   bool freed_tables);
	/*
	 * The last argument is a struct page * (5.10) or struct folio *
	 * (6.1+); wwatch always passes NULL, so the type does not matter.
	 */
	void (*split_huge_pmd_fn)(struct vm_area_struct *vma, pmd_t *pmd,
			       unsigned long address, bool freeze, void *page);
	int (*mmu_notifier_range_start)(struct mmu_notifier_range *range);
	/*
	 * Takes (range, only_end) before 6.6 and (range) after: the extra
	 * register argument is ignored by the newer function.
	 */
	void (*mmu_notifier_range_end)(struct mmu_notifier_range *range,
				       bool only_end);
	/* Only on kernels where pte_offset_map_lock() is out of line. */
	pte_t *(*pte_offset_map_lock_fn)(struct mm_struct *mm, pmd_t *pmd,
					 unsigned long addr, spinlock_t **ptlp);
	/* Page-table allocation (the scan arms unpopulated ranges). */
	int (*pte_alloc_fn)(struct mm_struct *mm, pmd_t *pmd);
	int (*pmd_alloc_fn)(struct mm_struct *mm, pud_t *pud, unsigned long addr);
	int (*pud_alloc_fn)(struct mm_struct *mm, p4d_t *p4d, unsigned long addr);
	int (*p4d_alloc_fn)(struct mm_struct *mm, pgd_t *pgd, unsigned long addr);
	/* The original of what uffd_ioctl.c hooks (every kernel). */
	long (*userfaultfd_ioctl)(struct file *file, unsigned int cmd,
				  unsigned long arg);
	/* The kernel ABI (kernel_abi.c, kernels without WP_ASYNC only). */
	const struct file_operations *proc_pagemap_operations;
	int (*dup_userfaultfd)(struct vm_area_struct *vma, struct list_head *fcs);
	void (*dup_userfaultfd_complete)(struct list_head *fcs);
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
