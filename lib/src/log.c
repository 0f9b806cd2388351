// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The write log's public calls (wwatch_log_*): asking the module for a
 * ring on the handle's /dev/wwatch and mapping it, then reading, polling
 * and unmapping it.  The ring reading itself is in logring.c, which the
 * unit tests drive without a kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/mman.h>
#include "internal.h"
#include "sys.h"

/* -EOPNOTSUPP if this handle can never have a log, -ENODEV if it has none. */
static int log_state(const struct wwatch *w)
{
	if (w->backend != WWATCH_BACKEND_MODULE ||
	    !(w->module_features & WWATCH_FEAT_LOG))
		return -EOPNOTSUPP;
	return __atomic_load_n(&w->log.on, __ATOMIC_ACQUIRE) ? 0 : -ENODEV;
}

static int enable_locked(struct wwatch *w, const struct wwatch_log_opts *o)
{
	struct ww_log *l = &w->log;
	struct wwatch_log_setup s = {
		.size = sizeof(s), .entries = o->entries, .flags = o->flags,
	};
	void *map;
	int err;

	if (l->on)
		return -EBUSY;
	if (l->set_up) {
		/* The file has its ring, but mapping it failed last time. */
		if (l->setup.entries != o->entries || l->flags != o->flags)
			return -EBUSY;
		s = l->setup;
	} else {
		err = ww_ioctl(w->scan_fd, WWATCH_IOC_LOG_SETUP, &s);
		if (err == -ENOTTY)
			return -EOPNOTSUPP;
		if (err)
			return err;
		l->set_up = true;
		l->setup = s;
		l->flags = o->flags;
	}
	err = ww_log_check_setup(&s, o->entries, w->page_size);
	if (err)
		return err;
	map = mmap(NULL, s.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   w->scan_fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	err = ww_log_bind(l, map, s.mmap_size, &s, o->flags);
	if (err) {
		munmap(map, s.mmap_size);
		return err;
	}
	__atomic_store_n(&l->on, 1, __ATOMIC_RELEASE);
	return 0;
}

int wwatch_log_enable(struct wwatch *w, const struct wwatch_log_opts *opts)
{
	struct wwatch_log_opts o;
	int err;

	if (!w)
		return -EINVAL;
	err = ww_log_opts_read(opts, &o);
	if (err)
		return err;
	err = log_state(w);
	if (err != -ENODEV)
		return err ? err : -EBUSY;
	pthread_mutex_lock(&w->log.lock);
	err = enable_locked(w, &o);
	pthread_mutex_unlock(&w->log.lock);
	return err;
}

int wwatch_log_read(struct wwatch *w, struct wwatch_log_event *ev,
		    size_t max, uint64_t *lost)
{
	size_t n;
	int err;

	if (lost)
		*lost = 0;
	if (!w || !lost || (!ev && max))
		return -EINVAL;
	err = log_state(w);
	if (err)
		return err;
	if (max > INT_MAX)
		max = INT_MAX;
	pthread_mutex_lock(&w->log.lock);
	n = ww_log_consume(&w->log, ev, max, lost);
	pthread_mutex_unlock(&w->log.lock);
	return (int)n;
}

int wwatch_log_fd(const struct wwatch *w)
{
	int err;

	if (!w)
		return -EINVAL;
	err = log_state(w);
	return err ? err : w->scan_fd;
}

int wwatch_log_wait(struct wwatch *w, int timeout_ms)
{
	struct pollfd p;
	bool ready;
	int err;

	if (!w)
		return -EINVAL;
	err = log_state(w);
	if (err)
		return err;
	pthread_mutex_lock(&w->log.lock);
	ready = ww_log_ready(&w->log);
	pthread_mutex_unlock(&w->log.lock);
	if (ready || !timeout_ms)
		return ready;
	/*
	 * The module reports POLLIN while the entry at the shared tail is
	 * published; that tail is ours, and a drop only happens when the
	 * ring is full, so POLLIN covers losses too.
	 */
	p.fd = w->scan_fd;
	p.events = POLLIN;
	p.revents = 0;
	err = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (err < 0)
		return -errno;
	if (p.revents & (POLLERR | POLLNVAL))
		return -EIO;
	return err > 0;
}

void ww_log_release(struct wwatch *w)
{
	struct ww_log *l = &w->log;

	if (l->map)
		munmap(l->map, l->map_len);
	l->map = NULL;
	l->on = 0;
	pthread_mutex_destroy(&l->lock);
}
