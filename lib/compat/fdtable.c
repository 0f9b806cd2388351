// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The descriptors the compatibility layer knows about, under one mutex:
 *  - userfaultfds it attached to /dev/wwatch, with the ranges registered
 *    on them, so that close() can unregister and detach them cleanly (a
 *    detached uffd turns synchronous: a write to a page it still protects
 *    would wait for a reader that never comes);
 *  - pagemap files the program scans, with the /dev/wwatch descriptor
 *    that serves each (the layer's own for this process, a TARGETed one
 *    for another pid), checked against fstat() on every use;
 *  - the layer's own /dev/wwatch descriptors, which the program may not
 *    close (nor the write log's, see logfd.c).
 * A forked child starts with an empty table (pthread_atfork).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "compat.h"
#include "internal.h"
#include "sys.h"
#include "upstream.h"

enum cx_kind { E_OWN, E_UFFD, E_PAGEMAP };

struct cx_entry {
	enum cx_kind kind;
	int fd;			/* the program's fd (E_OWN: ours) */
	int wfd;		/* E_UFFD: attached to; E_PAGEMAP: serves it,
				 * -1 for a file that is not a pagemap */
	/* E_OWN */
	unsigned int nattached;
	/* E_UFFD */
	struct ww_rangeset ranges;
	/* E_PAGEMAP */
	dev_t dev;
	ino_t ino;
	bool owns_wfd;		/* wfd is TARGETed at another pid */
	int refs;		/* scans in flight */
	bool dead;		/* out of the table; free at refs == 0 */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cx_entry **tab;
static size_t ntab, captab;
static int tracked;		/* ntab, readable without the lock */

bool cx_tracking(void)
{
	return __atomic_load_n(&tracked, __ATOMIC_ACQUIRE) != 0;
}

static struct cx_entry *find(int fd, int kind)
{
	size_t i;

	for (i = 0; i < ntab; i++)
		if (tab[i]->fd == fd && (kind < 0 || (int)tab[i]->kind == kind))
			return tab[i];
	return NULL;
}

static struct cx_entry *insert(enum cx_kind kind, int fd, int wfd)
{
	struct cx_entry *e, **t;

	if (ntab == captab) {
		t = realloc(tab, (captab ? captab * 2 : 16) * sizeof(*t));
		if (!t)
			return NULL;
		tab = t;
		captab = captab ? captab * 2 : 16;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->kind = kind;
	e->fd = fd;
	e->wfd = wfd;
	tab[ntab++] = e;
	__atomic_store_n(&tracked, (int)ntab, __ATOMIC_RELEASE);
	return e;
}

static void unlink_entry(struct cx_entry *e)
{
	size_t i;

	for (i = 0; i < ntab; i++) {
		if (tab[i] == e) {
			tab[i] = tab[--ntab];
			break;
		}
	}
	__atomic_store_n(&tracked, (int)ntab, __ATOMIC_RELEASE);
}

static void free_entry(struct cx_entry *e)
{
	if (e->kind == E_PAGEMAP && e->owns_wfd)
		ww_close(e->wfd);
	ww_rangeset_free(&e->ranges);
	free(e);
}

/* Drops a pagemap entry, now or when its last scan finishes. */
static void drop_pagemap(struct cx_entry *e)
{
	unlink_entry(e);
	if (e->refs)
		e->dead = true;
	else
		free_entry(e);
}

static struct cx_entry *own_entry(struct cx_entry *skip_full_of)
{
	size_t i;

	for (i = 0; i < ntab; i++)
		if (tab[i]->kind == E_OWN && tab[i] != skip_full_of &&
		    tab[i]->nattached < WWATCH_MAX_ATTACH)
			return tab[i];
	return NULL;
}

static struct cx_entry *new_own(int *err)
{
	struct cx_entry *e;
	int fd = cx_open_wwatch();

	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	e = insert(E_OWN, fd, fd);
	if (!e) {
		ww_close(fd);
		*err = -ENOMEM;
	}
	return e;
}

/* The first of our /dev/wwatch files: it scans this process. */
static int self_wfd(void)
{
	struct cx_entry *e;
	size_t i;
	int err = 0;

	for (i = 0; i < ntab; i++)
		if (tab[i]->kind == E_OWN)
			return tab[i]->fd;
	e = new_own(&err);
	return e ? e->fd : err;
}

/* Attaches to one of our files, a new one when all are full. */
static struct cx_entry *attach_own(struct wwatch_attach *a, int *err)
{
	struct cx_entry *own;

	for (;;) {
		own = own_entry(NULL);
		if (!own)
			own = new_own(err);
		if (!own)
			return NULL;
		*err = ww_ioctl(own->fd, WWATCH_IOC_ATTACH, a);
		if (!*err)
			return own;
		if (*err != -ENOSPC)
			return NULL;
		own->nattached = WWATCH_MAX_ATTACH;	/* full: next one */
	}
}

int cx_attach_uffd(int uffd)
{
	struct wwatch_attach a = { .size = sizeof(a), .uffd = uffd };
	struct cx_entry *own = NULL, *stale, *u;
	int err, wfd;

	pthread_mutex_lock(&lock);
	stale = find(uffd, E_UFFD);	/* closed behind our back */
	if (stale) {
		unlink_entry(stale);
		free_entry(stale);
	}
	/* Not logged is better than not served: fall back to ours. */
	err = cx_log_attach(uffd);
	wfd = cx_log_fd();
	if (err) {
		own = attach_own(&a, &err);
		wfd = own ? own->fd : -1;
	}
	if (!err) {
		u = insert(E_UFFD, uffd, wfd);
		if (u && own) {
			own->nattached++;
		} else if (!u) {
			ww_ioctl(wfd, WWATCH_IOC_DETACH, &a);
			err = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&lock);
	return err;
}

void cx_uffd_range(int uffd, unsigned long start, unsigned long len, bool add)
{
	struct cx_entry *e;

	pthread_mutex_lock(&lock);
	e = find(uffd, E_UFFD);
	if (e && len && start + len > start) {
		if (add)
			ww_rangeset_add(&e->ranges, start, start + len);
		else
			ww_rangeset_remove(&e->ranges, start, start + len);
	}
	pthread_mutex_unlock(&lock);
}

int cx_uffd_scan_fd(int uffd, int *wfd)
{
	int ret = 1;

	pthread_mutex_lock(&lock);
	if (find(uffd, E_UFFD)) {
		/* Ours, never the log's: that one targets `wwatch log`. */
		*wfd = self_wfd();
		ret = *wfd < 0 ? *wfd : 0;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

static void release_uffd(struct cx_entry *e)
{
	struct wwatch_attach a = { .size = sizeof(a), .uffd = e->fd };
	struct cx_entry *own = find(e->wfd, E_OWN);
	struct uffdio_range r;
	size_t i;

	for (i = 0; i < e->ranges.n; i++) {
		r.start = e->ranges.v[i].start;
		r.len = e->ranges.v[i].end - e->ranges.v[i].start;
		ww_ioctl(e->fd, UFFDIO_UNREGISTER, &r);
	}
	ww_ioctl(e->wfd, WWATCH_IOC_DETACH, &a);
	if (own && own->nattached)
		own->nattached--;
	unlink_entry(e);
	free_entry(e);
}

bool cx_forget_fd(int fd)
{
	struct cx_entry *e;
	bool ok = true;

	if (fd >= 0 && fd == cx_log_fd())
		return false;
	pthread_mutex_lock(&lock);
	while ((e = find(fd, -1))) {
		if (e->kind == E_OWN) {
			ok = false;
			break;
		}
		if (e->kind == E_UFFD)
			release_uffd(e);
		else
			drop_pagemap(e);
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

/* What serves scans of the file at fd; wfd -1 when it is no pagemap. */
static int classify(int fd, const struct stat *st, struct cx_entry **out)
{
	struct wwatch_target t = { .size = sizeof(t) };
	char link[64], path[PATH_MAX];
	struct statfs sf;
	struct cx_entry *e;
	pid_t pid = -1;
	ssize_t n;
	int wfd = -1, err;
	bool owns = false;

	if (S_ISREG(st->st_mode) && !fstatfs(fd, &sf) &&
	    sf.f_type == WW_PROC_SUPER_MAGIC) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		if (n > 0) {
			path[n] = 0;
			pid = ww_pagemap_pid(path);
		}
	}
	if (pid > 0 && pid == getpid()) {
		wfd = self_wfd();
		if (wfd < 0)
			return wfd;
	} else if (pid > 0) {
		wfd = cx_open_wwatch();
		if (wfd < 0)
			return wfd;
		t.pid = pid;
		err = ww_ioctl(wfd, WWATCH_IOC_TARGET, &t);
		if (err) {
			ww_close(wfd);
			return err;
		}
		owns = true;
	}
	e = insert(E_PAGEMAP, fd, wfd);
	if (!e) {
		if (owns)
			ww_close(wfd);
		return -ENOMEM;
	}
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->owns_wfd = owns;
	*out = e;
	return 0;
}

int cx_get_scan_fd(int fd, int *wfd, void **token)
{
	struct cx_entry *e;
	struct stat st;
	int ret;

	if (fstat(fd, &st))
		return 1;	/* let the real call report EBADF */
	pthread_mutex_lock(&lock);
	e = find(fd, E_PAGEMAP);
	if (e && (e->dev != st.st_dev || e->ino != st.st_ino)) {
		drop_pagemap(e);	/* another file now has this number */
		e = NULL;
	}
	ret = e ? 0 : classify(fd, &st, &e);
	if (!ret && e->wfd < 0)
		ret = 1;
	if (!ret) {
		e->refs++;
		*wfd = e->wfd;
		*token = e;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

void cx_put_scan_fd(void *token)
{
	struct cx_entry *e = token;

	pthread_mutex_lock(&lock);
	if (!--e->refs && e->dead)
		free_entry(e);
	pthread_mutex_unlock(&lock);
}

void cx_fdtable_lock(void)
{
	pthread_mutex_lock(&lock);
}

void cx_fdtable_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

void cx_fdtable_child(void)
{
	size_t i;

	/*
	 * The child's copies of our /dev/wwatch files serve the parent's
	 * memory and the parent's attachments: drop them all.  The child's
	 * memory lost its uffd registrations at fork (no EVENT_FORK).
	 * Entries with scans in flight belonged to threads that do not exist
	 * here, so everything can go.
	 */
	for (i = 0; i < ntab; i++) {
		if (tab[i]->kind == E_OWN)
			ww_close(tab[i]->fd);
		free_entry(tab[i]);
	}
	ntab = 0;
	__atomic_store_n(&tracked, 0, __ATOMIC_RELEASE);
	pthread_mutex_init(&lock, NULL);
}
