# SPDX-License-Identifier: LGPL-2.1-or-later
"""The write log's tables (issue 10) for render.py: reads DIR/log-<series>.csv
(wwatch-bench --figures log-cost,log-crossover, one boot per kernel) and
writes DIR/results-log.md, which render.py --update puts between the
bench-log markers of docs/benchmarks.md.  Kept apart from render.py so
each file stays about one set of figures.  Standard library only.
"""
import os

from render import fnum, fratio, load_prefixed, pct, val, write_section

BEGIN, END = "<!-- bench-log:begin -->", "<!-- bench-log:end -->"
CONFIGS = [("seq", 1), ("rand", 1), ("seq", 2), ("rand", 2)]
VARIANTS = ["no-log-build", "log-off", "log-on", "log-full"]
LOG_CYCLES = ["log-page", "log-run", "log-block", "log-rearm", "log-drain"]


def load(d):
    return load_prefixed(d, "log-")


def cfg_label(o, t):
    return "%s, %d thread%s" % (o, t, "s" if t > 1 else "")


def lc(s, mech, o, t, metric):
    rows = s.find(figure="log_cost", mech=mech, variant=o, threads=t, metric=metric)
    return rows[0] if rows else None


def spread(r, fmt=fnum):
    v = val(r)
    if v is None:
        return "n/a" if r is None or not r["note"] else "n/a: " + r["note"]
    return "%s [%s–%s]" % (fmt(v), fmt(val(r, "min")), fmt(val(r, "max")))


def ratio_spread(r):
    v = val(r)
    if v is None:
        return "n/a"
    if val(r, "min") == val(r, "max"):
        return fratio(v)
    return "%s [%s–%s]" % (fratio(v), fnum(val(r, "min"), 2), fnum(val(r, "max"), 2))


def iqr_spread(r):
    """Median [min–max], interquartile range: the builds' per-round ratios."""
    if val(r) is None:
        return "n/a"
    return "%s (IQR %s–%s)" % (ratio_spread(r), fnum(val(r, "p25"), 2), fnum(val(r, "p75"), 2))


def fpct(frac):
    return "%.3g%%" % (frac * 100)


def cost_tables(series):
    out = ["First write per page, by module build and log state: ns per page, median [min–max] "
           "over every timed pass; faults per page; every pass checked (log-on: each page "
           "logged once, nothing dropped; log-full: every event dropped).", "",
           "| kernel | variant | " + " | ".join(cfg_label(o, t) for o, t in CONFIGS)
           + " | faults / page | check |", "|---" * (len(CONFIGS) + 4) + "|"]
    for s in series:
        for m in VARIANTS:
            r0 = lc(s, m, "seq", 1, "ns_per_page")
            if r0 is None:
                continue
            if r0["note"]:
                out.append("| %s | %s | n/a: %s |%s" % (s.name, m, r0["note"], " |" * (len(CONFIGS) + 1)))
                continue
            wrong = sum(val(lc(s, m, o, t, "passes_wrong")) or 0 for o, t in CONFIGS)
            out.append("| %s | %s | %s | %s | %s |" % (
                s.name, m, " | ".join(spread(lc(s, m, o, t, "ns_per_page")) for o, t in CONFIGS),
                fnum(val(lc(s, m, "seq", 1, "faults_per_page")), 2),
                "ok" if not wrong else "**%d passes wrong**" % wrong))
    def ci(fmt):
        def cell(s, m, o, t, metric):
            r = lc(s, m, o, t, metric)
            lo, hi = val(lc(s, m, o, t, metric + "_ci95_lo")), val(lc(s, m, o, t, metric + "_ci95_hi"))
            if val(r) is None or lo is None:
                return "n/a"
            return "%s (CI %s – %s)" % (fmt(val(r)), fnum(lo, 2 if fmt is fratio else 0),
                                        fnum(hi, 2 if fmt is fratio else 0))
        return cell

    def plain(fmt):
        return lambda s, m, o, t, metric: fmt(lc(s, m, o, t, metric))

    rows = [("log-off / no-log-build (per-round medians)", "log-off", "ratio_to_no_log_build", plain(iqr_spread)),
            ("control: log-off, reloaded / log-off (per-round medians)", "log-off", "reload_control",
             plain(iqr_spread)),
            ("log-off / no-log-build, best-of-N (fastest passes)", "log-off", "best_ratio_to_no_log_build",
             plain(ratio_spread)),
            ("control, best-of-N", "log-off", "best_reload_control", plain(ratio_spread)),
            ("log-on / log-off (per pass)", "log-on", "ratio_to_log_off", ci(fratio)),
            ("log-on − log-off, ns per event (TCG)", "log-on", "extra_ns_per_event", ci(fnum)),
            ("log-full / log-off (per pass)", "log-full", "ratio_to_log_off", ci(fratio)),
            ("log-full − log-off, ns per event (TCG)", "log-full", "extra_ns_per_event", ci(fnum)),
            ("consumer: drain, ns per entry (TCG)", "log-on", "drain_ns_per_entry", plain(spread))]
    out += ["", "Ratios and differences (same boot).  Builds: one ratio per round of module swaps, median "
            "[min–max] and interquartile range.  Log states: one per pass (the variants take turns), median "
            "and the distribution-free 95% confidence interval of the median (CI).", "",
            "| kernel | comparison | " + " | ".join(cfg_label(o, t) for o, t in CONFIGS) + " |",
            "|---" * (len(CONFIGS) + 2) + "|"]
    for s in series:
        for label, m, metric, fmt in rows:
            cells = [fmt(s, m, o, t, metric) for o, t in CONFIGS]
            if all(c.startswith("n/a") for c in cells):
                continue
            out.append("| %s | %s | %s |" % (s.name, label, " | ".join(cells)))
    return out


