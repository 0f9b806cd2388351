// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The consumer side of the write log's ring, kept free of system calls so
 * the unit tests run it on a fake ring in ordinary memory: checking the
 * options, the module's LOG_SETUP answer and the mapped header, then
 * reading published entries in order (uapi/linux/wwatch.h has the
 * protocol).  What the mapping says is read once, checked, and copied:
 * nothing read from it later can make this code step out of the ring.
 */
#include <errno.h>
#include <string.h>
#include "internal.h"

int ww_log_opts_read(const struct wwatch_log_opts *opts,
		     struct wwatch_log_opts *o)
{
	uint32_t n;
	int err;

	memset(o, 0, sizeof(*o));
	if (opts) {
		err = ww_check_sized(opts, opts->size, sizeof(*o));
		if (err)
			return err;
		memcpy(o, opts, opts->size < sizeof(*o) ? opts->size : sizeof(*o));
	}
	o->size = sizeof(*o);
	if (!o->entries)
		o->entries = WW_LOG_DEFAULT_ENTRIES;
	n = o->entries;
	if (o->flags & ~WWATCH_LOG_FLAGS || n < WWATCH_LOG_MIN_ENTRIES ||
	    n > WWATCH_LOG_MAX_ENTRIES || (n & (n - 1)))
		return -EINVAL;
	return 0;
}

int ww_log_check_setup(const struct wwatch_log_setup *s, uint32_t entries,
		       size_t page)
{
	uint64_t min, max;

	if (s->entries != entries || s->entries_offset % 8 ||
	    s->entries_offset < sizeof(struct wwatch_log_header) ||
	    s->entries_offset > WW_LOG_MAX_OFFSET)
		return -EPROTO;
	min = s->entries_offset + (uint64_t)entries *
	      sizeof(struct wwatch_log_entry);
	max = s->entries_offset + (uint64_t)entries * WW_LOG_MAX_ENTRY_SIZE +
	      page;
	if (s->mmap_size < min || s->mmap_size > max || s->mmap_size % page ||
	    s->mmap_size > SIZE_MAX)
		return -EPROTO;
	return 0;
}

int ww_log_bind(struct ww_log *l, void *map, size_t map_len,
		const struct wwatch_log_setup *s, uint32_t flags)
{
	const volatile struct wwatch_log_header *h = map;
	uint32_t entries, esz;

	if (map_len < sizeof(*h) || map_len != s->mmap_size)
		return -EPROTO;
	/* Read once: the checks and the use must see the same values. */
	entries = h->entries;
	esz = h->entry_size;
	if (entries != s->entries || h->flags != flags ||
	    h->entries_offset != s->entries_offset ||
	    esz < sizeof(struct wwatch_log_entry) || esz % 8 ||
	    esz > WW_LOG_MAX_ENTRY_SIZE ||
	    s->entries_offset + (uint64_t)entries * esz > map_len)
		return -EPROTO;
	l->map = map;
	l->map_len = map_len;
	l->hdr = map;
	l->slots = (unsigned char *)map + s->entries_offset;
	l->entries = entries;
	l->entry_size = esz;
	l->tail = 0;
	l->dropped_seen = 0;
	return 0;
}

static const struct wwatch_log_entry *slot(const struct ww_log *l,
					   uint64_t seq)
{
	return (const void *)(l->slots +
			      (size_t)(seq & (l->entries - 1)) * l->entry_size);
}

static bool published(const struct ww_log *l, uint64_t seq)
{
	return __atomic_load_n(&slot(l, seq)->stamp, __ATOMIC_ACQUIRE) ==
	       seq + 1;
}

/* A page start of a sane size: anything else is a module bug. */
static bool entry_ok(uint64_t addr, uint32_t shift)
{
	return shift >= 12 && shift <= 40 && !(addr & ((1ULL << shift) - 1));
}

/* How many drops the header reports since the last look. */
static uint64_t new_drops(struct ww_log *l)
{
	uint64_t d = __atomic_load_n(&l->hdr->dropped, __ATOMIC_ACQUIRE);
	/*
	 * It only grows.  If it went back, something wrote the shared page:
	 * claim a loss, so the caller scans, which is always right.
	 */
	uint64_t n = d >= l->dropped_seen ? d - l->dropped_seen : 1;

	l->dropped_seen = d;
	return n;
}

size_t ww_log_consume(struct ww_log *l, struct wwatch_log_event *ev,
		      size_t max, uint64_t *lost)
{
	uint64_t seq = l->tail, bad = 0;
	size_t n = 0;

	/* At most one lap: each slot is looked at once per call. */
	while (n < max && seq - l->tail < l->entries && published(l, seq)) {
		const struct wwatch_log_entry *e = slot(l, seq);
		uint64_t addr = __atomic_load_n(&e->addr, __ATOMIC_RELAXED);
		uint32_t shift = __atomic_load_n(&e->page_shift, __ATOMIC_RELAXED);

		if (!entry_ok(addr, shift)) {
			bad++;
		} else {
			ev[n].seq = seq;
			ev[n].addr = (void *)(uintptr_t)addr;
			ev[n].len = (size_t)1 << shift;
			ev[n].cpu = __atomic_load_n(&e->cpu, __ATOMIC_RELAXED);
			ev[n].tid = __atomic_load_n(&e->tid, __ATOMIC_RELAXED);
			n++;
		}
		seq++;
	}
	if (seq != l->tail) {
		/* Everything up to seq was read: the slots are free. */
		l->tail = seq;
		__atomic_store_n(&l->hdr->tail, seq, __ATOMIC_RELEASE);
	}
	*lost = new_drops(l) + bad;
	return n;
}

bool ww_log_ready(const struct ww_log *l)
{
	return published(l, l->tail) ||
	       __atomic_load_n(&l->hdr->dropped, __ATOMIC_ACQUIRE) !=
	       l->dropped_seen;
}
