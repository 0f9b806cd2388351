// SPDX-License-Identifier: GPL-2.0
/*
 * The write log (WWATCH_IOC_LOG_SETUP): a ring shared with user space
 * through mmap of /dev/wwatch, to which the engine appends one entry per
 * write-protect fault it resolves, from inside the fault.  The layout and
 * the consumer's side of the protocol are in uapi/linux/wwatch.h.
 *
 * Writers (faulting threads, any CPU, under a page-table spinlock) never
 * sleep, never allocate and never wait for the consumer:
 *  - a sequence number is reserved with a cmpxchg on the kernel-private
 *    head, only while fewer than `entries` are unconsumed; otherwise the
 *    event is counted in `dropped` instead (the page tables still record
 *    the write, so a scan recovers it);
 *  - the entry is filled, then published by a release store of its stamp.
 * The kernel reads nothing from the shared pages but `tail`, and a bad
 * tail can only make the ring look full.
 *
 * The pages are allocated one by one (charged to the caller's memory
 * cgroup, and to the user's RLIMIT_MEMLOCK as locked memory), mapped
 * contiguously in the kernel with vmap() and into user space with
 * vm_insert_page().
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/irq_work.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/sched/user.h>
#include <linux/sched/signal.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include "wwatch.h"

struct wwatch_log {
	atomic64_t head;		/* next sequence number to hand out */
	u32 mask;			/* entries - 1 */
	u32 flags;			/* WWATCH_LOG_* */
	struct wwatch_log_header *hdr;	/* shared: kernel alias of page 0 */
	struct wwatch_log_entry *ring;	/* shared: slot 0 */
	raw_spinlock_t drop_lock;	/* serialises updates of `dropped` */
	u64 dropped;			/* the truth; hdr->dropped mirrors it */
	struct pid_namespace *pid_ns;	/* where entry tids are numbered */
	wait_queue_head_t wait;		/* poll(2) sleepers */
	struct irq_work wake_work;	/* wakes them where we may not */
	unsigned int nr_pages;
	struct page **pages;
	/*
	 * Whose user_struct was charged nr_pages of locked_vm, held through
	 * the credentials: free_uid() is not exported before 5.12.
	 */
	const struct cred *charged;
};

static void log_wake_work(struct irq_work *work)
{
	struct wwatch_log *log = container_of(work, struct wwatch_log,
					      wake_work);

	wake_up_interruptible_poll(&log->wait, EPOLLIN | EPOLLRDNORM);
}

/*
 * The wait queue's lock is a spinlock_t, which PREEMPT_RT turns into a
 * sleeping lock.  Our fault hook normally runs in do_wp_page()'s own
 * context, but when another ftrace user traces the same function ftrace
 * calls the hooks from its list function with preemption off: there, on
 * RT, the wakeup goes through an irq_work (RT runs it in a thread).
 * Elsewhere nothing changes.
 */
static void wake_consumer(struct wwatch_log *log)
{
	/* wq_has_sleeper() orders the publication before the check. */
	if (!wq_has_sleeper(&log->wait))
		return;
	if (IS_ENABLED(CONFIG_PREEMPT_RT) && !preemptible())
		irq_work_queue(&log->wake_work);
	else
		wake_up_interruptible_poll(&log->wait, EPOLLIN | EPOLLRDNORM);
}

static void log_drop(struct wwatch_log *log)
{
	/* raw: taken with preemption off on RT too (see wake_consumer()). */
	raw_spin_lock(&log->drop_lock);
	log->dropped++;
	/* Pairs with the consumer's acquire: the cleared bit is visible. */
	smp_store_release(&log->hdr->dropped, log->dropped);
	raw_spin_unlock(&log->drop_lock);
	wake_consumer(log);
}

/*
 * Appends one event.  Called by the engine after it cleared the page's
 * protection, with that page table's lock still held (so preemption is
 * off between reservation and publication).
 */
void wwatch_log_append(struct wwatch_log *log, unsigned long addr,
		       unsigned int shift)
{
	struct wwatch_log_entry *e;
	s64 head = atomic64_read(&log->head);
	u64 tail;

	do {
		tail = READ_ONCE(log->hdr->tail);
		/* Full, or a tail beyond head, which only a bug can write. */
		if ((u64)head - tail > log->mask) {
			log_drop(log);
			return;
		}
	} while (!atomic64_try_cmpxchg(&log->head, &head, head + 1));

	e = &log->ring[(u64)head & log->mask];
	WRITE_ONCE(e->addr, addr);
	WRITE_ONCE(e->page_shift, shift);
	WRITE_ONCE(e->cpu, raw_smp_processor_id());
	WRITE_ONCE(e->tid, (log->flags & WWATCH_LOG_TID) ?
		   task_pid_nr_ns(current, log->pid_ns) : 0);
	WRITE_ONCE(e->reserved, 0);
	/* Publish: the consumer's acquire of stamp sees the fields above. */
	smp_store_release(&e->stamp, (u64)head + 1);
	wake_consumer(log);
}

/*
 * The ring's pages stay allocated and mapped for as long as the file is
 * open, so they count as the user's locked memory, against
 * RLIMIT_MEMLOCK, as io_uring's and perf's rings do (io_uring's
 * __io_account_mem(): the user's locked_vm, unless CAP_IPC_LOCK).  Else
 * any user could pin 32 MiB per open file of a 0666 device.
 */
