// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wwatch_rearm(): write-protect a list of ranges again, for a consumer of
 * the write log that wants the next write to each page it read caught and
 * logged too.  The module (ABI >= 1.2) takes the whole list in one
 * WWATCH_IOC_REARM.  Elsewhere (the native backend, an older module) the
 * list is cut into runs of ranges that follow each other in memory, one
 * UFFDIO_WRITEPROTECT each; that grouping is pure (ww_rearm_runs) so the
 * unit tests drive it with a fake protection.
 */
#include <errno.h>
#include "internal.h"
#include "sys.h"
#include "upstream.h"

/* Is v a range UFFDIO_WRITEPROTECT would take?  Sets *end. */
static bool range_ok(const struct wwatch_range *v, uint64_t page,
		     uint64_t *end)
{
	return !((v->start | v->len) & (page - 1)) && v->len &&
	       !__builtin_add_overflow(v->start, v->len, end);
}

size_t ww_rearm_run(const struct wwatch_range *v, size_t n, size_t i,
		    uint64_t page, uint64_t *start, uint64_t *end)
{
	uint64_t e;
	size_t j;

	for (j = i; j < n && range_ok(&v[j], page, &e); j++) {
		if (j > i && v[j].start != *end)
			break;
		if (j == i)
			*start = v[j].start;
		*end = e;
	}
	return j;
}

/* The ranges v[*i..j) one call each; *i advances past those done. */
static int one_by_one(const struct wwatch_range *v, size_t *i, size_t j,
		      ww_protect_fn protect, void *ctx)
{
	int err = 0;

	for (; *i < j; (*i)++) {
		err = protect(ctx, v[*i].start, v[*i].start + v[*i].len);
		if (err)
			break;
	}
	return err;
}

int ww_rearm_runs(const struct wwatch_range *v, size_t n, uint64_t page,
		  ww_protect_fn protect, void *ctx, size_t *done)
{
	uint64_t start, end;
	size_t i = 0, j;
	int err = 0;

	while (i < n) {
		j = ww_rearm_run(v, n, i, page, &start, &end);
		err = j == i ? -EINVAL : protect(ctx, start, end);
		/*
		 * Before 6.7 UFFDIO_WRITEPROTECT takes one VMA per call: a run
		 * this code merged over two of them is not the caller's error.
		 */
		if (err == -ENOENT && j - i > 1)
			err = one_by_one(v, &i, j, protect, ctx);
		if (err)
			break;
		i = j;
	}
	*done = i;
	return err;
}

/* UFFDIO_WRITEPROTECT (mode WP) of [start, end) on the handle's uffd. */
static int uffd_protect(void *ctx, uint64_t start, uint64_t end)
{
	const struct wwatch *w = ctx;
	struct uffdio_writeprotect wp = {
		.range = { .start = start, .len = end - start },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	return ww_ioctl(w->uffd, UFFDIO_WRITEPROTECT, &wp);
}

/* The whole list in one WWATCH_IOC_REARM. */
static int module_rearm(struct wwatch *w, const struct wwatch_range *v,
			size_t n, size_t *done)
{
	struct wwatch_rearm a = {
		.size = sizeof(a), .ranges = (uintptr_t)v, .count = n,
	};
	int err = ww_ioctl(w->scan_fd, WWATCH_IOC_REARM, &a);

	*done = a.done <= n ? (size_t)a.done : 0;
	return err;
}

int wwatch_rearm(struct wwatch *w, const struct wwatch_range *ranges,
		 size_t n, unsigned int flags, size_t *done)
{
	size_t d = 0;
	int err = 0;

	if (!w || (!ranges && n) || flags)
		err = -EINVAL;
	else if (w->backend == WWATCH_BACKEND_MODULE &&
		 (w->module_features & WWATCH_FEAT_REARM))
		err = n ? module_rearm(w, ranges, n, &d) : 0;
	else
		err = ww_rearm_runs(ranges, n, w->page_size, uffd_protect, w,
				    &d);
	if (done)
		*done = d;
	return err;
}
