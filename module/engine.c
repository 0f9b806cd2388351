// SPDX-License-Identifier: GPL-2.0
/*
 * The async write-protect engine: resolves userfaultfd write-protect
 * faults inside the kernel for the userfaultfds attached to /dev/wwatch,
 * the way UFFD_FEATURE_WP_ASYNC does on Linux >= 6.7.
 *
 * Two ftrace hooks, registered at load:
 *
 *  - do_wp_page (entered from the PTE fault path with the PTE lock held):
 *    if the faulting PTE carries the uffd-wp bit and its VMA's uffd is
 *    attached, the bit is cleared right there and vmf->orig_pte updated,
 *    so the same fault goes on to reuse or copy the page.  One fault per
 *    first write, no trip to user space; no TLB flush is needed since only
 *    a software bit goes away.  This is what upstream's do_wp_page does
 *    for async contexts.
 *
 *  - handle_userfault (IPMODIFY): write-protect faults of attached uffds
 *    that reach it anyway are redirected to wwatch_resolve_wp():
 *    a uffd-wp anonymous THP (wp_huge_pmd calls handle_userfault directly)
 *    is split so the fault falls back to the PTE path above; a hugetlb
 *    page gets its bit cleared whole; any other PTE gets its bit cleared
 *    and the fault is retried.  Faults of any other kind or any other
 *    userfaultfd are untouched.
 *
 * Async contexts are kept in an RCU hash keyed by their context pointer.
 * An entry has one of two owners, and the fault path does not care which:
 *  - an open /dev/wwatch the uffd was attached to (WWATCH_IOC_ATTACH),
 *    which holds a reference on the uffd file, so the context cannot be
 *    freed, and its address reused, while the hooks can still match it;
 *  - the kernel ABI (kernel_abi.c), for a uffd whose UFFDIO_API asked for
 *    UFFD_FEATURE_WP_ASYNC: no reference at all, the entry lives exactly
 *    as long as the uffd and is removed when the kernel releases it.
 * Each resolved fault is also appended to the write log of the file the
 * uffd is attached to, if it set one up (log.c).
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/ftrace.h>
#include <linux/hashtable.h>
#include <linux/magic.h>
#include <linux/hugetlb.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>
#include "wwatch.h"
#include "symbols.h"

struct attached_ctx {
	struct hlist_node node;
	const void *ctx;		/* struct userfaultfd_ctx *, never read */
	struct wwatch_file *wf;		/* holder, or NULL: the kernel ABI */
	unsigned int flags;		/* WWATCH_CTX_*, for the kernel ABI */
	struct rcu_head rcu;
};

static DEFINE_HASHTABLE(attached, 8);
/* Entries of the kernel ABI with WWATCH_CTX_FORK (kabi_fork.c's fast path). */
static atomic_t nr_fork_ctx = ATOMIC_INIT(0);
/* Faults redirected into wwatch_resolve_wp() and not yet out of it. */
static atomic_t resolving = ATOMIC_INIT(0);
static DEFINE_SPINLOCK(attached_lock);	/* writers of `attached` */

/* Caller holds rcu_read_lock() or attached_lock. */
static struct attached_ctx *find_attached(const void *ctx)
{
	struct attached_ctx *a;

	hash_for_each_possible_rcu(attached, a, node, (unsigned long)ctx)
		if (a->ctx == ctx)
			return a;
	return NULL;
}

/*
 * The registry entry of @vma's uffd if @vma is registered for uffd-wp and
 * its uffd is attached to wwatch, else NULL.  Caller holds rcu_read_lock().
 */
static struct attached_ctx *vma_attached(struct vm_area_struct *vma)
{
	return userfaultfd_wp(vma) ?
	       find_attached(vma->vm_userfaultfd_ctx.ctx) : NULL;
}

/* Is @vma registered for uffd-wp with a uffd attached to wwatch? */
bool wwatch_engine_vma_watched(struct vm_area_struct *vma)
{
	bool ret;

	rcu_read_lock();
	ret = vma_attached(vma) != NULL;
	rcu_read_unlock();
	return ret;
}

/*
 * Logs a resolved fault of [addr, addr + (1 << shift)) to the write log
 * of the file @vma's uffd is attached to, if that file has one.  Called
 * with the page table lock that covered the bit's clearing still held.
 */
static void log_resolved(struct vm_area_struct *vma, unsigned long addr,
			 unsigned int shift)
{
	struct attached_ctx *a;

	rcu_read_lock();
	a = vma_attached(vma);
	if (a)
		wwatch_log_write(a->wf, addr, shift);
	rcu_read_unlock();
}