static int log_charge(struct wwatch_log *log)
{
	const struct cred *cred;
	struct user_struct *user;
	unsigned long limit, cur, new;

	if (capable(CAP_IPC_LOCK))
		return 0;
	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cred = get_current_cred();
	user = cred->user;
	cur = atomic_long_read(&user->locked_vm);
	do {
		new = cur + log->nr_pages;
		if (new > limit || new < cur) {
			put_cred(cred);
			return -ENOMEM;
		}
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
	log->charged = cred;
	return 0;
}

static void log_uncharge(struct wwatch_log *log)
{
	if (!log->charged)
		return;
	atomic_long_sub(log->nr_pages, &log->charged->user->locked_vm);
	put_cred(log->charged);
	log->charged = NULL;
}

static void log_free(struct wwatch_log *log)
{
	unsigned int i;

	log_uncharge(log);
	irq_work_sync(&log->wake_work);

	if (log->hdr)
		vunmap(log->hdr);
	for (i = 0; log->pages && i < log->nr_pages; i++)
		if (log->pages[i])
			__free_page(log->pages[i]);
	kvfree(log->pages);
	if (log->pid_ns)
		put_pid_ns(log->pid_ns);
	kfree(log);
}

static struct wwatch_log *log_alloc(u32 entries, u32 flags)
{
	size_t bytes = PAGE_SIZE + (size_t)entries *
		       sizeof(struct wwatch_log_entry);
	struct wwatch_log *log;
	unsigned int i;

	log = kzalloc(sizeof(*log), GFP_KERNEL_ACCOUNT);
	if (!log)
		return NULL;
	init_irq_work(&log->wake_work, log_wake_work);
	log->nr_pages = DIV_ROUND_UP(bytes, PAGE_SIZE);
	if (log_charge(log)) {
		log->nr_pages = 0;
		goto fail;
	}
	log->pages = kvcalloc(log->nr_pages, sizeof(*log->pages),
			      GFP_KERNEL_ACCOUNT);
	if (!log->pages)
		goto fail;
	for (i = 0; i < log->nr_pages; i++) {
		log->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!log->pages[i])
			goto fail;
		cond_resched();
	}
	log->hdr = vmap(log->pages, log->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!log->hdr)
		goto fail;
	log->ring = (void *)log->hdr + PAGE_SIZE;
	log->mask = entries - 1;
	log->flags = flags;
	log->pid_ns = get_pid_ns(task_active_pid_ns(current));
	atomic64_set(&log->head, 0);
	raw_spin_lock_init(&log->drop_lock);
	init_waitqueue_head(&log->wait);

	log->hdr->entries = entries;
	log->hdr->entry_size = sizeof(struct wwatch_log_entry);
	log->hdr->flags = flags;
	log->hdr->entries_offset = PAGE_SIZE;
	return log;
fail:
	log_free(log);
	return NULL;
}

/* WWATCH_IOC_LOG_SETUP, *s copied in (size checked) and out by main.c. */
long wwatch_log_setup(struct wwatch_file *wf, struct wwatch_log_setup *s)
{
	struct wwatch_log *log;

	if (!WWATCH_LOG_BUILT)
		return -EOPNOTSUPP;
	if (s->flags & ~WWATCH_LOG_FLAGS)
		return -EINVAL;
	if (s->entries < WWATCH_LOG_MIN_ENTRIES ||
	    s->entries > WWATCH_LOG_MAX_ENTRIES || !is_power_of_2(s->entries))
		return -EINVAL;
	/* Cheap early answer; checked again under the lock. */
	if (READ_ONCE(wf->log))
		return -EBUSY;
	log = log_alloc(s->entries, s->flags);
	if (!log)
		return -ENOMEM;

	mutex_lock(&wf->lock);
	if (wf->log) {
		mutex_unlock(&wf->lock);
		log_free(log);
		return -EBUSY;
	}
	/*
	 * Pairs with the engine's READ_ONCE (address dependency), mmap's
	 * and poll's acquire: they see the log initialised.
	 */
	smp_store_release(&wf->log, log);
	mutex_unlock(&wf->lock);

	s->mmap_size = (u64)log->nr_pages << PAGE_SHIFT;
	s->entries_offset = PAGE_SIZE;
	return 0;
}

int wwatch_log_mmap(struct wwatch_file *wf, struct vm_area_struct *vma)
{
	/* Pairs with the setup's release: the log is initialised. */
	struct wwatch_log *log = smp_load_acquire(&wf->log);
	unsigned long addr = vma->vm_start;
	unsigned int i;
	int ret;

	if (!log)
		return -ENODEV;
	if (!(vma->vm_flags & VM_SHARED) || vma->vm_pgoff ||
	    vma_pages(vma) != log->nr_pages)
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	wwatch_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYEXEC);
	for (i = 0; i < log->nr_pages; i++, addr += PAGE_SIZE) {
		ret = vm_insert_page(vma, addr, log->pages[i]);
		if (ret)
			return ret;	/* the caller unmaps what was inserted */
	}
	return 0;
}

__poll_t wwatch_log_poll(struct wwatch_file *wf, struct file *file,
			 poll_table *pt)
{
	/* Pairs with the setup's release: the log is initialised. */
	struct wwatch_log *log = smp_load_acquire(&wf->log);
	u64 tail;

	if (!log)
		return EPOLLERR;
	poll_wait(file, &log->wait, pt);
	tail = READ_ONCE(log->hdr->tail);
	/* Pairs with the writer's release of stamp. */
	if (smp_load_acquire(&log->ring[tail & log->mask].stamp) == tail + 1)
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

void wwatch_log_release(struct wwatch_file *wf)
{
	if (wf->log)
		log_free(wf->log);
	wf->log = NULL;
}
