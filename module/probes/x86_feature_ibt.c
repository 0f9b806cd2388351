// SPDX-License-Identifier: GPL-2.0
/* Probe: the kernel knows X86_FEATURE_IBT (Linux >= 5.18). */
#include <asm/cpufeature.h>

static bool __maybe_unused probe_ibt(void)
{
	return cpu_feature_enabled(X86_FEATURE_IBT);
}
