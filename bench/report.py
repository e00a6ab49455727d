#!/usr/bin/env python3
"""Benchmark report generator: docs/benchmarks.md and SVG charts from one run.

Reads the runner's output directory (results.csv, expected.txt, machine.txt),
validates it and fails closed (exit 1, nothing written) on a missing,
duplicate, extra, failed, zero or malformed row. Every number in the report
comes from those files; the only hand-written text is the analysis in
bench/analysis.md, which is copied in verbatim and carries no results of this
run (what it quotes, instruction counts and bench/ab.sh medians, comes each
with the command, machine and date that produced it).

Python 3 standard library only (no matplotlib: the charts are plain SVG).

    report.py --results DIR --check
    report.py --results DIR --out docs/benchmarks.md --charts docs/bench
"""
import argparse
import csv
import datetime
import math
import os
import subprocess
import sys

HEADER = ("suite,placement,scenario,family,transport,tier,target_rps,samples,status,unit,"
          "throughput,achieved_rps,p50_ns,p95_ns,p99_ns,max_ns,client_cpu_ns_per_req,"
          "server_cpu_ns_per_req,cpu_ns_per_req,client_cpu_pct,server_cpu_pct,"
          "client_allocs_per_req,server_allocs_per_req,client_rss_kb,server_rss_kb,spread,"
          "reference,target_ratio,client_sleeps_per_req,server_sleeps_per_req").split(",")
STATUSES = {"ok", "unstable", "missed-target"}
FAMILIES = {"library", "reference", "comparison", "go"}
STABILITY_LIMIT = 1.35
NOISE_LIMIT = 10.0  # % of one CPU used by others (median over samples) before the report warns

COLORS = {"library": "#2f6fb0", "reference": "#9a9a9a", "comparison": "#d08a2c", "go": "#3a9a5b"}
PCT_COLORS = [("p50_ns", "#2f6fb0"), ("p95_ns", "#6aa84f"), ("p99_ns", "#d08a2c")]


class ReportError(Exception):
    pass


def fail(msg):
    raise ReportError(msg)


# ----------------------------------------------------------------- loading

def num(row, key, positive=True, dash_ok=False):
    v = row[key]
    if v == "-":
        if dash_ok:
            return None
        fail(f"{row_key(row)}: {key} is '-'")
    try:
        x = float(v)
    except ValueError:
        fail(f"{row_key(row)}: {key} = {v!r} is not a number")
    if math.isnan(x) or math.isinf(x) or x < 0:
        fail(f"{row_key(row)}: {key} = {v!r}")
    if positive and x <= 0:
        fail(f"{row_key(row)}: {key} is zero")
    return x


def row_key(row):
    return (row["placement"], row["scenario"], row["tier"])


