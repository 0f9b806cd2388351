// SPDX-License-Identifier: GPL-2.0
/* Probe: hugetlb pages can carry the uffd-wp bit (>= 5.19). */
#include <linux/hugetlb.h>

static bool __maybe_unused probe_hugetlb_wp(pte_t pte)
{
	return huge_pte_uffd_wp(huge_pte_clear_uffd_wp(pte));
}
