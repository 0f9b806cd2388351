// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mechanism "soft-dirty": the kernel's older write tracking, what CRIU and
 * others fall back to.  Reset writes "4" to /proc/self/clear_refs (the
 * whole process, not just the range); get reads bit 55 of each page's
 * /proc/self/pagemap entry, then resets.  Get and reset are two calls, so
 * a write between them is lost: the steady-state figure shows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "bench.h"
#include "mech.h"

struct sd {
	int pagemap, clear_refs;
};

static int clear_soft_dirty(int fd)
{
	return write(fd, "4", 1) == 1 ? 0 : -errno;
}

/* The kernel may lack CONFIG_MEM_SOFT_DIRTY: check that the bit moves. */
static const char *sd_unavailable(void)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	const char *why = NULL;
	uint64_t bm = 0;
	char *p;

	p = mmap(NULL, BENCH_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pm < 0 || cr < 0 || p == MAP_FAILED) {
		why = "cannot open pagemap or clear_refs";
	} else {
		*(volatile char *)p = 1;
		if (clear_soft_dirty(cr) ||
		    pagemap_bits(pm, p, 1, PM_SOFT_DIRTY, PM_SOFT_DIRTY, &bm))
			why = "clear_refs does not clear soft-dirty";
		*(volatile char *)p = 2;
		if (!why && pagemap_bits(pm, p, 1, PM_SOFT_DIRTY,
					 PM_SOFT_DIRTY, &bm) != 1)
			why = "kernel does not set soft-dirty (CONFIG_MEM_SOFT_DIRTY?)";
	}
	if (p != MAP_FAILED)
		munmap(p, BENCH_PAGE);
	if (pm >= 0)
		close(pm);
	if (cr >= 0)
		close(cr);
	return why;
}

static int sd_reset(struct mech *m)
{
	struct sd *s = m->priv;

	return clear_soft_dirty(s->clear_refs);
}

static int sd_init(struct mech *m)
{
	struct sd *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	m->priv = s;
	s->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	s->clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (s->pagemap < 0 || s->clear_refs < 0)
		return -errno;
	return sd_reset(m);
}

static long sd_collect(struct mech *m, uint64_t *bm)
{
	struct sd *s = m->priv;
	long n = pagemap_bits(s->pagemap, m->addr, m->npages, PM_SOFT_DIRTY,
			      PM_SOFT_DIRTY, bm);
	int err;

	if (n < 0)
		return n;
	err = clear_soft_dirty(s->clear_refs);
	return err ? err : n;
}

static long sd_peek(struct mech *m, uint64_t *bm)
{
	struct sd *s = m->priv;

	return pagemap_bits(s->pagemap, m->addr, m->npages, PM_SOFT_DIRTY,
			    PM_SOFT_DIRTY, bm);
}

static void sd_fini(struct mech *m)
{
	struct sd *s = m->priv;

	if (!s)
		return;
	if (s->pagemap >= 0)
		close(s->pagemap);
	if (s->clear_refs >= 0)
		close(s->clear_refs);
	free(s);
	m->priv = NULL;
}

const struct mech_ops mech_soft_dirty_ops = {
	.name = "soft-dirty",
	.unavailable = sd_unavailable,
	.init = sd_init,
	.reset = sd_reset,
	.collect = sd_collect,
	.peek = sd_peek,
	.fini = sd_fini,
};
