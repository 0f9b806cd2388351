# SPDX-License-Identifier: LGPL-2.1-or-later
"""The hook-cost table (issue 16) for render.py: reads DIR/hook-<series>.csv
(wwatch-bench --figures hook-cost, one boot per kernel) and writes
DIR/results-hook.md, which render.py --update puts between the bench-hook
markers of docs/benchmarks.md.  Kept apart from render.py so each file
stays about one set of figures.  Standard library only.
"""
import os

from render import fnum, fratio, load_prefixed, val, write_section

BEGIN, END = "<!-- bench-hook:begin -->", "<!-- bench-hook:end -->"
# Operation, what it is, and the functions wwatch.ko may hook on its path
# (bench/fig_hook_cost.c); the table keeps those the run saw hooked.
OPS = [
    ("ioctl-tcgets", "`ioctl(TCGETS)` on /dev/null (ENOTTY)", ["do_vfs_ioctl"]),
    ("ioctl-fionread", "`ioctl(FIONREAD)` on an empty pipe", ["do_vfs_ioctl"]),
    ("fault-read", "first read of fresh anonymous memory (zero page)", []),
    ("fault-write", "first write of fresh anonymous memory", []),
    ("cow-zero", "write after that read (copy of the zero page)", ["do_wp_page"]),
    ("cow-fork", "write to a page shared with a forked child (COW)", ["do_wp_page"]),
    ("uffd-api", "`UFFDIO_API`, no features, fresh userfaultfd",
     ["do_vfs_ioctl", "userfaultfd_ioctl"]),
    ("uffd-wake", "`UFFDIO_WAKE` of an empty range (EINVAL)", ["do_vfs_ioctl", "userfaultfd_ioctl"]),
    ("uffd-new-close", "`userfaultfd()` + `close()`", ["userfaultfd_release"]),
    ("mprotect", "`mprotect()` of one page, RO and RW in turn", ["change_protection"]),
    ("fork-exit", "`fork()`, the child `_exit()`s, `waitpid()`",
     ["do_wp_page", "dup_userfaultfd", "dup_userfaultfd_complete"]),
]


def load(d):
    return load_prefixed(d, "hook-")


def row(s, op, variant, metric):
    rows = s.find(figure="hook_cost", mech=op, variant=variant, metric=metric)
    return rows[0] if rows else None


def ratio_ci(s, op, metric):
    r = row(s, op, "", metric)
    lo, hi = val(row(s, op, "", metric + "_ci95_lo")), val(row(s, op, "", metric + "_ci95_hi"))
    if val(r) is None or lo is None:
        return None, "n/a" if r is None or not r["note"] else "n/a: " + r["note"]
    return (val(r), lo, hi), "%s [%s–%s]" % (fratio(val(r)), fnum(lo, 3), fnum(hi, 3))


def verdict(ratio, control):
    """A cost shows when the ratio's CI excludes 1 and the ratio is farther
    from 1 than the resolution: half the width of the control's CI."""
    if ratio is None or control is None:
        return "n/a"
    res = (control[2] - control[1]) / 2 * 100
    m, lo, hi = ratio
    if lo <= 1 <= hi:
        return "no difference (resolution ±%.0f%%)" % res
    if abs(m - 1) * 100 <= res:
        return "within the control's noise (±%.0f%%)" % res
    return "**%+.0f%%** (CI %+.0f%% to %+.0f%%; resolution ±%.0f%%)" % (
        (m - 1) * 100, (lo - 1) * 100, (hi - 1) * 100, res)


def table(series):
    out = ["Per operation: ns per operation with the module not loaded and loaded (median over every "
           "timed batch; TCG ns, not comparable with hardware), then one ratio per round (medians of "
           "the round's batches), its median and the distribution-free 95% confidence interval of "
           "that median.  The control divides two loads of the very same module: its interval is "
           "what a cost must exceed to show.  Best-of-N: the fastest batch loaded over the fastest "
           "not loaded (noise only ever adds time), and its control.  *Hooked on its path*: the functions on the operation's "
           "path that the run found hooked in ftrace's `enabled_functions` while loaded.", "",
           "| kernel | operation | hooked on its path | not loaded, ns | loaded, ns "
           "| loaded / not loaded [95% CI] | control: reloaded / loaded [95% CI] "
           "| best-of-N (control) | verdict |",
           "|---" * 9 + "|"]
    for s in series:
        hooked = s.meta.get("hook_cost_hooked", "").split()
        for op, what, path in OPS:
            r, rtext = ratio_ci(s, op, "ratio_loaded")
            c, ctext = ratio_ci(s, op, "reload_control")
            on_path = [f for f in path if f in hooked]
            best = val(row(s, op, "", "best_ratio_loaded"))
            bctl = val(row(s, op, "", "best_reload_control"))
            out.append("| %s | %s: %s | %s | %s | %s | %s | %s | %s | %s |" % (
                s.name, op, what, ", ".join("`%s`" % f for f in on_path) or "none",
                fnum(val(row(s, op, "not-loaded", "ns_per_op"))),
                fnum(val(row(s, op, "loaded", "ns_per_op"))), rtext, ctext,
                "n/a" if best is None else "%s (%s)" % (fratio(best), fratio(bctl)),
                verdict(r, c)))
    return out


def render(d, run):
    """Writes DIR/results-hook.md; returns False when there is no hook CSV."""
    series = load(d)
    if not series:
        return False
    md = []
    for s in series:
        md.append("- **%s**: %s; %s CPUs, %s MiB; `kernel_abi=%s`; hooked while loaded: %s; "
                  "module unload or load: %s; `%s`" % (
                      s.name, s.label(), s.meta.get("cpus", "?"), s.meta.get("mem_mib", "?"),
                      s.meta.get("hook_cost_kernel_abi", "?"),
                      ", ".join("`%s`" % f for f in s.meta.get("hook_cost_hooked", "?").split()),
                      s.meta.get("hook_cost_swaps", "n/a"), s.meta.get("hook_cost_options", "?")))
    md += ["", "#### Cost of the loaded module", ""] + table(series)
    write_section(d, "results-hook.md", run, md)
    return True
