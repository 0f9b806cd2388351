#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turns a scripts/bench results directory into docs-ready output.

Reads DIR/run.txt and DIR/<series>.csv (one per kernel series, written by
wwatch-bench --csv -) and writes DIR/results.md (Markdown tables: the
targets of issue 7 marked met or missed with their ratios, the issue-4
first-write ratios, every figure), DIR/*.dat and DIR/plot.gp (gnuplot:
collection cost against region size and written fraction, per mechanism).
DIR/log-<series>.csv (the write log's boots) become DIR/results-log.md
(render_log.py), DIR/hook-<series>.csv (the hook-cost boots)
DIR/results-hook.md (render_hook.py).  With --update FILE, replaces the
text between the bench markers of FILE with DIR/results.md, between the
bench-log markers with DIR/results-log.md and between the bench-hook
markers with DIR/results-hook.md, each only if it was rendered.  Standard
library only.
"""
import csv
import glob
import os
import sys

sys.dont_write_bytecode = True  # render_log.py imports this file: no __pycache__ in bench/

MECHS = ["wwatch", "native", "uffd-sync", "mprotect", "soft-dirty"]
STYLE = {"wwatch": ("#d62728", 7), "native": ("#1f77b4", 5), "uffd-sync": ("#9467bd", 9),
         "mprotect": ("#ff7f0e", 11), "soft-dirty": ("#2ca02c", 13)}
REFS = ["ref-store", "ref-fault"]
CONFIGS = [("seq", 1), ("rand", 1), ("seq", 2), ("rand", 2)]
SCENARIOS = ["scattered", "reads-only", "unpopulated", "thp", "fork"]
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
FIRST_WRITE_MAX = 1.25      # wwatch / native, 6.12
SYNC_MIN, MPROTECT_MIN = 10.0, 3.0
FLAT_MAX = 1.5              # max/min cost per GiB over the sizes
CHEAPER_MIN = 1.05          # "cheaper": by more than the noise of a tie


def series_order(s):
    return [int(x) if x.isdigit() else x for x in s.split(".")]


class Series:
    """One kernel series' CSV rows, indexed for lookups."""

    def __init__(self, name, path):
        self.name = name
        self.meta = {}
        self.rows = {}
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if r["figure"] == "meta":
                    self.meta[r["metric"]] = r["note"]
                    continue
                key = (r["figure"], r["mech"], r["variant"], int(r["pages"]),
                       float(r["frac"]), int(r["threads"]), r["metric"])
                self.rows[key] = r

    def get(self, figure, mech, variant, pages, frac, threads, metric):
        return self.rows.get((figure, mech, variant, pages, frac, threads,
                              metric))

    def find(self, **want):
        """Rows whose fields equal every keyword (figure=, mech=, ...)."""
        out = []
        for r in self.rows.values():
            if all(str(r[k]) == str(v) for k, v in want.items()):
                out.append(r)
        return out

    def label(self):
        return "%s (%s)" % (self.meta.get("kernel", self.name),
                            self.meta.get("timing", "?"))


def load_prefixed(d, prefix):
    """The Series of DIR/<prefix><series>.csv (the log and hook boots), in kernel order."""
    series = []
    for p in glob.glob(os.path.join(d, prefix + "*.csv")):
        if os.path.getsize(p):
            series.append(Series(os.path.basename(p)[len(prefix):-4], p))
    series.sort(key=lambda s: series_order(s.name))
    return series


def write_section(d, name, run, lines):
    """Writes DIR/NAME: the run (run.txt) under "#### Run", then @lines."""
    with open(os.path.join(d, name), "w") as f:
        f.write("\n".join(["#### Run", "", "```", run, "```", ""] + lines) + "\n")


def val(r, field="median"):
    if r is None or r["note"] or r[field] == "":
        return None
    return float(r[field])


def fnum(x, digits=None):
    if x is None:
        return "n/a"
    if digits is None:
        digits = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2 if abs(x) >= 1 else 3
    return "{:,.{}f}".format(x, digits)


def fratio(x):
    return "n/a" if x is None else "%s×" % fnum(x, 2 if x < 10 else 1 if x < 100 else 0)


def na_note(r):
    return "n/a" if r is None else "n/a: " + r["note"] if r["note"] else None


# --- first write ------------------------------------------------------------------

def fw_pages(s):
    rows = s.find(figure="first_write", metric="ns_per_page")
    return int(rows[0]["pages"]) if rows else 0


def fw(s, mech, order, threads, metric="ns_per_page"):
    return s.get("first_write", mech, order, fw_pages(s), 0.0, threads, metric)


def fw_ratio(s, mech, order, threads):
    """mech / wwatch: median of the per-repetition ratios."""
    return val(fw(s, mech, order, threads, "ratio_to_wwatch"))


def fw_best_ratio(s, mech, order, threads):
    """mech / wwatch from the fastest repetition of each (noise only adds)."""
    m, w = val(fw(s, mech, order, threads), "min"), val(fw(s, "wwatch", order, threads), "min")
    return m / w if m and w else None


def first_write_table(s):
    out = ["| mechanism | " + " | ".join("%s, %d thread%s" % (o, t, "s" if t > 1 else "")
                                         for o, t in CONFIGS)
           + " | faults / page | user-space trips / page | pages timed |",
           "|---" * (len(CONFIGS) + 4) + "|"]
    for m in MECHS + REFS:
        r0 = fw(s, m, "seq", 1)
        if r0 is None:
            continue
        if r0["note"]:
            out.append("| %s | n/a: %s |%s" % (m, r0["note"], " |" * (len(CONFIGS) + 2)))
            continue
        cells = []
        for o, t in CONFIGS:
            r = fw(s, m, o, t)
            ratio = fw_ratio(s, m, o, t)
            cells.append("%s [%s–%s]%s" % (fnum(val(r)), fnum(val(r, "min")),
                                             fnum(val(r, "max")),
                                             "" if ratio is None else " **%s**" % fratio(ratio)))
        faults = val(fw(s, m, "seq", 1, "faults_per_page"))
        up = val(fw(s, m, "seq", 1, "upcalls_per_page"))
        pages = [val(fw(s, m, o, t, "pages_timed")) for o, t in CONFIGS]
        out.append("| %s | %s | %s | %s | %s |" % (
            m, " | ".join(cells), fnum(faults, 2), fnum(up, 2),
            " / ".join(fnum(p, 0) for p in pages)))
    return out


# --- collection -------------------------------------------------------------------

def collect_sizes(s):
    return sorted({int(r["pages"]) for r in s.find(figure="collect", metric="ms_per_call")})


def collect_fracs(s, pages):
    return sorted({float(r["frac"]) for r in s.find(figure="collect", metric="ms_per_call",
                                                      pages=pages)})


def fracs_size(s):
    """The size that ran every written fraction (wwatch-bench --fracs-size,
    by default the largest): the one with the most fractions."""
    sizes = collect_sizes(s)
    return max(sizes, key=lambda p: (len(collect_fracs(s, p)), p)) if sizes else None


def growth_frac(s):
    sizes = collect_sizes(s)
    if len(sizes) < 2:
        return None
    fr = collect_fracs(s, sizes[0])
    return fr[0] if fr else None


def coll(s, mech, pages, frac, metric="ms_per_call"):
    return s.get("collect", mech, "", pages, frac, 1, metric)


def mib(pages):
    return pages * 4096 // (1 << 20)


def pct(frac):
    return ("%g%%" % (frac * 100))


def coll_ratio(s, mech, pages, frac):
    """mech / wwatch: paired (interleaved) when measured so, else of medians."""
    paired = val(coll(s, mech, pages, frac, "ratio_to_wwatch"))
    if paired is not None or mech == "wwatch":
        return 1.0 if mech == "wwatch" and val(coll(s, mech, pages, frac)) else paired
    w, m = val(coll(s, "wwatch", pages, frac)), val(coll(s, mech, pages, frac))
    return m / w if w and m else None


def coll_best_ratio(s, mech, pages, frac):
    m, w = val(coll(s, mech, pages, frac), "min"), val(coll(s, "wwatch", pages, frac), "min")
    return m / w if m and w else None


def collect_table(s):
    sizes = collect_sizes(s)
    if not sizes:
        return []
    big = fracs_size(s)
    fracs = collect_fracs(s, big)
    out = ["Region of %d MiB: ms per call, median [min–max], **× wwatch** (native: median of "
           "per-repetition ratios, the two interleaved; others: ratio of medians)" % mib(big), "",
           "| mechanism | " + " | ".join(pct(f) + " written" for f in fracs) + " |",
           "|---" * (len(fracs) + 1) + "|"]
    for m in MECHS:
        cells = []
        for f in fracs:
            r = coll(s, m, big, f)
            if na_note(r):
                cells.append(na_note(r))
                continue
            ratio = coll_ratio(s, m, big, f)
            wrong = val(coll(s, m, big, f, "pages_wrong"))
            cells.append("%s [%s–%s]%s%s" % (fnum(val(r)), fnum(val(r, "min")), fnum(val(r, "max")),
                                            "" if ratio is None else " **%s**" % fratio(ratio),
                                            " (%d pages wrong)" % wrong if wrong else ""))
        if all(c.startswith("n/a") for c in cells) and len(set(cells)) == 1:
            out.append("| %s | %s |%s" % (m, cells[0], " |" * (len(fracs) - 1)))
        else:
            out.append("| %s | %s |" % (m, " | ".join(cells)))
    split = []
    for m in MECHS:
        for f in fracs:
            g, t = val(coll(s, m, big, f, "ms_get_only")), val(coll(s, m, big, f))
            gr = val(coll(s, m, big, f, "get_ratio_to_wwatch"))
            if g is not None and t is not None:
                split.append("| %s | %s | %s | %s | %s | %s |" % (
                    m, pct(f), fnum(t), fnum(g), fnum(max(t - g, 0)),
                    "1.00×" if m == "wwatch" else ("–" if gr is None else fratio(gr))))
    if split:
        out += ["", "Where a get-and-reset goes at %d MiB: the get alone (a scan without "
                "WP_MATCHING, median of 5, taking turns with the other scan) and the rest "
                "(write protection, TLB flushes); the last column is the get alone against "
                "wwatch's, median of per-repetition ratios" % mib(big), "",
                "| mechanism | written | get + reset, ms | get alone, ms | protection, ms | get alone × wwatch |",
                "|---|---|---|---|---|---|"] + split
    gf = growth_frac(s)
    if gf is None:
        return out
    out += ["", "Growth at %s written: ms per GiB of region (median); flat means the last column stays near 1" % pct(gf), "",
            "| mechanism | " + " | ".join("%d MiB" % mib(p) for p in sizes) + " | max/min |",
            "|---" * (len(sizes) + 2) + "|"]
    for m in MECHS:
        vals = [val(coll(s, m, p, gf, "ms_per_gib")) for p in sizes]
        if all(v is None for v in vals):
            r = coll(s, m, sizes[0], gf)
            out.append("| %s | %s |%s" % (m, na_note(r) or "n/a", " |" * len(sizes)))
            continue
        good = [v for v in vals if v]
        out.append("| %s | %s | %s |" % (m, " | ".join(fnum(v) for v in vals),
                                          fratio(max(good) / min(good)) if good else "n/a"))
    lim = limit(s)
    if lim:
        out += ["", "Physical limit of a scan: %s bytes of page-table entries per GiB (a PTE per "
                "4 KiB page, a PMD entry per 2 MiB) read at %s GB/s (this guest's best sequential "
                "read of 256 MiB) = **%s ms per GiB**, against the ms per GiB above"
                % ("{:,}".format(int(lim[0])), fnum(lim[1]), fnum(lim[2]))]
    return out


def limit(s):
    """(page-table bytes per GiB, GB/s, ms per GiB) of the run, or None."""
    def one(metric):
        rows = s.find(figure="collect", mech="limit", metric=metric)
        return val(rows[0]) if rows else None
    gbps = one("read_gb_per_s")
    if not gbps:
        return None
    pt = (1 << 30) // 4096 * 8 + (1 << 30) // (2 << 20) * 8   # as wwatch-bench counts
    return [pt, gbps, pt / gbps / 1e6]


def growth_spread(s, mech, field="median"):
    gf = growth_frac(s)
    if gf is None:
        return None
    vals = [val(coll(s, mech, p, gf, "ms_per_gib"), field) for p in collect_sizes(s)]
    if not vals or any(v is None for v in vals):
        return None
    return max(vals) / min(vals)


# --- accuracy and steady state ----------------------------------------------------

def acc(s, mech, scen, metric):
    rows = s.find(figure="accuracy", mech=mech, variant=scen, metric=metric)
    return rows[0] if rows else None


def accuracy_table(series):
    out = ["| mechanism | scenario | " + " | ".join("%s: false+ / false− (runs wrong)" % s.name for s in series) + " |",
           "|---" * (len(series) + 2) + "|"]
    for m in MECHS:
        for sc in SCENARIOS:
            cells = []
            for s in series:
                fp = acc(s, m, sc, "false_positives")
                if na_note(fp):
                    cells.append(na_note(fp))
                    continue
                fn = acc(s, m, sc, "false_negatives")
                bad = acc(s, m, sc, "runs_wrong")
                wr = acc(s, m, sc, "pages_written")
                cells.append("%d / %d (%d) of %d" % (val(fp), val(fn), val(bad), val(wr)))
            out.append("| %s | %s | %s |" % (m, sc, " | ".join(cells)))
    return out


def steady(s, mech, metric):
    rows = s.find(figure="steady", mech=mech, metric=metric)
    return rows[0] if rows else None


def steady_table(s):
    cols = [("writes", "writes", 0), ("late_ticks_pct", "late ticks %", 1),
            ("busy_us_per_write", "µs / write", 2), (None, "× none", 2),
            ("overhead_pct_of_time", "overhead % of time", 1),
            ("collections", "collections", 0), ("collect_ms", "ms / collection", 2),
            ("lost_writes", "lost writes", 0), ("lost_pages", "lost pages", 0),
            ("false_positives", "false+ pages", 0)]
    out = ["| mechanism | " + " | ".join(c[1] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    base = val(steady(s, "none", "busy_us_per_write"))
    for m in ["none"] + MECHS:
        r = steady(s, m, "busy_us_per_write")
        if r is None:
            continue
        if r["note"]:
            out.append("| %s | n/a: %s |%s" % (m, r["note"], " |" * (len(cols) - 1)))
            continue
        cells = []
        for metric, _, d in cols:
            if metric is None:
                v = val(r) / base if base else None
                cells.append(fratio(v))
            else:
                cells.append(fnum(val(steady(s, m, metric)), d))
        out.append("| %s | %s |" % (m, " | ".join(cells)))
    return out


# --- targets ----------------------------------------------------------------------

def both(medians, bests):
    """'a / b / c (best-of-N: x / y / z)'."""
    text = " / ".join(fratio(x) for x in medians)
    if any(b is not None for b in bests):
        text += " (best-of-N: %s)" % " / ".join(fratio(x) for x in bests)
    return text


def verdict(ok, best_ok=None):
    """met / missed; where the fastest repetitions disagree with the
    medians, says which one meets the target."""
    if ok is None:
        return "n/a"
    if best_ok is None or best_ok == ok:
        return "**met**" if ok else "**missed**"
    return "**met** by the medians only" if ok else "**missed** by the medians, met by best-of-N"


def check(values, test):
    return None if not values or None in values else all(test(x) for x in values)


def targets(series, base=None):
    by = {s.name: s for s in series}
    rows = []

    def cfgs():
        return ", ".join("%s/%dT" % (o, t) for o, t in CONFIGS)

    s12, s61 = by.get("6.12"), by.get("6.1")
    if s12:
        rs, bs = [], []
        for o, t in CONFIGS:
            r, b = fw_ratio(s12, "native", o, t), fw_best_ratio(s12, "native", o, t)
            rs.append(None if not r else 1 / r)
            bs.append(None if not b else 1 / b)
        lim = lambda x: x <= FIRST_WRITE_MAX
        rows.append(("first write: wwatch ≤ %.2f× native" % FIRST_WRITE_MAX, "6.12",
                     both(rs, bs) + " (%s)" % cfgs(), verdict(check(rs, lim), check(bs, lim))))
    if s61:
        for mech, lim in (("uffd-sync", SYNC_MIN), ("mprotect", MPROTECT_MIN)):
            rs = [fw_ratio(s61, mech, o, t) for o, t in CONFIGS]
            bs = [fw_best_ratio(s61, mech, o, t) for o, t in CONFIGS]
            test = lambda x, lim=lim: x >= lim
            rows.append(("first write: wwatch ≥ %g× cheaper than %s" % (lim, mech), "6.1",
                         both(rs, bs) + " (%s)" % cfgs(), verdict(check(rs, test), check(bs, test))))
    for s in series:
        sizes = collect_sizes(s)
        if not sizes:
            continue
        big = fracs_size(s)
        fracs = collect_fracs(s, big)
        if s.name == "6.12":
            rs, bs = [], []
            for f in fracs:
                r, b = coll_ratio(s, "native", big, f), coll_best_ratio(s, "native", big, f)
                rs.append(1 / r if r else None)
                bs.append(1 / b if b else None)
            lim = lambda x: x <= FIRST_WRITE_MAX
            rows.append(("collection: wwatch ≤ %.2f× native (%d MiB)" % (FIRST_WRITE_MAX, mib(big)), s.name,
                         both(rs, bs) + " (%s written)" % ", ".join(pct(f) for f in fracs),
                         verdict(check(rs, lim), check(bs, lim))))
        rs = [coll_ratio(s, "soft-dirty", big, f) for f in fracs]
        bs = [coll_best_ratio(s, "soft-dirty", big, f) for f in fracs]
        cheaper = lambda x: x >= CHEAPER_MIN
        rows.append(("collection: wwatch cheaper than soft-dirty (soft-dirty / wwatch ≥ %g)" % CHEAPER_MIN, s.name,
                     both(rs, bs) + " (%s written)" % ", ".join(pct(f) for f in fracs),
                     verdict(check(rs, cheaper), check(bs, cheaper))))
        g, gb = growth_spread(s, "wwatch"), growth_spread(s, "wwatch", "min")
        gn = growth_spread(s, "native")
        rows.append(("collection: flat cost per GiB, %d–%d MiB (max/min of ms/GiB ≤ %g)" % (mib(sizes[0]), mib(sizes[-1]), FLAT_MAX),
                     s.name, both([g], [gb]) + ("" if gn is None else "; native: %s" % fratio(gn)),
                     verdict(check([g], lambda x: x <= FLAT_MAX), check([gb], lambda x: x <= FLAT_MAX))))
    native_fp = {}
    if s12:
        for sc in SCENARIOS:
            native_fp[sc] = val(acc(s12, "native", sc, "false_positives"))
    for s in series:
        fns, fps, extra = [], [], []
        for sc in SCENARIOS:
            fn = val(acc(s, "wwatch", sc, "false_negatives"))
            fp = val(acc(s, "wwatch", sc, "false_positives"))
            fns.append(fn)
            fps.append(fp)
            if fp and not native_fp.get(sc):
                extra.append("%s: %d" % (sc, fp))
        ok = None if None in fns else all(x == 0 for x in fns)
        rows.append(("accuracy: zero false negatives for wwatch", s.name,
                     "n/a" if ok is None else "%d false negatives over %s" % (sum(fns), ", ".join(SCENARIOS)),
                     verdict(ok)))
        ok = None if None in fps or not native_fp else not extra
        rows.append(("accuracy: false positives only where native (6.12) has them", s.name,
                     "n/a" if None in fps else ("none beyond native" if not extra else "; ".join(extra)),
                     verdict(ok)))
        lost = val(steady(s, "wwatch", "lost_writes"))
        rows.append(("steady state: no write lost by wwatch", s.name,
                     "n/a" if lost is None else "%d lost of %d writes" % (lost, val(steady(s, "wwatch", "writes"))),
                     verdict(None if lost is None else lost == 0)))
    out = ["Ratios are medians (first write, and wwatch vs native in the collection: medians of "
           "per-repetition ratios); best-of-N divides the fastest repetitions, which host contention "
           "cannot inflate.  A verdict says so when the two disagree.", "",
           "| target (issue 7) | kernel | measured | verdict |", "|---|---|---|---|"]
    out += ["| %s | %s | %s | %s |" % r for r in rows]
    out += ["", "Issue 18 (the scan against the kernel's own PAGEMAP_SCAN and soft-dirty):", "",
            "| target (issue 18) | kernel | measured | verdict |", "|---|---|---|---|"]
    out += ["| %s | %s | %s | %s |" % r for r in targets18(series, base or {})]
    return out


def fwb(s, order, threads, mech, metric):
    return s.get("fw_base", mech, order, int(s.find(figure="fw_base")[0]["pages"]), 0.0, threads, metric) \
        if s.find(figure="fw_base") else None


def base_table(base):
    out = ["ns per page of the first write (median over rounds of the round medians) under the "
           "baseline build and this checkout's, swapped round by round; the ratio is the median "
           "of per-round ratios [min–max], then best-of-N (fastest pass of each)", "",
           "| kernel | config | baseline, ns | wwatch, ns | wwatch / baseline | best-of-N |",
           "|---|---|---|---|---|---|"]
    for name in sorted(base, key=series_order):
        s = base[name]
        for o, t in CONFIGS:
            r = fwb(s, o, t, "wwatch", "ratio_to_base")
            if na_note(r) or r is None:
                out.append("| %s | %s/%dT | %s | | | |" % (name, o, t, na_note(r) or "n/a"))
                continue
            out.append("| %s | %s/%dT | %s | %s | %s [%s–%s] | %s |" % (
                name, o, t, fnum(val(fwb(s, o, t, "baseline", "ns_per_page"))),
                fnum(val(fwb(s, o, t, "wwatch", "ns_per_page"))), fratio(val(r)),
                fratio(val(r, "min")), fratio(val(r, "max")),
                fratio(val(fwb(s, o, t, "wwatch", "best_ratio_to_base")))))
    return out


def targets18(series, base):
    rows = []
    for name in sorted(base, key=series_order):
        s = base[name]
        rs = [val(fwb(s, o, t, "wwatch", "ratio_to_base")) for o, t in CONFIGS]
        bs = [val(fwb(s, o, t, "wwatch", "best_ratio_to_base")) for o, t in CONFIGS]
        lim = lambda x: x <= 1.05
        rows.append(("first write: ≤ 1.05× the baseline build (same boot)", name,
                     "n/a" if None in rs else both(rs, bs) + " (%s/%dT, %s/%dT, %s/%dT, %s/%dT)"
                     % tuple(x for c in CONFIGS for x in c),
                     verdict(check(rs, lim), check(bs, lim))))
    want = [0.001, 0.1, 1.0]
    for s in series:
        big = fracs_size(s)
        if big is not None and mib(big) == 1024 and s.name == "6.12":
            fr = [f for f in want if f in collect_fracs(s, big)]
            for what, metric, bestm in (("get-and-reset", "ratio_to_wwatch", "min"),
                                        ("walk alone (get without WP)", "get_ratio_to_wwatch", None)):
                rs, bs = [], []
                for f in fr:
                    r = val(coll(s, "native", big, f, metric))
                    rs.append(1 / r if r else None)
                    if bestm:
                        b = coll_best_ratio(s, "native", big, f)
                    else:
                        n = val(coll(s, "native", big, f, "ms_get_only"), "min")
                        w = val(coll(s, "wwatch", big, f, "ms_get_only"), "min")
                        b = n / w if n and w else None
                    bs.append(1 / b if b else None)
                lim = lambda x: x <= 1.0
                rows.append(("%s: wwatch ≤ 1.00× native, 1 GiB" % what, s.name,
                             both(rs, bs) + " (%s written)" % ", ".join(pct(f) for f in fr),
                             verdict(check(rs, lim), check(bs, lim))))
        if big is not None and mib(big) == 1024 and s.name == "6.1":
            lims = {0.001: 5.0, 0.1: 2.0, 1.0: 1.0}
            fr = [f for f in want if f in collect_fracs(s, big)]
            rs = [coll_ratio(s, "soft-dirty", big, f) for f in fr]
            bs = [coll_best_ratio(s, "soft-dirty", big, f) for f in fr]
            ok = None if None in rs or not rs else all(r >= lims[f] for r, f in zip(rs, fr))
            okb = None if None in bs or not bs else all(b >= lims[f] for b, f in zip(bs, fr))
            rows.append(("soft-dirty / wwatch ≥ 5 / 2 / 1.0, 1 GiB", s.name,
                         both(rs, bs) + " (%s written)" % ", ".join(pct(f) for f in fr),
                         verdict(ok, okb)))
        sizes = collect_sizes(s)
        if sizes:
            g, gb = growth_spread(s, "wwatch"), growth_spread(s, "wwatch", "min")
            span = "%d MiB–%d MiB" % (mib(sizes[0]), mib(sizes[-1]))
            if mib(sizes[0]) > 64 or mib(sizes[-1]) < 4096:
                rows.append(("flat cost per GiB within 1.25×, 64 MiB–4 GiB", s.name,
                             both([g], [gb]) + " over " + span,
                             "n/a: this run's sizes are %s (scripts/bench --growth-4g)" % span))
            else:
                lim = lambda x: x <= 1.25
                rows.append(("flat cost per GiB within 1.25×, 64 MiB–4 GiB", s.name,
                             both([g], [gb]) + " over " + span,
                             verdict(check([g], lim), check([gb], lim))))
    return rows


def issue4(series):
    out = ["| kernel | ratio (same boot) | " + " | ".join("%s, %d thread%s" % (o, t, "s" if t > 1 else "") for o, t in CONFIGS) + " |",
           "|---" * (len(CONFIGS) + 2) + "|"]
    for s in series:
        for mech, label, inv in (("uffd-sync", "synchronous uffd-wp / wwatch", False),
                                 ("mprotect", "mprotect+SIGSEGV / wwatch", False),
                                 ("native", "wwatch / native WP_ASYNC", True),
                                 ("soft-dirty", "soft-dirty / wwatch", False)):
            rs = [fw_ratio(s, mech, o, t) for o, t in CONFIGS]
            if all(r is None for r in rs):
                continue
            if inv:
                rs = [None if not r else 1 / r for r in rs]
            out.append("| %s | %s | %s |" % (s.name, label, " | ".join(fratio(r) for r in rs)))
    return out


# --- plot ---------------------------------------------------------------------------

def write_plot(d, series):
    panels = []
    for s in series:
        sizes = collect_sizes(s)
        gf = growth_frac(s)
        if not sizes:
            continue
        big = fracs_size(s)
        mechs = [m for m in MECHS if any(val(coll(s, m, p, f)) is not None
                                         for p in sizes for f in collect_fracs(s, p))]
        if not mechs:
            continue
        if gf is not None:
            name = "growth-%s.dat" % s.name
            with open(os.path.join(d, name), "w") as f:
                f.write("# size_MiB " + " ".join(mechs) + "\n")
                for p in sizes:
                    vs = [val(coll(s, m, p, gf, "ms_per_gib")) for m in mechs]
                    f.write("%d %s\n" % (mib(p), " ".join("?" if v is None else "%g" % v for v in vs)))
            panels.append((name, mechs, "%s: collection cost per GiB vs region size (%s written)" % (s.name, pct(gf)),
                           "region size (MiB)", "ms per GiB", 2))
        name = "fraction-%s.dat" % s.name
        with open(os.path.join(d, name), "w") as f:
            f.write("# written_pct " + " ".join(mechs) + "\n")
            for fr in collect_fracs(s, big):
                vs = [val(coll(s, m, big, fr)) for m in mechs]
                f.write("%g %s\n" % (fr * 100, " ".join("?" if v is None else "%g" % v for v in vs)))
        panels.append((name, mechs, "%s: one get+reset call on %d MiB vs written fraction" % (s.name, mib(big)),
                       "pages written (%)", "ms per call", 10))
    timing = series[0].meta.get("timing", "?") if series else "?"
    # libgd's png: a palette image, a fifth of pngcairo's size (committed).
    gp = ['set terminal png size 1000,%d font "DejaVuSans,8"' % (350 * max(1, (len(panels) + 1) // 2)),
          'set output "benchmarks.png"', 'set datafile missing "?"', "set key top left",
          "set grid", "set logscale y",
          'set multiplot layout %d,2 title "wwatch-bench (%s)"' % (max(1, (len(panels) + 1) // 2), timing)]
    for name, mechs, title, xl, yl, base in panels:
        gp += ['set title "%s"' % title, 'set xlabel "%s"' % xl, 'set ylabel "%s"' % yl,
               "set logscale x %d" % base,
               "plot " + ", ".join("'%s' using 1:%d title '%s' with linespoints lw 2 lc rgb '%s' pt %d"
                                   % (name, i + 2, m, STYLE[m][0], STYLE[m][1])
                                   for i, m in enumerate(mechs))]
    gp.append("unset multiplot")
    with open(os.path.join(d, "plot.gp"), "w") as f:
        f.write("\n".join(gp) + "\n")


# --- main -----------------------------------------------------------------------------

def render(d):
    import render_hook
    import render_log
    paths = [p for p in glob.glob(os.path.join(d, "*.csv"))
             if not os.path.basename(p).startswith(("log-", "hook-", "base-"))]
    series = []
    for p in paths:
        name = os.path.basename(p)[:-4]
        if os.path.getsize(p):
            series.append(Series(name, p))
    series.sort(key=lambda s: series_order(s.name))
    run = open(os.path.join(d, "run.txt")).read().strip() if os.path.exists(os.path.join(d, "run.txt")) else ""
    for stale in ("results.md", "results-log.md", "results-hook.md", "plot.gp"):
        if os.path.exists(os.path.join(d, stale)):
            os.remove(os.path.join(d, stale))
    has_log = render_log.render(d, run)
    has_hook = render_hook.render(d, run)
    base = {s.name: s for s in load_prefixed(d, "base-")}
    if not series:
        if base:    # scripts/bench --baseline-only
            md = ["### Run", "", "```", run, "```", "",
                  "| target (issue 18) | kernel | measured | verdict |", "|---|---|---|---|"]
            md += ["| %s | %s | %s | %s |" % r for r in targets18([], base)]
            md += ["", "### First write against the baseline build (scripts/bench --baseline, same boot)",
                   ""] + base_table(base)
            with open(os.path.join(d, "results.md"), "w") as f:
                f.write("\n".join(md) + "\n")
        elif not has_log and not has_hook:
            sys.exit("render: no results (*.csv) in %s" % d)
        return
    md = ["### Run", "", "```", run, "```", ""]
    for s in series:
        avail = ", ".join("%s: %s" % (k[5:], v) for k, v in sorted(s.meta.items()) if k.startswith("mech_"))
        md.append("- **%s**: %s; %s CPUs, %s MiB; THP `%s`; wwatch module %s. %s" % (
            s.name, s.label(), s.meta.get("cpus", "?"), s.meta.get("mem_mib", "?"), s.meta.get("thp", "?"),
            s.meta.get("wwatch_module", "?"), avail))
    md += ["", "Options: `%s`" % series[0].meta.get("options", "?"), "",
           "### Targets", ""] + targets(series, base)
    md += ["", "### First write: issue 4 ratios (median of per-repetition ratios, same boot)", ""] + issue4(series)
    if base:
        md += ["", "### First write against the baseline build (scripts/bench --baseline, same boot)", ""]
        md += base_table(base)
    for s in series:
        md += ["", "### First write on %s: ns per page, median [min–max], **× wwatch**" % s.label(), ""]
        md += first_write_table(s)
    for s in series:
        md += ["", "### Collection on %s" % s.label(), ""] + collect_table(s)
    md += ["", "### Accuracy", ""] + accuracy_table(series)
    for s in series:
        md += ["", "### Steady state on %s" % s.label(), ""] + steady_table(s)
    for s in series:
        prof = os.path.join(d, "profile-%s.txt" % s.name)
        if os.path.exists(prof):
            md += ["", "### Kernel calls per collection on %s (wwatch-bench-profile)" % s.label(), "",
                   "```", open(prof).read().strip(), "```"]
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    write_plot(d, series)


def update(doc, d):
    import render_hook
    import render_log
    text = open(doc).read()
    for name, begin, end in (("results.md", BEGIN, END),
                             ("results-log.md", render_log.BEGIN, render_log.END),
                             ("results-hook.md", render_hook.BEGIN, render_hook.END)):
        if not os.path.exists(os.path.join(d, name)):
            continue
        if begin not in text or end not in text:
            sys.exit("render: %s has no %s ... %s markers" % (doc, begin, end))
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        body = open(os.path.join(d, name)).read()
        text = head + begin + "\n" + body + end + tail
    with open(doc, "w") as f:
        f.write(text)


def main(argv):
    if len(argv) == 4 and argv[1] == "--update":
        update(argv[2], argv[3])
    elif len(argv) == 2:
        render(argv[1])
    else:
        sys.exit("usage: render.py DIR | render.py --update DOC DIR")


if __name__ == "__main__":
    main(sys.argv)
