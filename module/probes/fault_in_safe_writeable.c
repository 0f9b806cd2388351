// SPDX-License-Identifier: GPL-2.0
/* Probe: fault_in_safe_writeable() exists (>= 5.16), which writes nothing. */
#include <linux/pagemap.h>

static size_t __maybe_unused probe_fault_in(const char __user *p, size_t n)
{
	return fault_in_safe_writeable(p, n);
}
