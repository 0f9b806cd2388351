// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A small set of address ranges: what a watcher has registered, so that
 * closing it can unregister every range before its userfaultfd goes away.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static int reserve(struct ww_rangeset *s, size_t n)
{
	struct ww_range *v;
	size_t cap;

	if (n <= s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 8;
	while (cap < n)
		cap *= 2;
	v = realloc(s->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->cap = cap;
	return 0;
}

/* Adds [start, end), merging with overlapping or adjacent ranges. */
int ww_rangeset_add(struct ww_rangeset *s, uint64_t start, uint64_t end)
{
	size_t i = 0, j;

	if (start >= end)
		return -EINVAL;
	while (i < s->n && s->v[i].end < start)
		i++;
	j = i;
	while (j < s->n && s->v[j].start <= end) {
		if (s->v[j].start < start)
			start = s->v[j].start;
		if (s->v[j].end > end)
			end = s->v[j].end;
		j++;
	}
	if (i == j) {		/* nothing merged: insert at i */
		if (reserve(s, s->n + 1))
			return -ENOMEM;
		memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(s->v[0]));
		s->n++;
	} else {		/* v[i..j) collapse into v[i] */
		memmove(&s->v[i + 1], &s->v[j], (s->n - j) * sizeof(s->v[0]));
		s->n -= j - i - 1;
	}
	s->v[i].start = start;
	s->v[i].end = end;
	return 0;
}

/* Removes [start, end), splitting a range that contains it. */
int ww_rangeset_remove(struct ww_rangeset *s, uint64_t start, uint64_t end)
{
	size_t i;

	if (start >= end)
		return -EINVAL;
	for (i = 0; i < s->n; i++) {
		struct ww_range *r = &s->v[i];

		if (r->end <= start || r->start >= end)
			continue;
		if (r->start < start && r->end > end) {	/* split */
			if (reserve(s, s->n + 1))
				return -ENOMEM;
			r = &s->v[i];
			memmove(&s->v[i + 1], r, (s->n - i) * sizeof(*r));
			s->n++;
			s->v[i].end = start;
			s->v[i + 1].start = end;
			return 0;
		}
		if (r->start < start) {
			r->end = start;
		} else if (r->end > end) {
			r->start = end;
		} else {
			memmove(r, r + 1, (s->n - i - 1) * sizeof(*r));
			s->n--;
			i--;
		}
	}
	return 0;
}

void ww_rangeset_free(struct ww_rangeset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