/* ftrace callback at the entry of do_wp_page(struct vm_fault *vmf). */
static void notrace hook_do_wp_page(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *op,
				    wwatch_fregs_t *fregs)
{
	struct pt_regs *regs = wwatch_ftrace_pt_regs(fregs);
	struct attached_ctx *a;
	struct vm_fault *vmf;
	pte_t pte;

	if (!regs)
		return;
	vmf = (struct vm_fault *)regs->di;
	/* FAULT_FLAG_UNSHARE faults are not writes: leave them alone. */
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		return;
	pte = *vmf->pte;
	if (!pte_uffd_wp(pte))
		return;
	rcu_read_lock();
	a = vma_attached(vmf->vma);
	if (a) {
		/* The PTE lock is held here: a plain update is safe. */
		pte = pte_clear_uffd_wp(pte);
		set_pte_at(vmf->vma->vm_mm, vmf->address, vmf->pte, pte);
		vmf->orig_pte = pte;
		wwatch_log_write(a->wf, vmf->address & PAGE_MASK, PAGE_SHIFT);
	}
	rcu_read_unlock();
}

/* Clears the uffd-wp bit of a hugetlb page mapped at @addr. */
static vm_fault_t resolve_hugetlb(struct vm_area_struct *vma,
				  unsigned long addr)
{
	struct hstate *h = hstate_vma(vma);
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	pte_t *ptep, entry;
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;

	addr &= huge_page_mask(h);
	pgd = pgd_offset(mm, addr);
	if (!pgd_present(*pgd))
		return 0;
	p4d = p4d_offset(pgd, addr);
	if (!p4d_present(*p4d))
		return 0;
	pud = pud_offset(p4d, addr);
	if (huge_page_size(h) == PUD_SIZE)
		ptep = (pte_t *)pud;
	else if (huge_page_size(h) == PMD_SIZE && pud_present(*pud))
		ptep = (pte_t *)pmd_offset(pud, addr);
	else
		return 0;

	ptl = huge_pte_lockptr(h, mm, ptep);
	spin_lock(ptl);
	entry = wwatch_huge_ptep_get(mm, addr, ptep);
	if (pte_present(entry) && huge_pte_uffd_wp(entry)) {
		wwatch_set_huge_pte_at(mm, addr, ptep,
				       huge_pte_clear_uffd_wp(entry),
				       huge_page_size(h));
		log_resolved(vma, addr, huge_page_shift(h));
	}
	spin_unlock(ptl);
	return 0;
}

/* Clears the uffd-wp bit of the PTE that maps vmf->address. */
static vm_fault_t resolve_pte(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	ptep = wwatch_pte_offset_map_lock(mm, vmf->pmd, vmf->address, &ptl);
	if (!ptep)
		return 0;
	pte = *ptep;
	if (pte_present(pte) && pte_uffd_wp(pte)) {
		set_pte_at(mm, vmf->address, ptep, pte_clear_uffd_wp(pte));
		log_resolved(vmf->vma, vmf->address & PAGE_MASK, PAGE_SHIFT);
	}
	pte_unmap_unlock(ptep, ptl);
	return 0;
}

/*
 * Replaces handle_userfault(vmf, VM_UFFD_WP) for attached uffds.  Called
 * with the mmap lock held for reading, which it keeps.  Returning 0 makes
 * the fault retry; VM_FAULT_FALLBACK from the huge-PMD path makes
 * __handle_mm_fault go on to the PTE level right away.
 */
static vm_fault_t notrace wwatch_resolve_wp(struct vm_fault *vmf,
					    unsigned long reason)
{
	struct vm_area_struct *vma = vmf->vma;
	vm_fault_t ret = 0;

	if (is_vm_hugetlb_page(vma)) {
		ret = resolve_hugetlb(vma, vmf->address);
	} else if (vmf->pmd && pmd_trans_huge(*vmf->pmd)) {
		wwatch_sym.split_huge_pmd_fn(vma, vmf->pmd, vmf->address, false,
					  NULL);
		ret = VM_FAULT_FALLBACK;
	} else if (vmf->pmd) {
		ret = resolve_pte(vmf);
	}
	atomic_dec(&resolving);
	return ret;
}

/* ftrace callback at the entry of handle_userfault(vmf, reason). */
static void notrace hook_handle_userfault(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *op,
					  wwatch_fregs_t *fregs)
{
	struct pt_regs *regs = wwatch_ftrace_pt_regs(fregs);
	struct vm_fault *vmf;

	if (!regs || regs->si != VM_UFFD_WP)
		return;
	vmf = (struct vm_fault *)regs->di;
	if (!wwatch_engine_vma_watched(vmf->vma))
		return;
	atomic_inc(&resolving);
	regs->ip = (unsigned long)wwatch_resolve_wp;
}

