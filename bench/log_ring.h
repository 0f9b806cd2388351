/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The consumer's side of the write log (uapi/linux/wwatch.h, "The write
 * log (ABI 1.1)"), through the raw ioctl and mmap and no library, so the
 * log figures time exactly what the kernel and a minimal consumer do:
 * set up and map a ring on an open /dev/wwatch, drain it.
 */
#ifndef WWATCH_BENCH_LOG_RING_H
#define WWATCH_BENCH_LOG_RING_H

#include <stddef.h>
#include <stdint.h>
#include "linux/wwatch.h"

struct log_ring {
	struct wwatch_log_header *h;
	struct wwatch_log_entry *e;
	size_t map_len;
	uint32_t n;		/* slots, a power of two */
};

/* Sets up a ring of @entries slots on @wfd and maps it; 0 or -errno. */
int log_ring_open(struct log_ring *r, int wfd, uint32_t entries);
void log_ring_close(struct log_ring *r);
/* The smallest ring (a power of two, at least the minimum) for @events. */
uint32_t log_ring_entries_for(size_t events);

/*
 * Reads every published entry from tail on, stores each page address in
 * @addr (at most @max; -1 if more were published than fit, so the caller
 * knows its buffer was short), frees the slots; returns the count.
 */
long log_ring_drain(struct log_ring *r, uint64_t *addr, size_t max);
uint64_t log_ring_dropped(const struct log_ring *r);

/* WWATCH_IOC_VERSION's feature bits of the loaded module, or 0. */
uint64_t wwatch_features(void);

#endif