def load(results_dir):
    paths = {n: os.path.join(results_dir, n) for n in ("results.csv", "expected.txt", "machine.txt")}
    for n, p in paths.items():
        if not os.path.isfile(p):
            fail(f"missing {p}")
    machine = {}
    with open(paths["machine.txt"]) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                machine[k] = v
    for k in ("cpu_model", "cores_online", "kernel", "start_utc", "end_utc", "suite", "samples"):
        if k not in machine:
            fail(f"machine.txt: no {k} (did the run finish?)")
    expected = []
    with open(paths["expected.txt"]) as f:
        for line in f:
            line = line.strip()
            if line:
                parts = line.split(",")
                if len(parts) != 3:
                    fail(f"expected.txt: malformed line {line!r}")
                expected.append(tuple(parts))
    if len(set(expected)) != len(expected):
        fail("expected.txt: duplicate rows")
    with open(paths["results.csv"], newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != HEADER:
            fail("results.csv: header differs from the expected one")
        rows = []
        for n, rec in enumerate(reader, start=2):
            if len(rec) != len(HEADER):
                fail(f"results.csv line {n}: {len(rec)} fields, expected {len(HEADER)}")
            rows.append(dict(zip(HEADER, rec)))
    counting = machine.get("alloc_counting") == "yes"
    seen = {}
    for r in rows:
        k = row_key(r)
        if k in seen:
            fail(f"duplicate row {k}")
        seen[k] = r
        validate(r, counting, machine["suite"])
    missing = [k for k in expected if k not in seen]
    extra = [k for k in seen if k not in set(expected)]
    if missing:
        fail(f"{len(missing)} planned rows missing, e.g. {missing[0]}")
    if extra:
        fail(f"{len(extra)} rows that were not planned, e.g. {extra[0]}")
    for r in rows:
        ref = r["reference"]
        if ref != "-" and (r["placement"], ref, r["tier"]) not in seen and r["tier"] == "max":
            if machine["suite"] != "quick" or ref_in_suite(ref, seen):
                fail(f"{row_key(r)}: reference row {ref} missing")
    return machine, rows, seen


def ref_in_suite(ref, seen):
    return any(k[1] == ref for k in seen)


def validate(r, counting, suite):
    k = row_key(r)
    if r["status"] == "failed":
        fail(f"{k}: failed (see the runner's log)")
    if r["status"] not in STATUSES:
        fail(f"{k}: unknown status {r['status']!r}")
    if r["family"] not in FAMILIES:
        fail(f"{k}: unknown family {r['family']!r}")
    if r["suite"] != suite:
        fail(f"{k}: suite {r['suite']} in a {suite} run")
    if r["tier"] != "max" and r["tier"] != r["target_rps"]:
        fail(f"{k}: tier and target_rps disagree")
    local = r["transport"] == "in-process"
    for key in ("throughput", "achieved_rps", "p50_ns", "p95_ns", "p99_ns", "max_ns",
                "client_cpu_ns_per_req", "cpu_ns_per_req", "client_cpu_pct", "client_rss_kb",
                "spread"):
        num(r, key)
    for key in ("server_cpu_ns_per_req", "server_cpu_pct", "server_rss_kb"):
        v = num(r, key, dash_ok=local)
        if local and v is not None:
            fail(f"{k}: in-process row with a server {key}")
    num(r, "client_allocs_per_req", positive=False, dash_ok=not counting)
    num(r, "server_allocs_per_req", positive=False, dash_ok=local or not counting)
    num(r, "target_ratio", positive=False)
    num(r, "client_sleeps_per_req", positive=False)
    num(r, "server_sleeps_per_req", positive=False, dash_ok=local)
    if int(r["samples"]) < 1:
        fail(f"{k}: no samples")
    if not (float(r["p50_ns"]) <= float(r["p95_ns"]) <= float(r["p99_ns"]) <= float(r["max_ns"])):
        fail(f"{k}: percentiles out of order")


# ----------------------------------------------------------------- format

def si(x, unit=""):
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.2f}{suffix}{unit}"
    return f"{x:.0f}{unit}"


def ns(x):
    x = float(x)
    if x >= 1e6:
        return f"{x / 1e6:.2f} ms"
    if x >= 1e3:
        return f"{x / 1e3:.1f} µs"
    return f"{x:.0f} ns"


def allocs(v):
    return "n/a" if v == "-" else ("0" if float(v) == 0 else f"{float(v):.3f}")


def dash(v, fmt):
    return "–" if v == "-" else fmt(v)


# ----------------------------------------------------------------- svg