def pooled(s, metric):
    """Median and 95% CI of the per-round ratio over all configurations."""
    def one(name):
        rows = s.find(figure="log_cost", mech="log-off", variant="all", metric=name)
        return val(rows[0]) if rows else None
    return one(metric), one(metric + "_ci95_lo"), one(metric + "_ci95_hi")


def off_verdicts(series):
    """log-off vs no-log-build: not measurable while the confidence
    interval of the median per-round ratio contains 1."""
    out = []
    for s in series:
        b, c = pooled(s, "ratio_to_no_log_build"), pooled(s, "reload_control")
        if None in b or None in c:
            continue
        ok = b[1] <= 1 <= b[2]
        bound = max(abs(b[1] - 1), abs(b[2] - 1)) * 100
        out.append("| %s | %s [%s–%s] | %s [%s–%s] | %s (resolution ±%.0f%%) |" % (
            s.name, fratio(b[0]), fnum(b[1], 3), fnum(b[2], 3), fratio(c[0]), fnum(c[1], 3),
            fnum(c[2], 3), "**met**: no measurable difference" if ok else "**missed**", bound))
    if not out:
        return []
    return ["Target (issue 10): with no log set up, the fault path costs nothing measurable against the "
            "engine built without the log.  One ratio per round of module swaps (the geometric mean over "
            "the four configurations), its median and the distribution-free 95% confidence interval of "
            "that median; measurable means the interval excludes 1.  The control is the same ratio between "
            "two loads of the very same module.", "",
            "| kernel | log-off / no-log-build, median [95% CI] | control: reloaded / log-off, median [95% CI] "
            "| verdict |", "|---|---|---|---|"] + out


def xc(s, mech, pages, frac, metric):
    return s.get("log_crossover", mech, "", pages, frac, 1, metric)


def cross_tables(series):
    out = []
    for s in series:
        pages = sorted({int(r["pages"]) for r in s.find(figure="log_crossover", metric="ms_per_interval")
                        if not r["note"]})
        if not pages:
            continue
        out += ["", "#### Log vs scan on %s: consumer ms per interval, median [min–max], **× scan** "
                "(median of per-repetition ratios)" % s.label(), "",
                "| range | written (pages) | scan | " + " | ".join(LOG_CYCLES) + " | writes, ns/page: log off / on |",
                "|---" * (len(LOG_CYCLES) + 4) + "|"]
        for p in pages:
            fracs = sorted({float(r["frac"]) for r in s.find(figure="log_crossover", pages=p,
                                                               metric="ms_per_interval")})
            for f in fracs:
                cells = []
                for m in ["scan"] + LOG_CYCLES:
                    r = xc(s, m, p, f, "ms_per_interval")
                    x = val(xc(s, m, p, f, "ratio_to_scan"))
                    bad = val(xc(s, m, p, f, "pages_wrong"))
                    cells.append("%s%s%s" % (spread(r), "" if x is None else " **%s**" % fratio(x),
                                             " (%d pages wrong)" % bad if bad else ""))
                out.append("| %d MiB | %s (%s) | %s | %s / %s |" % (
                    p * 4096 >> 20, pct(f), fnum(val(xc(s, "scan", p, f, "pages_written")), 0),
                    " | ".join(cells), fnum(val(xc(s, "scan", p, f, "write_ns_per_page"))),
                    fnum(val(xc(s, "log-page", p, f, "write_ns_per_page")))))
    rows = []
    for s in series:
        pages = sorted({int(r["pages"]) for r in s.find(figure="log_crossover", metric="crossover_frac")})
        for p in pages:
            cells = []
            for m in LOG_CYCLES:
                r = s.find(figure="log_crossover", mech=m, pages=p, metric="crossover_frac")
                if not r:
                    cells.append("n/a")
                    continue
                v, kind = val(r[0]), r[0]["variant"]
                cells.append({"below": "< %s (dearer at every fraction)",
                              "above": "> %s (cheaper at every fraction)"}.get(kind, "%s") % fpct(v))
            rows.append("| %s | %d MiB | %s |" % (s.name, p * 4096 >> 20, " | ".join(cells)))
    if rows:
        out += ["", "#### Crossover: the written fraction above which scanning is cheaper than the log",
                "", "Interpolated between the two measured fractions around ratio 1 (log of the ratio "
                "linear in log of the fraction, at the fractions actually written).", "",
                "| kernel | range | " + " | ".join(LOG_CYCLES) + " |", "|---" * (len(LOG_CYCLES) + 2) + "|"] + rows
    return out


def render(d, run):
    """Writes DIR/results-log.md; returns False when there is no log CSV."""
    series = load(d)
    if not series:
        return False
    md = []
    for s in series:
        md.append("- **%s**: %s; %s CPUs, %s MiB; module swaps %s; `%s`; `%s`" % (
            s.name, s.label(), s.meta.get("cpus", "?"), s.meta.get("mem_mib", "?"),
            s.meta.get("log_module_swap", "n/a"), s.meta.get("log_cost_options", "?"),
            s.meta.get("log_crossover_options", "?")))
    verdicts = off_verdicts(series)
    if verdicts:
        md += [""] + verdicts
    md += ["", "#### Cost per event", ""] + cost_tables(series) + cross_tables(series)
    write_section(d, "results-log.md", run, md)
    return True
