// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mechanism "mprotect": what Wine does without the kernel feature.  The
 * range is mprotect()ed read-only; the first write to a page raises
 * SIGSEGV, whose handler records the page and makes it writable again.  A
 * spin lock (the handler cannot take a mutex) orders the handler against
 * get-and-reset, as Wine's virtual lock does.  One region at a time: the
 * signal handler is process-wide.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "bench.h"
#include "mech.h"

static struct mech *volatile active;
static uint64_t *bits;
static char spin;

static void lock(void)
{
	while (__atomic_test_and_set(&spin, __ATOMIC_ACQUIRE))
		;
}

static void unlock(void)
{
	__atomic_clear(&spin, __ATOMIC_RELEASE);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	struct mech *m = active;
	uintptr_t a = (uintptr_t)si->si_addr, base;

	(void)sig;
	(void)uc;
	if (!m || a < (uintptr_t)m->addr || a >= (uintptr_t)m->addr + m->len) {
		signal(SIGSEGV, SIG_DFL);	/* a real crash: let it be */
		return;
	}
	base = (uintptr_t)m->addr;
	a &= ~(BENCH_PAGE - 1);
	lock();
	bm_set(bits, (a - base) / BENCH_PAGE);
	mprotect((void *)a, BENCH_PAGE, PROT_READ | PROT_WRITE);
	unlock();
	__atomic_fetch_add(&m->upcalls, 1, __ATOMIC_RELAXED);
}

static int mp_init(struct mech *m)
{
	struct sigaction sa;

	if (active)
		return -EBUSY;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL))
		return -errno;
	bits = bm_alloc(m->npages);
	m->priv = bits;
	active = m;
	return mprotect(m->addr, m->len, PROT_READ) ? -errno : 0;
}

/* Protects the range again; if @out, hands over the recorded pages. */
static long mp_swap(struct mech *m, uint64_t *out)
{
	long n;
	int err;

	lock();
	err = mprotect(m->addr, m->len, PROT_READ) ? -errno : 0;
	n = bm_take(bits, out, m->npages);
	unlock();
	return err ? err : n;
}

static int mp_reset(struct mech *m)
{
	long r = mp_swap(m, NULL);

	return r < 0 ? (int)r : 0;
}

static long mp_collect(struct mech *m, uint64_t *bm)
{
	return mp_swap(m, bm);
}

static int mp_mark_written(struct mech *m, size_t first, size_t n)
{
	int err;

	lock();
	bm_set_range(bits, first, n);
	err = mprotect(m->addr + first * BENCH_PAGE, n * BENCH_PAGE,
		       PROT_READ | PROT_WRITE) ? -errno : 0;
	unlock();
	return err;
}

static void mp_fini(struct mech *m)
{
	if (active != m)
		return;
	mprotect(m->addr, m->len, PROT_READ | PROT_WRITE);
	active = NULL;
	free(bits);
	bits = NULL;
	m->priv = NULL;
	signal(SIGSEGV, SIG_DFL);
}

const struct mech_ops mech_mprotect_ops = {
	.name = "mprotect",
	.init = mp_init,
	.reset = mp_reset,
	.collect = mp_collect,
	.mark_written = mp_mark_written,
	.fini = mp_fini,
};