def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def log_chart(title, groups, series_legend, unit_note, axis=None):
    """Horizontal bars on a log10 axis.

    groups: [(label, [(value, color, text, bar_label)])]; bar_label (may be
    empty) is written left of its own bar, the group label left of the first.
    """
    axis = axis or si
    values = [b[0] for _, bars in groups for b in bars if b[0] > 0]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)) + 0.35)
    left, right, bar_h, gap, top = 250, 230, 13, 9, 58
    width = 980
    plot_w = width - left - right
    height = top + sum(len(b) * bar_h + gap for _, b in groups) + 48

    def xpos(v):
        return left + plot_w * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" '
           f'font-weight="bold">{esc(title)}</text>',
           f'<text x="{width / 2}" y="36" text-anchor="middle" fill="#555">{esc(unit_note)}</text>']
    lx = left
    for name, color in series_legend:
        out.append(f'<rect x="{lx}" y="43" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{lx + 14}" y="52">{esc(name)}</text>')
        lx += 14 + 7 * len(name) + 20
    decade = lo
    while decade <= hi * 1.0001:
        x = xpos(decade)
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 40}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 26}" text-anchor="middle" '
                   f'fill="#555">{axis(decade)}</text>')
        decade *= 10
    y = top
    for label, bars in groups:
        block = len(bars) * bar_h
        if all(not b[3] for b in bars):
            out.append(f'<text x="{left - 8}" y="{y + block / 2 + 4:.1f}" text-anchor="end">'
                       f'{esc(label)}</text>')
        for v, color, text, bar_label in bars:
            if bar_label:
                out.append(f'<text x="{left - 8}" y="{y + bar_h - 3}" text-anchor="end" '
                           f'fill="{"#000" if bar_label == label else "#666"}">'
                           f'{esc(bar_label)}</text>')
            if v > 0:
                x1 = xpos(v)
                out.append(f'<rect x="{left}" y="{y}" width="{max(x1 - left, 1):.1f}" '
                           f'height="{bar_h - 2}" fill="{color}"/>')
                out.append(f'<text x="{x1 + 4:.1f}" y="{y + bar_h - 3}" fill="#333">'
                           f'{esc(text)}</text>')
            y += bar_h
        y += gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


def throughput_chart(rows, placement):
    groups, done = [], set()
    by_name = {r["scenario"]: r for r in rows}
    for r in rows:
        if r["scenario"] in done:
            continue
        bars = [(float(r["throughput"]), COLORS[r["family"]],
                 f'{si(float(r["throughput"]))} {r["unit"]}', r["scenario"])]
        done.add(r["scenario"])
        ref = by_name.get(r["reference"])
        label = r["scenario"]
        if ref is not None and ref["scenario"] not in done:
            ratio = float(r["throughput"]) / float(ref["throughput"])
            bars[0] = bars[0][:2] + (f'{bars[0][2]}  ({ratio:.2f} × reference)', bars[0][3])
            bars.append((float(ref["throughput"]), COLORS["reference"],
                         f'{si(float(ref["throughput"]))} {ref["unit"]}', ref["scenario"]))
            done.add(ref["scenario"])
        groups.append((label, bars))
    legend = [("library", COLORS["library"]), ("reference (plain syscalls)", COLORS["reference"]),
              ("comparison", COLORS["comparison"]), ("Go (go/, alone and with C)", COLORS["go"])]
    return log_chart(f"Throughput at max rate, placement {placement}", groups, legend,
                     "log scale; batch and 1,000-key lookup rows count items (keys)/s, "
                     "cache rows lookups/s; "
                     "each library row is followed by its reference row")


def latency_chart(rows, title, note):
    groups = []
    for r in rows:
        bars = [(float(r[k]), c, ns(r[k]), "") for k, c in PCT_COLORS]
        label = r["scenario"] if r["tier"] == "max" else f'{r["scenario"]} @ {si(float(r["tier"]))}/s'
        groups.append((label, bars))
    legend = [("p50", PCT_COLORS[0][1]), ("p95", PCT_COLORS[1][1]), ("p99", PCT_COLORS[2][1])]
    return log_chart(title, groups, legend, note, axis=ns)


# ----------------------------------------------------------------- report

def git_facts(repo):
    def run(*args):
        try:
            return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    commit = run("rev-parse", "--short", "HEAD") or "unknown"
    dirty = run("status", "--porcelain", "--untracked-files=no")
    return commit + (" (with uncommitted changes)" if dirty else "")


