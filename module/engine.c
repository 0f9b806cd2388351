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
 * Async contexts are kept in an RCU hash keyed by their context pointer,
 * hashed with a key drawn at load (siphash), so nobody can aim entries at
 * the bucket another program's faults walk; every entry is charged to the
 * real uid that created it, at most max_user_ctx each (-EMFILE beyond).
 * Each entry has a generation, unique for the module's life: code that
 * must find "the same entry" later keeps (context, generation), never an
 * entry pointer.  An entry has one of two owners, and the fault path does
 * not care which:
 *  - an open /dev/wwatch the uffd was attached to (WWATCH_IOC_ATTACH),
 *    which holds a reference on the uffd file, so the context cannot be
 *    freed, and its address reused, while the hooks can still match it;
 *  - the kernel ABI (kernel_abi.c), for a uffd whose UFFDIO_API asked for
 *    UFFD_FEATURE_WP_ASYNC: no reference on the context, the entry lives
 *    as long as the uffd and is removed when the kernel releases it; one
 *    left behind by a context freed unseen (a fork event cancelled) is
 *    purged when its address comes back as a new context (every
 *    successful handshake, every context created by fork).  Each holds a
 *    module reference.
 * Each resolved fault is also appended to the write log of the file the
 * uffd is attached to, if it set one up (log.c).
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/ftrace.h>
#include <linux/cred.h>
#include <linux/hash.h>
#include <linux/magic.h>
#include <linux/hugetlb.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>
#include "wwatch.h"
#include "symbols.h"
#include "contract.h"

/* The entries charged to one real uid; users_lock. */
struct wwatch_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int count;
};

struct attached_ctx {
	struct hlist_node node;
	const void *ctx;		/* struct userfaultfd_ctx *, never read */
	struct wwatch_file *wf;		/* holder, or NULL: the kernel ABI */
	unsigned int flags;		/* WWATCH_CTX_*, for the kernel ABI */
	u64 gen;			/* unique, set when inserted */
	struct wwatch_user *user;	/* charged until removed */
	/* kabi_fork.c: the child's mm while the fork that adopted it runs. */
	struct mm_struct *fork_mm;
	struct rcu_head rcu;
};

#define REGISTRY_BITS 10
static struct hlist_head attached[1 << REGISTRY_BITS];
static siphash_key_t registry_key;	/* drawn at load */
static u64 registry_gen;		/* attached_lock */
/* Entries of the kernel ABI (kabi_fork.c's fast path). */
static atomic_t nr_kabi_ctx = ATOMIC_INIT(0);
/* Faults redirected into wwatch_resolve_wp() and not yet out of it. */
static atomic_t resolving = ATOMIC_INIT(0);
static DEFINE_SPINLOCK(attached_lock);	/* writers of `attached` */

#define USERS_BITS 6
static struct hlist_head users[1 << USERS_BITS];
static DEFINE_SPINLOCK(users_lock);

/*
 * Registry entries (attached or kernel ABI) one real uid may hold: each
 * pins memory and, attached, a uffd file, and all share the buckets the
 * fault path walks.
 */
static unsigned int max_user_ctx = 1024;
module_param(max_user_ctx, uint, 0644);
MODULE_PARM_DESC(max_user_ctx,
		 "Async userfaultfd contexts (attached to /dev/wwatch or served by the kernel ABI) one user may hold (default 1024)");

static struct hlist_head *bucket_of(const void *ctx)
{
	u64 h = siphash_1u64((u64)(unsigned long)ctx, &registry_key);

	return &attached[h & (ARRAY_SIZE(attached) - 1)];
}

/* Caller holds rcu_read_lock() or attached_lock. */
static struct attached_ctx *find_attached(const void *ctx)
{
	struct attached_ctx *a;

