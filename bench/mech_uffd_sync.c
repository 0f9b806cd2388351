// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mechanism "uffd-sync": synchronous userfaultfd write-protect, what a 6.1
 * kernel offers without wwatch.  Every first write blocks its thread and
 * sends a message; a handler thread records the page and unprotects it
 * (UFFDIO_WRITEPROTECT without WP wakes the writer).  A mutex orders the
 * handler against get-and-reset so that no write falls between a page
 * being recorded and the range being protected again.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "bench.h"
#include "guest_util.h"
#include "mech.h"

struct usync {
	struct mech *m;
	int uffd, stop;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	uint64_t *bm;
};

static void handle_msgs(struct usync *u, const struct uffd_msg *msg, int n)
{
	struct mech *m = u->m;
	uintptr_t addr;
	int i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < n; i++) {
		if (msg[i].event != UFFD_EVENT_PAGEFAULT ||
		    !(msg[i].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			continue;
		addr = msg[i].arg.pagefault.address & ~(BENCH_PAGE - 1);
		bm_set(u->bm, (addr - (uintptr_t)m->addr) / BENCH_PAGE);
		wt_writeprotect(u->uffd, (void *)addr, BENCH_PAGE, false);
		__atomic_fetch_add(&m->upcalls, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&u->lock);
}

static void *handler(void *arg)
{
	struct usync *u = arg;
	struct uffd_msg msg[32];
	struct pollfd p[2] = {
		{ .fd = u->uffd, .events = POLLIN },
		{ .fd = u->stop, .events = POLLIN },
	};
	ssize_t r;

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		r = read(u->uffd, msg, sizeof(msg));
		if (r > 0)
			handle_msgs(u, msg, r / sizeof(msg[0]));
	}
	return NULL;
}

static int usync_init(struct mech *m)
{
	struct usync *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return -ENOMEM;
	m->priv = u;
	u->m = m;
	u->stop = -1;
	pthread_mutex_init(&u->lock, NULL);
	u->bm = bm_alloc(m->npages);
	u->uffd = wt_uffd_open(0);
	if (u->uffd < 0)
		return -errno;
	err = wt_register_wp(u->uffd, m->addr, m->len);
	if (err)
		return err;
	u->stop = eventfd(0, EFD_CLOEXEC);
	if (u->stop < 0)
		return -errno;
	if (pthread_create(&u->thread, NULL, handler, u))
		return -EAGAIN;
	u->running = true;
	return wt_writeprotect(u->uffd, m->addr, m->len, true);
}

/* Protects the range again; if @out, hands over the recorded pages. */
static long usync_swap(struct mech *m, uint64_t *out)
{
	struct usync *u = m->priv;
	long n;
	int err;

	pthread_mutex_lock(&u->lock);
	err = wt_writeprotect(u->uffd, m->addr, m->len, true);
	n = bm_take(u->bm, out, m->npages);
	pthread_mutex_unlock(&u->lock);
	return err ? err : n;
}

static int usync_reset(struct mech *m)
{
	long r = usync_swap(m, NULL);

	return r < 0 ? (int)r : 0;
}

static long usync_collect(struct mech *m, uint64_t *bm)
{
	return usync_swap(m, bm);
}

static int usync_mark_written(struct mech *m, size_t first, size_t n)
{
	struct usync *u = m->priv;
	int err;

	pthread_mutex_lock(&u->lock);
	bm_set_range(u->bm, first, n);
	err = wt_writeprotect(u->uffd, m->addr + first * BENCH_PAGE,
			      n * BENCH_PAGE, false);
	pthread_mutex_unlock(&u->lock);
	return err;
}

static void usync_fini(struct mech *m)
{
	struct usync *u = m->priv;
	uint64_t one = 1;

	if (!u)
		return;
	if (u->running) {
		if (write(u->stop, &one, sizeof(one)) != sizeof(one))
			die("cannot stop the uffd handler thread");
		pthread_join(u->thread, NULL);
	}
	if (u->stop >= 0)
		close(u->stop);
	if (u->uffd >= 0)
		close(u->uffd);
	pthread_mutex_destroy(&u->lock);
	free(u->bm);
	free(u);
	m->priv = NULL;
}

const struct mech_ops mech_uffd_sync_ops = {
	.name = "uffd-sync",
	.init = usync_init,
	.reset = usync_reset,
	.collect = usync_collect,
	.mark_written = usync_mark_written,
	.fini = usync_fini,
};
