// SPDX-License-Identifier: GPL-2.0
/* Probe: uffd-wp PTE markers exist (>= 5.19, CONFIG_PTE_MARKER_UFFD_WP). */
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/userfaultfd_k.h>

static bool __maybe_unused probe_marker(pte_t pte)
{
	return pte_swp_uffd_wp_any(pte) ||
	       is_pte_marker(make_pte_marker(PTE_MARKER_UFFD_WP));
}
