/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Swapping wwatch.ko for another build inside one guest boot, so the log
 * figure can compare the engine with and without the write log compiled
 * in (WWATCH_NO_LOG=1, module/Kbuild) side by side, in interleaved
 * rounds; and unloading it, so the hook-cost figure can compare the
 * machine with and without the module.  Plain delete_module/finit_module
 * system calls: nothing may hold /dev/wwatch open at the time.
 */
#ifndef WWATCH_BENCH_MODSWAP_H
#define WWATCH_BENCH_MODSWAP_H

/*
 * Unloads wwatch (if loaded), loads the module file @path and waits for
 * /dev/wwatch; returns the milliseconds it took, or dies saying why.
 */
double modswap_load(const char *path);
/* Unloads wwatch if loaded; returns the milliseconds it took, or dies. */
double modswap_unload(void);
/* The normal module: --log-ko, else where DKMS installs it. */
const char *modswap_ko(void);

#endif
