/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The four figures of issue 7, one file each: first-write cost, collection
 * cost, accuracy and steady state; and the two of the write log (issue
 * 10): its cost per first write and its crossover with the scan; and
 * what loading the module costs processes that watch nothing (issue 16);
 * and the first write against a baseline build of the module (issue 18).  Each
 * prints its human table on stdout and adds its rows to the CSV report.
 */
#ifndef WWATCH_BENCH_FIGURES_H
#define WWATCH_BENCH_FIGURES_H

void fig_first_write(void);
void fig_collect(void);
void fig_accuracy(void);
void fig_steady(void);
void fig_log_cost(void);
void fig_log_cross(void);
void fig_hook_cost(void);
void fig_fw_base(void);

/* "TCG: ratios only", "KVM" or "bare metal": how far times mean anything. */
const char *timing_label(void);

#endif
