// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Argument checks shared by the public calls, kept pure so the unit tests
 * can pin down exactly which negative errno each bad argument gives.
 */
#include <errno.h>
#include "internal.h"

int ww_check_sized(const void *p, size_t user_size, size_t known)
{
	const unsigned char *b = p;
	size_t i;

	if (user_size < sizeof(size_t))
		return -EINVAL;
	for (i = known; i < user_size; i++)
		if (b[i])
			return -EINVAL;
	return 0;
}

int ww_check_range(uint64_t addr, uint64_t len, uint64_t page, uint64_t *end)
{
	uint64_t e;

	if (addr & (page - 1) || !len)
		return -EINVAL;
	if (__builtin_add_overflow(addr, len, &e) ||
	    __builtin_add_overflow(e, page - 1, &e))
		return -EOVERFLOW;
	*end = e & ~(page - 1);
	return 0;
}