# Targets between two library rows (issue 13), beside each row's own target
# against its reference: (placement, row, compared with, required ratio).
# The sealed profile against upstream's file-backed one, and lookups with a
# read guard each on two threads against one thread.
LIBRARY_TARGETS = [
    ("split", "sealed-ping-pong", "shm-ping-pong", 3.0),
    ("same", "sealed-ping-pong", "shm-ping-pong", 1.0),
    ("split", "sealed-batch", "shm-batch", 1.0),
    ("same", "sealed-batch", "shm-batch", 1.0),
    ("split", "sealed-snapshot-1000", "shm-snapshot-1000", 1.0),
    ("same", "sealed-snapshot-1000", "shm-snapshot-1000", 1.0),
    ("split", "cache-guarded-r2", "cache-guarded-r1", 1.8),
]


def targets(seen, machine, placements):
    """(placement, name, library row, reference row, ratio, required, verdict)."""
    pairs = []
    for p in placements:
        for (pl, scen, tier), r in sorted(seen.items()):
            if pl != p or tier != "max" or r["reference"] == "-" or float(r["target_ratio"]) <= 0:
                continue
            pairs.append((p, r, r["reference"], float(r["target_ratio"])))
        for pl, scen, other, need in LIBRARY_TARGETS:
            r = seen.get((p, scen, "max"))
            if pl == p and r is not None:
                pairs.append((p, r, other, need))
    out = []
    for p, r, other, need in pairs:
        ref = seen.get((p, other, "max"))
        if ref is None:
            continue
        ratio = float(r["throughput"]) / float(ref["throughput"])
        verdict = "PASS" if ratio >= need else "FAIL"
        if r["status"] != "ok" or ref["status"] != "ok":
            verdict += " (unstable row)"
        out.append((p, f"{r['scenario']} ≥ {need:.2f} × {other}", r, ref, ratio, need, verdict))
    return out


def alloc_verdict(rows, placement):
    lib = [r for r in rows if r["placement"] == placement and r["family"] == "library"]
    bad = [r for r in lib if r["client_allocs_per_req"] not in ("0.0000",)
           or r["server_allocs_per_req"] not in ("0.0000", "-")]
    if any(r["client_allocs_per_req"] == "-" for r in lib):
        return "NOT MEASURED", "allocation counting was compiled out"
    if bad:
        return "FAIL", ", ".join(sorted({r["scenario"] for r in bad}))
    return "PASS", f"{len(lib)} library rows, every sample, both sides"


def load_profile(path):
    """bench/profile.sh output: scenario -> (client, server or None)."""
    prof = {}
    with open(path, newline="") as f:
        reader = csv.reader(f)
        if next(reader, None) != ["scenario", "client_instructions_per_request",
                                  "server_instructions_per_request"]:
            fail(f"{path}: not a bench/profile.sh output")
        for rec in reader:
            if len(rec) != 3 or not rec[1].isdigit() or not (rec[2].isdigit() or rec[2] == "-"):
                fail(f"{path}: malformed line {rec!r}")
            if int(rec[1]) <= 0:
                fail(f"{path}: zero count for {rec[0]}")
            prof[rec[0]] = (int(rec[1]), None if rec[2] == "-" else int(rec[2]))
    if not prof:
        fail(f"{path}: empty")
    return prof


def render_profile(prof, rows):
    refs = {}
    for r in rows:
        if r["reference"] != "-":
            refs[r["scenario"]] = r["reference"]
    L = ["## Profile: user-space instructions per request\n",
         "Counted by `valgrind --tool=callgrind` (`bench/profile.sh`, run by `make bench` right "
         "after the suite): instructions of each side's request loop divided by its requests "
         "(per lookup for the cache rows). Counts do not depend on the machine's load. Kernel "
         "work (system calls, wake-ups) is not included; spin-waiting adds a timing-dependent "
         "share to the SHM rows.\n",
         "| library row | client | server | reference row | client | server | library ÷ reference |",
         "|---|---:|---:|---|---:|---:|---:|"]
    for name, (c, sv) in prof.items():
        ref = refs.get(name)
        if ref is None or ref not in prof:
            continue
        rc, rs = prof[ref]
        total = c + (sv or 0)
        rtotal = rc + (rs or 0)
        L.append(f"| {name} | {c:,} | {'–' if sv is None else f'{sv:,}'} | {ref} | {rc:,} | "
                 f"{'–' if rs is None else f'{rs:,}'} | {total / rtotal:.1f} |")
    L.append("")
    return "\n".join(L)