/*
 * PERMANENT: registering fails (-EBUSY) while kernel.ftrace_enabled=0,
 * where the hooks would silently never run, and that sysctl cannot turn
 * ftrace off while wwatch is loaded.
 */
static struct ftrace_ops ops_do_wp_page = {
	.func = hook_do_wp_page,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_PERMANENT,
};

static struct ftrace_ops ops_handle_userfault = {
	.func = hook_handle_userfault,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_PERMANENT,
};

/* Hooks @func with @ops, saying in the kernel log why it cannot. */
int wwatch_hook_function(struct ftrace_ops *ops, const char *func)
{
	int ret;

	ret = ftrace_set_filter(ops, (unsigned char *)func, strlen(func), 0);
	if (ret) {
		pr_err("cannot trace %s (error %d): the kernel needs CONFIG_DYNAMIC_FTRACE_WITH_REGS and %s must not be inlined\n",
		       func, ret, func);
		return ret;
	}
	ret = register_ftrace_function(ops);
	if (ret)
		pr_err("cannot hook %s (error %d): ftrace is disabled (set sysctl kernel.ftrace_enabled=1) or a live patch already redirects it\n",
		       func, ret);
	return ret;
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

int wwatch_engine_init(void)
{
	int ret;

	ret = wwatch_hook_function(&ops_do_wp_page, "do_wp_page");
	if (ret)
		return ret;
	ret = wwatch_hook_function(&ops_handle_userfault, "handle_userfault");
	if (ret) {
		unregister_ftrace_function(&ops_do_wp_page);
		return ret;
	}
	return 0;
}

void wwatch_engine_exit(void)
{
	unregister_ftrace_function(&ops_handle_userfault);
	unregister_ftrace_function(&ops_do_wp_page);
	/* No new fault can be redirected now. */
	wwatch_wait_redirected(&resolving);
	wwatch_ftrace_free_filter(&ops_handle_userfault);
	wwatch_ftrace_free_filter(&ops_do_wp_page);
}

/*
 * Is @file a userfaultfd?  One is a file of the kernel's anonymous-inode
 * filesystem, which user space cannot create files in, named
 * [userfaultfd], which only fs/userfaultfd.c uses.  (A FIFO or directory
 * named so elsewhere fails the first test.)
 */
static bool file_is_uffd(struct file *file)
{
	return file->private_data &&
	       file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	       !strcmp(file->f_path.dentry->d_name.name, "[userfaultfd]");
}

/* Caller holds attached_lock; @a is in the table.  Frees it after RCU. */
static void remove_entry(struct attached_ctx *a)
{
	hash_del_rcu(&a->node);
	if (!a->wf && (a->flags & WWATCH_CTX_FORK))
		atomic_dec(&nr_fork_ctx);
	kfree_rcu(a, rcu);
}

/*
 * Removes @ctx's entry if its owner is @wf (NULL: the kernel ABI).
 * Returns whether there was one.
 */
static bool forget_ctx(const void *ctx, struct wwatch_file *wf)
{
	struct attached_ctx *a;

	spin_lock(&attached_lock);
	a = find_attached(ctx);
	if (a && a->wf == wf)
		remove_entry(a);
	else
		a = NULL;
	spin_unlock(&attached_lock);
	return a;
}

/*
 * The kernel ABI makes @ctx async (@flags: WWATCH_CTX_*).  @a comes from
 * wwatch_engine_ctx_alloc(), so that the handshake, once the kernel has
 * accepted it, cannot fail for want of memory; it is consumed.  -EBUSY if
 * the context is async already.  With @fresh (the kernel has just
 * accepted UFFDIO_API on @ctx, so it was never initialised before), an
 * entry of the kernel ABI found for it is stale (a fork child's context
 * freed unseen, kabi_fork.c) and is replaced: returns 1 then, and the
 * caller drops the module reference the stale entry held.
 */
int wwatch_engine_adopt(const void *ctx, unsigned int flags,
			struct attached_ctx *a, bool fresh)
{
	struct attached_ctx *old;
	int ret = 0;

	a->ctx = ctx;
	a->wf = NULL;
	a->flags = flags;
	spin_lock(&attached_lock);
	old = find_attached(ctx);
	if (old && fresh && !old->wf) {
		remove_entry(old);
		ret = 1;
	} else if (old) {
		spin_unlock(&attached_lock);
		kfree(a);
		return -EBUSY;
	}
	hash_add_rcu(attached, &a->node, (unsigned long)ctx);
	if (flags & WWATCH_CTX_FORK)
		atomic_inc(&nr_fork_ctx);
	spin_unlock(&attached_lock);
	return ret;
}

/*
 * Removes @ctx's entry if it is still @a, the one the kernel ABI adopted
 * it with (@a is only compared, never read: it may be freed already).
 * Returns whether it did.
 */
bool wwatch_engine_disown_entry(const void *ctx, const struct attached_ctx *a)
{
	struct attached_ctx *cur;

	spin_lock(&attached_lock);
	cur = find_attached(ctx);
	if (cur && cur == a)
		remove_entry(cur);
	else
		cur = NULL;
	spin_unlock(&attached_lock);
	return cur;
}

/* Are there async contexts of the kernel ABI with UFFD_FEATURE_EVENT_FORK? */
bool wwatch_engine_has_fork_ctx(void)
{
	return atomic_read(&nr_fork_ctx);
}

struct attached_ctx *wwatch_engine_ctx_alloc(void)
{
	return kzalloc(sizeof(struct attached_ctx), GFP_KERNEL);
}

/*
 * The kernel is releasing @ctx: forget it if the kernel ABI made it async.
 * Returns whether it did.  Safe in any context that may take a spinlock.
 */
bool wwatch_engine_disown(const void *ctx)
{
	return forget_ctx(ctx, NULL);
}

/*
 * Is @ctx async, attached to a /dev/wwatch or adopted by the kernel ABI?
 * The answer may go stale at once; callers use it to pick a path.
 */
bool wwatch_engine_ctx_async(const void *ctx)
{
	bool ret;

	rcu_read_lock();
	ret = find_attached(ctx) != NULL;
	rcu_read_unlock();
	return ret;
}

/*
 * WWATCH_CTX_* of @ctx if the kernel ABI made it async, else 0.  Caller
 * holds rcu_read_lock() or is otherwise sure the answer cannot go stale.
 */
unsigned int wwatch_engine_ctx_flags(const void *ctx)
{
	struct attached_ctx *a;
	unsigned int flags = 0;

	rcu_read_lock();
	a = find_attached(ctx);
	if (a && !a->wf)
		flags = a->flags;
	rcu_read_unlock();
	return flags;
}

long wwatch_engine_attach(struct wwatch_file *wf, const struct wwatch_attach *req)
{
	struct attached_ctx *a;
	struct file *file;
	long ret;

	file = fget(req->uffd);
	if (!file)
		return -EBADF;
	if (!file_is_uffd(file)) {
		ret = -EINVAL;
		goto out_put;
	}
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a) {
		ret = -ENOMEM;
		goto out_put;
	}
	a->ctx = file->private_data;
	a->wf = wf;

	mutex_lock(&wf->lock);
	if (wf->nr_uffd >= WWATCH_MAX_ATTACH) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	spin_lock(&attached_lock);
	if (find_attached(a->ctx)) {
		spin_unlock(&attached_lock);
		ret = -EBUSY;
		goto out_unlock;
	}
	hash_add_rcu(attached, &a->node, (unsigned long)a->ctx);
	spin_unlock(&attached_lock);
	wf->uffd[wf->nr_uffd++] = file;	/* the reference moves here */
	mutex_unlock(&wf->lock);
	return 0;

out_unlock:
	mutex_unlock(&wf->lock);
	kfree(a);
out_put:
	fput(file);
	return ret;
}

