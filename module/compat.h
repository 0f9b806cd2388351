/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where kernel-version differences live.  Each
 * WWATCH_HAVE_* macro comes from a build-time probe (a file NAME.c in module/probes,
 * compiled by scripts/genconfig.sh against the target kernel's headers);
 * this header turns them into one API for the rest of the module.  No
 * other file tests LINUX_VERSION_CODE.
 */
#ifndef WWATCH_COMPAT_H
#define WWATCH_COMPAT_H

#include <linux/ftrace.h>

/*
 * ftrace callbacks take struct ftrace_regs since 5.11 and struct pt_regs
 * before.  wwatch_fregs_t is what our callbacks receive and
 * wwatch_ftrace_pt_regs() gives the saved registers (the ops must ask for
 * FTRACE_OPS_FL_SAVE_REGS), through which arguments are read and, with
 * FTRACE_OPS_FL_IPMODIFY, the traced function is replaced.
 */
#ifdef WWATCH_HAVE_FTRACE_REGS
typedef struct ftrace_regs wwatch_fregs_t;
static inline struct pt_regs *wwatch_ftrace_pt_regs(wwatch_fregs_t *fregs)
{
	return ftrace_get_regs(fregs);
}
#else
typedef struct pt_regs wwatch_fregs_t;
static inline struct pt_regs *wwatch_ftrace_pt_regs(wwatch_fregs_t *regs)
{
	return regs;
}
#endif

/*
 * The hot IPMODIFY hook (kernel_abi.c's, on every ioctl): with
 * DYNAMIC_FTRACE_WITH_ARGS (x86, >= 5.11) the light trampoline passes the
 * argument registers and honours a changed ip, as livepatch uses it, so
 * the full register save (FTRACE_OPS_FL_SAVE_REGS) is not needed;
 * without (or where ftrace_regs is opaque, >= 6.8, which needs no kernel
 * ABI), it is, and the arguments come from the saved registers.
 */
#ifdef WWATCH_HAVE_FTRACE_REGS_ARGS
#define WWATCH_FTRACE_ARGS_FLAGS 0
static inline unsigned long wwatch_fregs_arg(wwatch_fregs_t *fregs,
					     unsigned int n)
{
	return regs_get_kernel_argument(&fregs->regs, n);
}

static inline void wwatch_fregs_set_ip(wwatch_fregs_t *fregs,
				       unsigned long ip)
{
	ftrace_instruction_pointer_set(fregs, ip);
}
#else
#define WWATCH_FTRACE_ARGS_FLAGS FTRACE_OPS_FL_SAVE_REGS
static inline unsigned long wwatch_fregs_arg(wwatch_fregs_t *fregs,
					     unsigned int n)
{
	return regs_get_kernel_argument(wwatch_ftrace_pt_regs(fregs), n);
}

static inline void wwatch_fregs_set_ip(wwatch_fregs_t *fregs,
				       unsigned long ip)
{
	wwatch_ftrace_pt_regs(fregs)->ip = ip;
}
#endif

/* Frees an ftrace_ops' filter after unregistering it. */
static inline void wwatch_ftrace_free_filter(struct ftrace_ops *ops)
{
#ifdef WWATCH_HAVE_FTRACE_FREE_FILTER
	ftrace_free_filter(ops);
#else
	ftrace_set_filter(ops, NULL, 0, 1);	/* at least empty it */
#endif
}

/* symbols.h's type of flush_tlb_mm_range() (hidden from modules). */
#ifndef WWATCH_HAVE_FLUSH_TLB_MM_RANGE_SIG
#error "flush_tlb_mm_range() changed its signature: update symbols.h and module/probes/flush_tlb_mm_range_sig.c"
#endif

/* The kernel's __mmu_notifier_invalidate_range_end(), found by address. */
#ifdef WWATCH_HAVE_MMU_NOTIFIER_END_ONLY_END
#define wwatch_mmu_notifier_range_end(range) \
	wwatch_sym.mmu_notifier_range_end(range, false)
#else
#define wwatch_mmu_notifier_range_end(range) \
	wwatch_sym.mmu_notifier_range_end(range)
#endif

/* Is Indirect Branch Tracking enforced on this CPU? */
#include <asm/cpufeature.h>
static inline bool wwatch_cpu_ibt_enabled(void)
{
#ifdef WWATCH_HAVE_X86_FEATURE_IBT
	return cpu_feature_enabled(X86_FEATURE_IBT);
#else
	return false;
#endif
}

/* hugetlb PTE accessors changed their arguments in 6.6 and 6.11. */
#include <linux/hugetlb.h>

#ifndef WWATCH_HAVE_HUGETLB_UFFD_WP
/*
 * Before 5.19 hugetlb ranges cannot be registered for uffd-wp, so no
 * hugetlb PTE ever carries the bit: these make the engine's hugetlb path
 * a no-op there.
 */
static inline bool huge_pte_uffd_wp(pte_t pte)
{
	return false;
}

static inline pte_t huge_pte_clear_uffd_wp(pte_t pte)
{
	return pte;
}
#endif
static inline void wwatch_set_huge_pte_at(struct mm_struct *mm,
					  unsigned long addr, pte_t *ptep,
					  pte_t pte, unsigned long sz)
{
#ifdef WWATCH_HAVE_SET_HUGE_PTE_AT_SZ
	set_huge_pte_at(mm, addr, ptep, pte, sz);
#else
	set_huge_pte_at(mm, addr, ptep, pte);
#endif
}

static inline pte_t wwatch_huge_ptep_get(struct mm_struct *mm,
					 unsigned long addr, pte_t *ptep)
{
#ifdef WWATCH_HAVE_HUGE_PTEP_GET_MM
	return huge_ptep_get(mm, addr, ptep);
#else
	return huge_ptep_get(ptep);
#endif
}

/*
 * Maps and locks the PTE table under @pmd, or returns NULL.  Since 6.5 the
 * kernel's own version is out of line (__pte_offset_map_lock, found by
 * symbols.c) and fails if the table vanished; before, the caller must
 * know @pmd points to a table, which is checked here first.
 */
#ifdef WWATCH_HAVE_PTE_OFFSET_MAP_LOCK_FN
#define WWATCH_PTE_MAP_LOCK_OUT_OF_LINE true
#define wwatch_pte_offset_map_lock(mm, pmd, addr, ptlp) \
	wwatch_sym.pte_offset_map_lock_fn(mm, pmd, addr, ptlp)
#else
#define WWATCH_PTE_MAP_LOCK_OUT_OF_LINE false
static inline pte_t *wwatch_pte_offset_map_lock(struct mm_struct *mm,
						pmd_t *pmd, unsigned long addr,
						spinlock_t **ptlp)
{
	pmd_t pmdval = READ_ONCE(*pmd);

	if (!pmd_present(pmdval) || pmd_trans_huge(pmdval) || pmd_bad(pmdval))
		return NULL;
	return pte_offset_map_lock(mm, pmd, addr, ptlp);
}
#endif

/*
 * mmu_notifier_range_init() lost its VMA argument in 6.3.  The range
 * announces a protection change of [start, end) in @mm.
 */
#include <linux/mmu_notifier.h>
static inline void wwatch_mmu_notifier_range_init(struct mmu_notifier_range *r,
						  struct mm_struct *mm,
						  unsigned long start,
						  unsigned long end)
{
#ifdef WWATCH_HAVE_MMU_NOTIFIER_RANGE_VMA
	mmu_notifier_range_init(r, MMU_NOTIFY_PROTECTION_VMA, 0, NULL, mm,
				start, end);
#else
	mmu_notifier_range_init(r, MMU_NOTIFY_PROTECTION_VMA, 0, mm, start, end);
#endif
}

/*
 * Can an anonymous VMA hold uffd-wp PTE markers?  Only since 6.4
 * (UFFD_FEATURE_WP_UNPOPULATED); before, the scan arms empty anonymous
 * PTEs with the zero page instead (scan_prot.c).
 */
#ifdef WWATCH_HAVE_UFFD_WP_UNPOPULATED
#define WWATCH_ANON_PTE_MARKERS true
#else
#define WWATCH_ANON_PTE_MARKERS false
#endif

/*
 * The page a migration or device-private swap entry refers to, or NULL
 * (is_pfn_swap_entry() and pfn_swap_entry_to_page() arrived in 5.14).
 */
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/userfaultfd_k.h>
static inline struct page *wwatch_swp_entry_page(swp_entry_t entry)
{
#ifdef WWATCH_HAVE_PFN_SWAP_ENTRY
	return is_pfn_swap_entry(entry) ? pfn_swap_entry_to_page(entry) : NULL;
#else
	if (is_migration_entry(entry))
		return migration_entry_to_page(entry);
	if (is_device_private_entry(entry))
		return device_private_entry_to_page(entry);
	return NULL;
#endif
}

/*
 * Swap-format entries that give write access back by themselves: a
 * writable migration entry (remove_migration_pte() and
 * remove_migration_pmd() map the page writable and drop its uffd-wp bit),
 * a writable device-private or device-exclusive entry.
 * wwatch_swp_entry_rdonly() is the read-only form change_protection()
 * puts in their place: readable-exclusive for an anonymous page (>= 5.19;
 * its write after migration reuses the page), readable otherwise.  The
 * offset keeps the migration entry's young and dirty bits.
 */
static inline bool wwatch_swp_entry_writable(swp_entry_t entry)
{
#ifdef WWATCH_HAVE_PFN_SWAP_ENTRY
	return is_writable_migration_entry(entry) ||
	       is_writable_device_private_entry(entry) ||
	       is_writable_device_exclusive_entry(entry);
#else
	return (is_migration_entry(entry) && is_write_migration_entry(entry)) ||
	       (is_device_private_entry(entry) &&
		is_write_device_private_entry(entry));
#endif
}

static inline swp_entry_t wwatch_swp_entry_rdonly(swp_entry_t entry)
{
	if (!is_migration_entry(entry)) {
#ifdef WWATCH_HAVE_PFN_SWAP_ENTRY
		if (is_device_exclusive_entry(entry))
			return make_readable_device_exclusive_entry(swp_offset(entry));
		return make_readable_device_private_entry(swp_offset(entry));
#else
		make_device_private_entry_read(&entry);
		return entry;
#endif
	}
#if defined(WWATCH_HAVE_READABLE_EXCLUSIVE_MIGRATION)
	if (PageAnon(wwatch_swp_entry_page(entry)))
		return make_readable_exclusive_migration_entry(swp_offset(entry));
	return make_readable_migration_entry(swp_offset(entry));
#elif defined(WWATCH_HAVE_PFN_SWAP_ENTRY)
	return make_readable_migration_entry(swp_offset(entry));
#else
	make_migration_entry_read(&entry);
	return entry;
#endif
}

/*
 * uffd-wp PTE markers (5.19) keep the protection of an empty PTE in
 * file-backed VMAs.  Before, uffd-wp works in anonymous VMAs only, where
 * the scan never installs markers, so these are never used there.
 */
#ifdef WWATCH_HAVE_PTE_MARKER_UFFD_WP
#define WWATCH_PTE_MARKERS true
static inline pte_t wwatch_uffd_wp_marker(void)
{
	return make_pte_marker(PTE_MARKER_UFFD_WP);
}
#else
#define WWATCH_PTE_MARKERS false
static inline pte_t wwatch_uffd_wp_marker(void)
{
	return __pte(0);
}

static inline bool is_pte_marker(pte_t pte)
{
	return false;
}

static inline bool pte_swp_uffd_wp_any(pte_t pte)
{
	return is_swap_pte(pte) && pte_swp_uffd_wp(pte);
}
#endif

/*
 * Can a regular file's VMA be registered for uffd-wp (file_wp.c)?  The
 * kernel's own machinery for non-anonymous VMAs (markers in
 * change_protection, zap and unmap; do_set_pte restoring the bit) needs
 * uffd-wp PTE markers.
 */
#if defined(WWATCH_HAVE_PTE_MARKER_UFFD_WP) && \
	IS_ENABLED(CONFIG_PTE_MARKER_UFFD_WP)
#define WWATCH_FILE_WP true
#else
#define WWATCH_FILE_WP false
#endif

/*
 * Before 6.2 change_protection() takes the new protection, which the
 * kernel's uffd un-protect computes from vm_flags alone: file_wp.c hooks
 * it to pass vma->vm_page_prot instead (upstream's 6.2 fix).
 */
#ifdef WWATCH_HAVE_CHANGE_PROT_NEWPROT
#define WWATCH_CHANGE_PROT_FIX true
#else
#define WWATCH_CHANGE_PROT_FIX false
#endif

/*
 * fs/userfaultfd.c's private struct userfaultfd_fork_ctx, the entries of
 * the list dup_userfaultfd() builds and dup_userfaultfd_complete() takes
 * (kabi_fork.c reads it).  The same three fields, in this order, from
 * 4.11 to 6.12; checked at the first fork it is used in
 * (contract.c's check:fork_ctx_layout).
 */
struct wwatch_uffd_fork_ctx {
	void *orig;		/* the parent's context */
	void *new;		/* the child's */
	struct list_head list;
};

/* Every uffd mode bit of vm_flags (5.10 has no MINOR and no macro). */
#ifdef __VM_UFFD_FLAGS
#define WWATCH_VM_UFFD_FLAGS __VM_UFFD_FLAGS
#else
#define WWATCH_VM_UFFD_FLAGS (VM_UFFD_MISSING | VM_UFFD_WP)
#endif

/*
 * The VMAs current upstream's vma_can_userfault() refuses to every
 * userfaultfd context, async or not ("userfaultfd: prevent registration
 * of special VMAs", CVE-2026-68166; Debian's 6.12 from 6.12.105): shadow
 * stacks and VM_DROPPABLE ones where the kernel has those flags (6.6,
 * 6.11), and every VM_SPECIAL one (VM_IO, VM_DONTEXPAND, VM_PFNMAP,
 * VM_MIXEDMAP: device and driver mappings) but hugetlb, which carries
 * VM_DONTEXPAND.  A uffd-wp marker in an empty PTE of such a VMA is never
 * replaced by its driver's fault handler (vmf_insert_pfn() leaves a
 * non-empty PTE alone): the access faults for ever.
 */
#ifdef VM_SHADOW_STACK
#define WWATCH_VM_SHADOW_STACK VM_SHADOW_STACK
#else
#define WWATCH_VM_SHADOW_STACK VM_NONE
#endif
#ifdef VM_DROPPABLE
#define WWATCH_VM_DROPPABLE VM_DROPPABLE
#else
#define WWATCH_VM_DROPPABLE VM_NONE
#endif
#include <linux/hugetlb_inline.h>
static inline bool wwatch_vma_uffd_refused(struct vm_area_struct *vma)
{
	if (vma->vm_flags & (WWATCH_VM_SHADOW_STACK | WWATCH_VM_DROPPABLE))
		return true;
	return !is_vm_hugetlb_page(vma) && (vma->vm_flags & VM_SPECIAL);
}

#ifndef WWATCH_HAVE_HUGETLB_UFFD_WP
/* Never called before 5.19: hugetlb cannot be registered for uffd-wp. */
static inline pte_t huge_pte_mkuffd_wp(pte_t pte)
{
	return pte;
}
#endif

#include <linux/pagemap.h>
/*
 * How much of [uaddr, uaddr + size) could not be made writable (0: all of
 * it), writing nothing to it.  Before 5.16 there is no such helper that
 * leaves the memory untouched (fault_in_pages_writeable() stores zeros):
 * everything is taken as writable, and a vector that is not loses what a
 * protecting scan reported into it, as before issue 24 (5.10 is built,
 * not supported).
 */
static inline size_t wwatch_fault_in_writeable(char __user *uaddr, size_t size)
{
#ifdef WWATCH_HAVE_FAULT_IN_SAFE_WRITEABLE
	return fault_in_safe_writeable(uaddr, size);
#else
	return 0;
#endif
}

/* A saturating a * b for sizes (size_mul() is 5.18). */
#include <linux/overflow.h>
static inline size_t wwatch_size_mul(size_t a, size_t b)
{
#ifdef WWATCH_HAVE_SIZE_MUL
	return size_mul(a, b);
#else
	size_t r;

	return check_mul_overflow(a, b, &r) ? SIZE_MAX : r;
#endif
}

/*
 * Does the kernel have UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN itself
 * (>= 6.7)?  Then the module never serves the upstream ABI (kernel_abi.c
 * is compiled out); before, it does, and these are upstream's numbers,
 * which the kernel's headers lack.
 */
#ifdef WWATCH_HAVE_UFFD_WP_ASYNC
#define WWATCH_KABI_BUILT false
#else
#define WWATCH_KABI_BUILT true
#endif
#define WWATCH_UFFD_FEATURE_WP_UNPOPULATED	(1ULL << 13)
#define WWATCH_UFFD_FEATURE_WP_ASYNC		(1ULL << 15)
#define WWATCH_PAGEMAP_SCAN	_IOWR('f', 16, struct wwatch_scan_arg)

/* Is the P4D level folded away at build time (no __p4d_alloc())? */
#ifdef __PAGETABLE_P4D_FOLDED
#define WWATCH_P4D_FOLDED true
#else
#define WWATCH_P4D_FOLDED false
#endif

/*
 * Sets and clears VMA flags from an mmap handler: vma->vm_flags became
 * read-only in 6.3, written through vm_flags_set()/vm_flags_clear().
 */
static inline void wwatch_vm_flags_mod(struct vm_area_struct *vma,
				       unsigned long set, unsigned long clear)
{
#ifdef WWATCH_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, set);
	vm_flags_clear(vma, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

#endif