def render(machine, rows, seen, chart_dir_rel, analysis, repo, prof=None):
    placements = []
    for r in rows:
        if r["placement"] not in placements:
            placements.append(r["placement"])
    L = []
    L.append("# Benchmarks\n")
    L.append("Generated by `bench/report.py` from one run of `bench/netipc_bench run` "
             f"(`make bench`, suite `{machine['suite']}`). Every number below comes from that "
             "run's CSV" + (" (kept in `docs/bench/data/`)" if machine["suite"] == "full" else "")
             + "; do not edit by hand, run `make bench` again.\n")
    noise = float(machine.get("foreign_cpu_pct_median", "0") or 0)
    if noise > NOISE_LIMIT:
        L.append(f"> **Not an idle machine:** other processes used a median {noise:.0f} % of a CPU "
                 "during the samples. Treat these numbers as indicative only.\n")
    L.append("## Machine and run\n")
    L.append("| | |\n|---|---|")
    facts = [
        ("CPU", machine["cpu_model"]), ("cores online", machine["cores_online"]),
        ("kernel", machine["kernel"]), ("run started (UTC)", machine["start_utc"]),
        ("run ended (UTC)", machine["end_utc"]),
        ("git commit", machine.get("git_commit") or git_facts(repo)),
        ("load average (1 min) at start / end",
         f'{machine.get("start_load1", "?")} / {machine.get("end_load1", "?")}'),
        ("CPU used by other processes during the samples (median / p90 / max, % of one CPU)",
         f'{machine.get("foreign_cpu_pct_median", "?")} / {machine.get("foreign_cpu_pct_p90", "?")}'
         f' / {machine.get("foreign_cpu_pct_max", "?")}'),
        ("samples measured again because others were busy (limit % of one CPU)",
         f'{machine.get("noise_retries", "?")} (above {machine.get("noise_limit_pct", "?")} %)'),
        ("samples per row", machine["samples"]),
        ("sample length", f'{machine.get("seconds_max", "?")} s (max rate), '
                          f'{machine.get("seconds_fixed", "?")} s (fixed rates), after '
                          f'{machine.get("warm", "?")} s warm-up'),
        ("CPUs used", f'client on CPU {machine.get("cpu_client", "?")}; server on the same CPU '
                      f'(`same`) or on CPU {machine.get("cpu_server_split", "?")} (`split`)'),
        ("allocation counting", machine.get("alloc_counting", "?")),
    ]
    for k, v in facts:
        L.append(f"| {k} | {v} |")
    L.append("")
    L.append("## How to read this\n")
    L.append("- Each row is a fresh server process and a fresh client process per sample, pinned "
             "by `sched_setaffinity`: `same` = both on one CPU, `split` = one CPU each. "
             "In-process rows (cache, hash) run in one pinned process.")
    L.append(f"- {machine['samples']} samples per row; the published value is the trimmed median "
             "(lowest and highest sample dropped). A row whose kept samples (all samples when fewer "
             "than five) spread more than "
             f"max/min > {STABILITY_LIMIT} is flagged `unstable` (throughput at max rate, p50 "
             "latency at fixed rates); fixed-rate rows that achieve less than 98 % of their "
             "target are flagged `missed-target`. Flagged rows stay in the tables.")
    L.append("- The machine may be shared. For each sample the runner measures the CPU used by "
             "other processes meanwhile; a sample where they used more than "
             f"{machine.get('noise_limit_pct', '?')} % of a CPU is measured again (at most twice, "
             "within a budget of a fifth of the run's samples) and the quietest attempt is kept. "
             "Every attempt is in `samples.csv`.")
    L.append("- Latency is per request (per call for batch, snapshot and lookup rows), measured by the "
             "client around each call, from a log-linear histogram (< 1.6 % bucket error). In-"
             "process rows report the mean of each block of 1,024 lookups.")
    L.append("- CPU is `getrusage` of each process over the timed window, divided by the requests "
             "(calls) of the window; sleeps are its voluntary context switches per request (how "
             "often a side waited for the other). Allocations are counted by the bench binary's own `malloc` "
             "(every allocation in the process, libraries included) and reported per request; "
             "the worst sample is shown.")
    L.append("- Reference rows use plain system calls and no netipc code (`bench/bench_raw.c`); "
             "the ratio column is library ÷ reference in the same run and placement.")
    if any(r["family"] == "go" for r in rows):
        L.append("- Go rows (family `go`) run the pure-Go implementation (`go/`, roles in "
                 "`go/cmd/netipc-bench-go`): `go-*` is a Go client with a Go server, `go2c-*` a Go "
                 "client with the C library's server, `c2go-*` a C client with a Go server; each is "
                 "compared with the C library row named after the prefix, with the same limits, data "
                 "and checks. A Go role's allocations are the Go runtime's heap allocations "
                 "(`runtime.MemStats.Mallocs`) over the window.")
    L.append("")

    L.append("## Targets\n")
    L.append("| placement | target | library | reference | ratio | verdict |")
    L.append("|---|---|---:|---:|---:|---|")
    for p, name, r, ref, ratio, need, verdict in targets(seen, machine, placements):
        L.append(f"| {p} | {name} | {si(float(r['throughput']))} {r['unit']} | "
                 f"{si(float(ref['throughput']))} {ref['unit']} | {ratio:.3f} | **{verdict}** |")
    for p in placements:
        verdict, detail = alloc_verdict(rows, p)
        L.append(f"| {p} | zero allocations per request in steady state, both sides | | | | "
                 f"**{verdict}** ({detail}) |")
    L.append("")

    for p in placements:
        prow = [r for r in rows if r["placement"] == p]
        maxrows = [r for r in prow if r["tier"] == "max"]
        L.append(f"## Placement `{p}`\n")
        L.append(f"![throughput, {p}]({chart_dir_rel}/throughput-{p}.svg)\n")
        L.append(f"![latency, {p}]({chart_dir_rel}/latency-{p}.svg)\n")
        L.append("### Max rate\n")
        L.append("| scenario | what | throughput | vs ref | p50 | p95 | p99 | max | CPU ns/req "
                 "client / server | CPU % client / server | sleeps/req client / server | "
                 "allocs/req client / server | peak RSS client / server | spread | status |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in maxrows:
            ref = seen.get((p, r["reference"], "max"))
            vs = f'{float(r["throughput"]) / float(ref["throughput"]):.3f}' if ref else ""
            L.append(
                f'| {r["scenario"]} | {r["family"]}, {r["transport"]} | '
                f'{si(float(r["throughput"]))} {r["unit"]} | {vs} | {ns(r["p50_ns"])} | '
                f'{ns(r["p95_ns"])} | {ns(r["p99_ns"])} | {ns(r["max_ns"])} | '
                f'{float(r["client_cpu_ns_per_req"]):.0f} / '
                f'{dash(r["server_cpu_ns_per_req"], lambda v: f"{float(v):.0f}")} | '
                f'{float(r["client_cpu_pct"]):.0f} / '
                f'{dash(r["server_cpu_pct"], lambda v: f"{float(v):.0f}")} | '
                f'{float(r["client_sleeps_per_req"]):.2f} / '
                f'{dash(r["server_sleeps_per_req"], lambda v: f"{float(v):.2f}")} | '
                f'{allocs(r["client_allocs_per_req"])} / {allocs(r["server_allocs_per_req"])} | '
                f'{float(r["client_rss_kb"]) / 1024:.1f} / '
                f'{dash(r["server_rss_kb"], lambda v: f"{float(v) / 1024:.1f}")} MiB | '
                f'{float(r["spread"]):.2f} | {r["status"]} |')
        fixed = [r for r in prow if r["tier"] != "max"]
        if fixed:
            L.append("\n### Fixed rates\n")
            L.append(f"![latency at fixed rates, {p}]({chart_dir_rel}/latency-fixed-{p}.svg)\n")
            L.append("| scenario | target | achieved | p50 | p95 | p99 | max | CPU ns/req client "
                     "/ server | CPU % client / server | allocs/req client / server | status |")
            L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
            for r in fixed:
                L.append(
                    f'| {r["scenario"]} | {si(float(r["target_rps"]))}/s | '
                    f'{si(float(r["achieved_rps"]))}/s | {ns(r["p50_ns"])} | {ns(r["p95_ns"])} | '
                    f'{ns(r["p99_ns"])} | {ns(r["max_ns"])} | '
                    f'{float(r["client_cpu_ns_per_req"]):.0f} / '
                    f'{float(r["server_cpu_ns_per_req"]):.0f} | '
                    f'{float(r["client_cpu_pct"]):.1f} / {float(r["server_cpu_pct"]):.1f} | '
                    f'{allocs(r["client_allocs_per_req"])} / '
                    f'{allocs(r["server_allocs_per_req"])} | {r["status"]} |')
        L.append("")
    L.append("## Scenarios\n")
    L.append("| scenario | family | transport | reference |")
    L.append("|---|---|---|---|")
    names = []
    for r in rows:
        if r["scenario"] not in names:
            names.append(r["scenario"])
            L.append(f'| {r["scenario"]} | {r["family"]} | {r["transport"]} | '
                     f'{"" if r["reference"] == "-" else r["reference"]} |')
    L.append("")
    if prof:
        L.append(render_profile(prof, rows))
    if analysis:
        L.append(analysis.rstrip() + "\n")
    return "\n".join(L)


def charts(rows, placements):
    out = {}
    for p in placements:
        maxrows = [r for r in rows if r["placement"] == p and r["tier"] == "max"]
        out[f"throughput-{p}.svg"] = throughput_chart(maxrows, p)
        lat = [r for r in maxrows if r["transport"] != "in-process"]
        out[f"latency-{p}.svg"] = latency_chart(
            lat, f"Latency per request at max rate, placement {p}",
            "log scale; one request (one call for batch, snapshot and lookup rows)")
        fixed = [r for r in rows if r["placement"] == p and r["tier"] != "max"]
        if fixed:
            out[f"latency-fixed-{p}.svg"] = latency_chart(
                fixed, f"Latency per request at fixed rates, placement {p}",
                "log scale; paced client, one request at a time")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True, help="the runner's --out directory")
    ap.add_argument("--check", action="store_true", help="validate only")
    ap.add_argument("--out", help="markdown file to write")
    ap.add_argument("--charts", help="directory for the SVG charts")
    ap.add_argument("--analysis", help="hand-written analysis to append (no results of this run)")
    ap.add_argument("--profile", help="bench/profile.sh output to include")
    args = ap.parse_args()
    try:
        machine, rows, seen = load(args.results)
        placements = []
        for r in rows:
            if r["placement"] not in placements:
                placements.append(r["placement"])
        svgs = charts(rows, placements)
        if args.check:
            print(f"report: {len(rows)} rows valid")
            return 0
        if not args.out or not args.charts:
            fail("--out and --charts are required unless --check")
        analysis = ""
        if args.analysis:
            with open(args.analysis) as f:
                analysis = f.read()
        repo = os.path.dirname(os.path.abspath(__file__))
        rel = os.path.relpath(args.charts, os.path.dirname(os.path.abspath(args.out)))
        prof = load_profile(args.profile) if args.profile else None
        text = render(machine, rows, seen, rel, analysis, repo, prof)
    except ReportError as e:
        print(f"report: REFUSED: {e}", file=sys.stderr)
        return 1
    os.makedirs(args.charts, exist_ok=True)
    for name, svg in svgs.items():
        with open(os.path.join(args.charts, name), "w") as f:
            f.write(svg)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"report: wrote {args.out} and {len(svgs)} charts in {args.charts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
