// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: flush_tlb_mm_range() has the signature symbols.h gives it.  x86
 * declares it for built-in code only (#ifndef MODULE), so symbols.h
 * cannot take its type with typeof; this probe reads the declaration
 * as built-in code and compares.  compat.h refuses to build without it:
 * a signature change must break the build, not the call.
 */
#undef MODULE
#include <linux/mm_types.h>
#include <asm/tlbflush.h>

static_assert(__builtin_types_compatible_p(typeof(&flush_tlb_mm_range),
		void (*)(struct mm_struct *, unsigned long, unsigned long,
			 unsigned int, bool)));