/* Drops slot @i of @wf; wf->lock held.  Returns the file to fput(). */
static struct file *take_slot(struct wwatch_file *wf, unsigned int i)
{
	struct file *file = wf->uffd[i];

	forget_ctx(file->private_data, wf);
	wf->uffd[i] = wf->uffd[--wf->nr_uffd];
	wf->uffd[wf->nr_uffd] = NULL;
	return file;
}

long wwatch_engine_detach(struct wwatch_file *wf, const struct wwatch_attach *req)
{
	struct file *file, *found = NULL;
	unsigned int i;

	file = fget(req->uffd);
	if (!file)
		return -EBADF;
	mutex_lock(&wf->lock);
	for (i = 0; i < wf->nr_uffd; i++) {
		if (wf->uffd[i]->private_data == file->private_data) {
			found = take_slot(wf, i);
			break;
		}
	}
	mutex_unlock(&wf->lock);
	fput(file);
	if (!found)
		return -ENOENT;
	/* No hook may still match the context once its file can go. */
	synchronize_rcu();
	fput(found);
	return 0;
}

void wwatch_engine_release(struct wwatch_file *wf)
{
	struct file *files[WWATCH_MAX_ATTACH];
	unsigned int i, n = 0;

	mutex_lock(&wf->lock);
	while (wf->nr_uffd)
		files[n++] = take_slot(wf, 0);
	mutex_unlock(&wf->lock);
	if (!n)
		return;
	synchronize_rcu();
	for (i = 0; i < n; i++)
		fput(files[i]);
}
