// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The mechanism registry: which mechanisms exist, which can run in this
 * boot (probed once, with the reason when not), and the pagemap reader
 * that soft-dirty and the uffd-wp checks share.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "mech.h"

const struct mech_ops *const mech_all[MECH_COUNT] = {
	[MECH_WWATCH] = &mech_wwatch_ops,
	[MECH_NATIVE] = &mech_native_ops,
	[MECH_UFFD_SYNC] = &mech_uffd_sync_ops,
	[MECH_MPROTECT] = &mech_mprotect_ops,
	[MECH_SOFT_DIRTY] = &mech_soft_dirty_ops,
};

static bool probed[MECH_COUNT], cprobed[MECH_COUNT];
static const char *why[MECH_COUNT], *cwhy[MECH_COUNT];

const char *mech_unavailable(enum mech_id id)
{
	if (!probed[id]) {
		why[id] = mech_all[id]->unavailable ?
			  mech_all[id]->unavailable() : NULL;
		probed[id] = true;
	}
	return why[id];
}

const char *mech_collect_unavailable(enum mech_id id)
{
	const char *w = mech_unavailable(id);

	if (w)
		return w;
	if (!cprobed[id]) {
		cwhy[id] = mech_all[id]->collect_unavailable ?
			   mech_all[id]->collect_unavailable() : NULL;
		cprobed[id] = true;
	}
	return cwhy[id];
}

bool mech_selected(enum mech_id id)
{
	return opts.mech_mask & (1U << id);
}

int mech_init(struct mech *m, const struct mech_ops *ops, char *addr,
	      size_t len)
{
	m->ops = ops;
	m->addr = addr;
	m->len = len;
	m->npages = len / BENCH_PAGE;
	m->priv = NULL;
	m->upcalls = 0;
	return ops->init(m);
}

char *mech_open_populated(struct mech *m, enum mech_id id, size_t len,
			  const char **why)
{
	char *p = region_map(len, false);
	int err;

	region_populate(p, len);
	err = mech_init(m, mech_all[id], p, len);
	if (err) {
		fprintf(stderr, "%s: init failed: %s\n", mech_all[id]->name,
			strerror(-err));
		*why = "init failed";
	}
	return p;
}

void mech_fini(struct mech *m)
{
	if (m->ops)
		m->ops->fini(m);
	m->ops = NULL;
}

long pagemap_bits(int fd, const char *addr, size_t npages, uint64_t mask,
		  uint64_t want, uint64_t *bm)
{
	static __thread uint64_t buf[8192];
	size_t first = (uintptr_t)addr / BENCH_PAGE, done = 0, i, n;
	long count = 0;
	ssize_t r;

	while (done < npages) {
		n = npages - done;
		if (n > sizeof(buf) / sizeof(buf[0]))
			n = sizeof(buf) / sizeof(buf[0]);
		r = pread(fd, buf, n * sizeof(buf[0]),
			  (first + done) * sizeof(buf[0]));
		if (r < 0)
			return -errno;
		if ((size_t)r != n * sizeof(buf[0]))
			return -EIO;
		for (i = 0; i < n; i++) {
			if ((buf[i] & mask) == want) {
				bm_set(bm, done + i);
				count++;
			}
		}
		done += n;
	}
	return count;
}
