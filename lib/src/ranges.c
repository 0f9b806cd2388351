// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Watching ranges: wwatch_add/remove (userfaultfd write-protect
 * registration, remembered so that close can undo it), wwatch_reset (a
 * write-protecting scan with no output, as Wine's ResetWriteWatch) and the
 * raw wwatch_scan pass-through.
 */
#include <errno.h>
#include "internal.h"
#include "sys.h"
#include "upstream.h"

int wwatch_scan(struct wwatch *w, struct wwatch_scan_arg *arg)
{
	if (!w || !arg)
		return -EINVAL;
	return w->scan(w, arg);
}

/* Write-protects every page of [start, end) that reads as written. */
static int protect(struct wwatch *w, uint64_t start, uint64_t end)
{
	struct wwatch_scan_arg arg = {
		.size = sizeof(arg),
		.flags = WWATCH_SCAN_WP_MATCHING | WWATCH_SCAN_CHECK_WPASYNC,
		.start = start,
		.end = end,
		.category_mask = WWATCH_PAGE_IS_WRITTEN,
		.return_mask = WWATCH_PAGE_IS_WRITTEN,
	};
	int ret;

	/* No vector: the walk never stops early, but be safe about it. */
	while (arg.start < end) {
		ret = w->scan(w, &arg);
		if (ret < 0)
			return ret;
		if (arg.walk_end <= arg.start)
			return -EAGAIN;
		arg.start = arg.walk_end;
	}
	return 0;
}

/* The checks every range call starts with: 0 and [*start, *end), or -errno. */
static int range_of(const struct wwatch *w, void *addr, size_t len,
		    uint64_t *start, uint64_t *end)
{
	if (!w)
		return -EINVAL;
	*start = (uintptr_t)addr;
	return ww_check_range(*start, len, w->page_size, end);
}

int wwatch_reset(struct wwatch *w, void *addr, size_t len)
{
	uint64_t start, end;
	int err = range_of(w, addr, len, &start, &end);

	return err ? err : protect(w, start, end);
}

static int unregister(struct wwatch *w, uint64_t start, uint64_t end)
{
	struct uffdio_range r = { .start = start, .len = end - start };

	return ww_ioctl(w->uffd, UFFDIO_UNREGISTER, &r);
}

int wwatch_add(struct wwatch *w, void *addr, size_t len)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	uint64_t start, end;
	int err = range_of(w, addr, len, &start, &end);

	if (err)
		return err;
	reg.range.start = start;
	reg.range.len = end - start;
	err = ww_ioctl(w->uffd, UFFDIO_REGISTER, &reg);
	if (err)
		return err;
	pthread_mutex_lock(&w->lock);
	err = ww_rangeset_add(&w->ranges, start, end);
	pthread_mutex_unlock(&w->lock);
	if (!err)
		err = protect(w, start, end);
	if (err)
		wwatch_remove(w, addr, len);
	return err;
}

int wwatch_remove(struct wwatch *w, void *addr, size_t len)
{
	uint64_t start, end;
	int err = range_of(w, addr, len, &start, &end);

	if (!err)
		err = unregister(w, start, end);
	if (err)
		return err;
	pthread_mutex_lock(&w->lock);
	/* Removing only shrinks the set; it cannot fail past the split. */
	err = ww_rangeset_remove(&w->ranges, start, end);
	pthread_mutex_unlock(&w->lock);
	return err;
}
