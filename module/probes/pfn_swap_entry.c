// SPDX-License-Identifier: GPL-2.0
/* Probe: is_pfn_swap_entry() and pfn_swap_entry_to_page() exist (>= 5.14). */
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/swapops.h>

static struct page * __maybe_unused probe_pfn_swap(swp_entry_t entry)
{
	return is_pfn_swap_entry(entry) ? pfn_swap_entry_to_page(entry) : NULL;
}