	hlist_for_each_entry_rcu(a, bucket_of(ctx), node,
				 lockdep_is_held(&attached_lock))
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
void notrace wwatch_hook_do_wp_page(unsigned long ip, unsigned long parent_ip,
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
void notrace wwatch_hook_handle_userfault(unsigned long ip,
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

int wwatch_engine_init(void)
{
	get_random_bytes(&registry_key, sizeof(registry_key));
	return wwatch_hooks_on(WWATCH_HOOKS_ENGINE, &resolving);
}

void wwatch_engine_exit(void)
{
	wwatch_hooks_off(WWATCH_HOOKS_ENGINE, &resolving);
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

/* Uncharges @u; users_lock held.  Frees it when its last entry goes. */
static void uncharge_locked(struct wwatch_user *u)
{
	if (--u->count)
		return;
	hlist_del(&u->node);
	kfree(u);
}

/*
 * Charges one entry to the caller's real uid (as RLIMIT_NPROC and
 * inotify's per-user limits count): the user, or ERR_PTR(-EMFILE) beyond
 * max_user_ctx, or ERR_PTR(-ENOMEM).
 */
static struct wwatch_user *charge_user(void)
{
	kuid_t uid = current_uid();
	struct hlist_head *head = &users[hash_32(__kuid_val(uid), USERS_BITS)];
	struct wwatch_user *u, *spare = kzalloc(sizeof(*spare), GFP_KERNEL);

	spin_lock(&users_lock);
	hlist_for_each_entry(u, head, node)
		if (uid_eq(u->uid, uid))
			break;
	if (u && u->count >= READ_ONCE(max_user_ctx)) {
		u = ERR_PTR(-EMFILE);
	} else if (!u && !READ_ONCE(max_user_ctx)) {
		u = ERR_PTR(-EMFILE);
	} else if (!u && spare) {
		u = spare;
		spare = NULL;
		u->uid = uid;
		hlist_add_head(&u->node, head);
	} else if (!u) {
		u = ERR_PTR(-ENOMEM);
	}
	if (!IS_ERR(u))
		u->count++;
	spin_unlock(&users_lock);
	kfree(spare);
	if (IS_ERR(u) && PTR_ERR(u) == -EMFILE)
		pr_warn_ratelimited("uid %u holds max_user_ctx=%u async userfaultfd contexts: EMFILE\n",
				    from_kuid(&init_user_ns, uid),
				    READ_ONCE(max_user_ctx));
	return u;
}

static void uncharge_user(struct wwatch_user *u)
{
	spin_lock(&users_lock);
	uncharge_locked(u);
	spin_unlock(&users_lock);
}

/*
 * A new entry, charged to the caller's real uid (and its memory to the
 * caller's memory cgroup) and, for the kernel ABI (@kabi), holding a
 * module reference: ERR_PTR(-ENOMEM), (-EMFILE) over
 * the caller's limit, (-ENODEV) while unloading.  Inserting it cannot
 * fail for want of either; wwatch_engine_ctx_free() undoes an unused one.
 */
struct attached_ctx *wwatch_engine_ctx_alloc(bool kabi)
{
	struct attached_ctx *a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	struct wwatch_user *u;

	if (!a)
		return ERR_PTR(-ENOMEM);
	u = charge_user();
	if (IS_ERR(u)) {
		kfree(a);
		return ERR_CAST(u);
	}
	if (kabi && !try_module_get(THIS_MODULE)) {
		uncharge_user(u);
		kfree(a);
		return ERR_PTR(-ENODEV);
	}
	a->user = u;
	a->flags = kabi ? WWATCH_CTX_KABI : 0;
	return a;
}

/* Frees @a, never inserted, from wwatch_engine_ctx_alloc(). */
void wwatch_engine_ctx_free(struct attached_ctx *a)
{
	if (a->flags & WWATCH_CTX_KABI)
		module_put(THIS_MODULE);
	uncharge_user(a->user);
	kfree(a);
}

/* Caller holds attached_lock; @ctx has no entry. */
static void insert_entry(struct attached_ctx *a)
{
	a->gen = ++registry_gen;
	hlist_add_head_rcu(&a->node, bucket_of(a->ctx));
	if (!a->wf)
		atomic_inc(&nr_kabi_ctx);
}

/*
 * Caller holds attached_lock; @a is in the table.  Uncharges it now (a
 * user who closed the holder may make a new one at once), frees it after
 * RCU; an entry of the kernel ABI gives its module reference back now
 * (the exit waits for an RCU-tasks grace period before the text goes).
 */
static void remove_entry(struct attached_ctx *a)
{
	hlist_del_rcu(&a->node);
	if (!a->wf) {
		atomic_dec(&nr_kabi_ctx);
		module_put(THIS_MODULE);
	}
	uncharge_user(a->user);		/* users_lock nests inside */
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
 * The kernel ABI makes @ctx async (@flags: WWATCH_CTX_*) after the
 * kernel accepted UFFDIO_API on it: @ctx is a context never initialised
 * before, so an entry of the kernel ABI found for its address is stale
 * (a context freed unseen) and is replaced.  @a comes from
 * wwatch_engine_ctx_alloc(true), so that the handshake, once the kernel
 * has accepted it, cannot fail for want of memory or quota; it is
 * consumed.  -EBUSY if @ctx was attached to a /dev/wwatch before its
 * handshake.
 */
int wwatch_engine_adopt(const void *ctx, unsigned int flags,
			struct attached_ctx *a)
{
	struct attached_ctx *old;

	a->ctx = ctx;
	a->wf = NULL;
	a->flags = flags | WWATCH_CTX_KABI;
	spin_lock(&attached_lock);
	old = find_attached(ctx);
	if (old && old->wf) {
		spin_unlock(&attached_lock);
		wwatch_engine_ctx_free(a);
		return -EBUSY;
	}
	if (old)
		remove_entry(old);
	insert_entry(a);
	spin_unlock(&attached_lock);
	return 0;
}

/*
 * fork() has just made @child, a new context, for the child's copy of
 * @parent's VMAs (in @mm, the child's).  Any entry of the kernel ABI at
 * @child's address is stale and goes.  If @parent is a context of the
 * kernel ABI, @child becomes one too, with the same flags, charged to the
 * forking task's user: returns 1, or -ENOMEM/-EMFILE when that cannot be
 * (the fork then fails), else 0.
 */
int wwatch_engine_adopt_fork(const void *parent, const void *child,
			     struct mm_struct *mm)
{
	struct attached_ctx *a = NULL, *cur;
	bool adopted = false;

	if (wwatch_engine_ctx_flags(parent) & WWATCH_CTX_KABI) {
		a = wwatch_engine_ctx_alloc(true);
		if (IS_ERR(a))
			return PTR_ERR(a);
	}
	spin_lock(&attached_lock);
	cur = find_attached(child);
	if (cur && !cur->wf) {
		remove_entry(cur);
		cur = NULL;
	}
	if (a && !cur) {
		struct attached_ctx *p = find_attached(parent);

		/* The parent's uffd may have been released meanwhile. */
		if (p && !p->wf) {
			a->ctx = child;
			a->flags = p->flags;
			a->fork_mm = mm;
			insert_entry(a);
			adopted = true;
		}
	}
	spin_unlock(&attached_lock);
	if (a && !adopted)
		wwatch_engine_ctx_free(a);
	return adopted;
}

/*
 * For the fork that adopted @ctx (kabi_fork.c), before the kernel hands
 * the child's contexts over: the entry's generation and the child's mm,
 * or false if @ctx has no entry adopted by a fork in progress.
 */
bool wwatch_engine_fork_pending(const void *ctx, u64 *gen,
				struct mm_struct **mm)
{
	struct attached_ctx *a;
	bool ret = false;

	spin_lock(&attached_lock);
	a = find_attached(ctx);
	if (a && !a->wf && a->fork_mm) {
		*gen = a->gen;
		*mm = a->fork_mm;
		ret = true;
	}
	spin_unlock(&attached_lock);
	return ret;
}

/*
 * The fork that adopted @ctx (entry generation @gen) is over: if @drop,
 * the child's context was freed unseen (its event cancelled) and the
 * entry goes, else it is an ordinary entry of the kernel ABI from now on.
 * An entry of another generation is left alone: it belongs to a newer
 * context at the same address.
 */
void wwatch_engine_fork_done(const void *ctx, u64 gen, bool drop)
{
	struct attached_ctx *a;

	spin_lock(&attached_lock);
	a = find_attached(ctx);
	if (a && !a->wf && a->gen == gen) {
		if (drop)
			remove_entry(a);
		else
			a->fork_mm = NULL;
	}
	spin_unlock(&attached_lock);
}

/* Are there async contexts of the kernel ABI? */
bool wwatch_engine_has_kabi_ctx(void)
{
	return atomic_read(&nr_kabi_ctx);
}

/*
 * The kernel is releasing @ctx, or has just initialised it: forget an
 * entry of the kernel ABI for it (in the second case a stale one).
 * Returns whether there was one.  Safe in any context that may take a
 * spinlock.
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
 * WWATCH_CTX_* of @ctx (WWATCH_CTX_KABI among them) if the kernel ABI
 * made it async, else 0.  The answer may go stale at once.
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
	a = wwatch_engine_ctx_alloc(false);
	if (IS_ERR(a)) {
		ret = PTR_ERR(a);
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
	insert_entry(a);
	spin_unlock(&attached_lock);
	wf->uffd[wf->nr_uffd++] = file;	/* the reference moves here */
	mutex_unlock(&wf->lock);
	return 0;

out_unlock:
	mutex_unlock(&wf->lock);
	wwatch_engine_ctx_free(a);
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
