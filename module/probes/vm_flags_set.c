// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: VMA flags are changed through vm_flags_set()/vm_flags_clear()
 * (>= 6.3), after which vma->vm_flags is read-only.
 */
#include <linux/mm.h>

static void __maybe_unused probe_vm_flags(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_DONTEXPAND);
	vm_flags_clear(vma, VM_MAYEXEC);
}
