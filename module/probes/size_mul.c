// SPDX-License-Identifier: GPL-2.0
/* Probe: the saturating size_mul() exists (>= 5.18). */
#include <linux/overflow.h>

static size_t __maybe_unused probe_size_mul(size_t a, size_t b)
{
	return size_mul(a, b);
}
