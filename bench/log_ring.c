// SPDX-License-Identifier: LGPL-2.1-or-later
/* The write log's consumer side for the benchmark (see log_ring.h). */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "guest_util.h"
#include "log_ring.h"

int log_ring_open(struct log_ring *r, int wfd, uint32_t entries)
{
	struct wwatch_log_setup s = { .size = sizeof(s), .entries = entries };
	void *p;

	if (ioctl(wfd, WWATCH_IOC_LOG_SETUP, &s))
		return -errno;
	p = mmap(NULL, s.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, wfd,
		 0);
	if (p == MAP_FAILED)
		return -errno;
	r->h = p;
	r->e = (void *)((char *)p + s.entries_offset);
	r->map_len = s.mmap_size;
	r->n = entries;
	return 0;
}

void log_ring_close(struct log_ring *r)
{
	if (r->h)
		munmap(r->h, r->map_len);
	r->h = NULL;
}

uint32_t log_ring_entries_for(size_t events)
{
	uint32_t n = WWATCH_LOG_MIN_ENTRIES;

	while (n < events && n < WWATCH_LOG_MAX_ENTRIES)
		n <<= 1;
	return n;
}

long log_ring_drain(struct log_ring *r, uint64_t *addr, size_t max)
{
	uint64_t tail = r->h->tail, seq = tail;
	struct wwatch_log_entry *e;

	for (;; seq++) {
		e = &r->e[seq & (r->n - 1)];
		if (__atomic_load_n(&e->stamp, __ATOMIC_ACQUIRE) != seq + 1)
			break;
		if (seq - tail < max)
			addr[seq - tail] = e->addr;
	}
	__atomic_store_n(&r->h->tail, seq, __ATOMIC_RELEASE);
	return seq - tail > max ? -1 : (long)(seq - tail);
}

uint64_t log_ring_dropped(const struct log_ring *r)
{
	return __atomic_load_n(&r->h->dropped, __ATOMIC_ACQUIRE);
}

uint64_t wwatch_features(void)
{
	struct wwatch_version v = { .size = sizeof(v) };
	int fd = wt_wwatch_open();
	uint64_t f = 0;

	if (fd < 0)
		return 0;
	if (!ioctl(fd, WWATCH_IOC_VERSION, &v))
		f = v.features;
	close(fd);
	return f;
}
