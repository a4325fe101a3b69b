"""Reported results as one flat table, grouped into comparison cells.

A cell is every number measured the same way: same benchmark, subset, benchmark version, metric,
aggregate, p or k, baseline and hardware. Only numbers in one cell may be ranked against each
other; a cell is a leaderboard when at least two different works report in it. Everything that
reads results (the site's leaderboards, the results download, `python -m site_gen stats`) goes
through this module, so all of them agree on what is comparable.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry, Result
from site_gen.kb.result_checks import result_unit

WHOLE = "whole benchmark"
PRIORITY = ("kernelbench",)  # benchmarks listed first everywhere


@dataclass(frozen=True)
class CellKey:
    benchmark: str
    subset: str | None
    version: str | None
    metric: str
    aggregate: str
    p: float | None
    k: int | None
    baseline: str
    hardware: str | None

    @property
    def slug(self) -> str:
        """A stable, URL-safe id for the cell (used in anchors, downloads and URL state)."""
        parts = [
            self.benchmark,
            self.subset or "all",
            self.version or "",
            self.metric,
            self.aggregate,
            f"p{self.p:g}" if self.p is not None else "",
            f"k{self.k}" if self.k is not None else "",
            self.baseline,
            self.hardware or "",
        ]
        return re.sub(r"[^a-z0-9.]+", "-", "--".join(p for p in parts if p).lower()).strip("-")


@dataclass(frozen=True)
class Row:
    """One reported number with every name resolved: a line of the flat results table."""

    entry: Entry
    index: int  # position in the entry's results
    result: Result
    cell: CellKey
    benchmark_title: str
    subset_name: str
    metric_name: str
    aggregate_name: str
    baseline_name: str
    hardware_name: str
    unit: str
    higher_is_better: bool

    @property
    def metric_label(self) -> str:
        """E.g. "Speedup, geometric mean", "fast_p (p = 1)", "Correctness, pass@k (k = 10)"."""
        r = self.result
        if r.aggregate == "fast_p":
            return f"fast_p (p = {r.p:g})" if r.p is not None else "fast_p"
        if r.aggregate == "pass-at-k":
            return f"pass@k (k = {r.k})" if r.k is not None else "pass@k"
        return f"{self.metric_name}, {self.aggregate_name.lower()}"

    @property
    def value_label(self) -> str:
        value = f"{self.result.value:g}"
        return {"%": f"{value}%", "x": f"{value}×"}.get(self.unit, value)

    @property
    def provenance(self) -> str:
        """Where the number is read: "arXiv 2507.14111v8, Table 2" or the URL's location."""
        r = self.result
        if r.arxiv:
            return f"arXiv {r.arxiv}, {r.source}"
        return r.source

    @property
    def link(self) -> str:
        r = self.result
        return r.url or (f"https://arxiv.org/abs/{r.arxiv}" if r.arxiv else "")

    @property
    def year_month(self) -> str:
        return self.entry.date[:7]

    def as_record(self) -> dict[str, object]:
        """Every field of the row, for the CSV/JSON download (one flat object)."""
        r, e = self.result, self.entry
        return {
            "entry": e.id,
            "title": e.title,
            "date": e.date,
            "venue": e.venue or "",
            "benchmark": r.benchmark,
            "subset": r.subset or "",
            "benchmark_version": r.benchmark_version or "",
            "metric": r.metric,
            "aggregate": r.aggregate,
            "p": r.p if r.p is not None else "",
            "k": r.k if r.k is not None else "",
            "value": r.value,
            "unit": self.unit,
            "baseline": r.baseline,
            "model": r.model or "",
            "hardware": r.hardware or "",
            "arxiv": r.arxiv or "",
            "url": r.url or "",
            "source": r.source,
            "notes": r.notes or "",
            "cell": self.cell.slug,
            "entry_page": f"papers/{e.id}/",
        }


# Columns of the results download, in order (Row.as_record's keys).
RECORD_FIELDS = [
    "entry", "title", "date", "venue", "benchmark", "subset", "benchmark_version", "metric",
    "aggregate", "p", "k", "value", "unit", "baseline", "model", "hardware", "arxiv", "url",
    "source", "notes", "cell", "entry_page",
]  # fmt: skip


@dataclass
class Cell:
    key: CellKey
    rows: list[Row] = field(default_factory=list)

    @property
    def works(self) -> list[str]:
        return list(dict.fromkeys(r.entry.id for r in self.rows))

    @property
    def comparable(self) -> bool:
        return len(self.works) >= 2

    @property
    def first(self) -> Row:
        return self.rows[0]

    @property
    def title(self) -> str:
        """E.g. "Level 1 · fast_p (p = 1) · over PyTorch eager · NVIDIA H100"."""
        row = self.first
        parts = [row.subset_name]
        if self.key.version:
            parts.append(self.key.version)
        parts.append(row.metric_label)
        if self.key.baseline != "none":
            parts.append(f"over {row.baseline_name}")
        parts.append(row.hardware_name)
        return " · ".join(parts)

    def ranked(self) -> list[Row]:
        """Best first (by the metric's direction), ties broken by date then entry id."""
        sign = -1 if self.first.higher_is_better else 1
        return sorted(self.rows, key=lambda r: (sign * r.result.value, r.entry.date, r.entry.id, r.index))

    def best_over_time(self) -> list[tuple[str, Row]]:
        """(year-month, row) each time a newer work set a new best in this cell."""
        better = (lambda a, b: a > b) if self.first.higher_is_better else (lambda a, b: a < b)
        best: Row | None = None
        steps = []
        for row in sorted(self.rows, key=lambda r: (r.entry.date, r.entry.id, r.index)):
            if best is None or better(row.result.value, best.result.value):
                best = row
                steps.append((row.year_month, row))
        return steps


def _subset_name(kb: KnowledgeBase, result: Result) -> str:
    if result.subset is None:
        return WHOLE
    if result.subset.startswith("holdout:"):
        paper = result.subset.split(":", 1)[1]
        title = kb.by_id[paper].aliases[0] if paper in kb.by_id and kb.by_id[paper].aliases else paper
        return f"tasks chosen by {title}"
    bench = kb.by_id.get(result.benchmark)
    info = bench.benchmark if bench else None
    if info and result.subset in info.subsets:
        return info.subsets[result.subset].name
    return result.subset


# The rows of the knowledge base last asked about: a build asks six times (downloads, cells,
# statistics, the Compare page's data, the benchmark matrix), and rows are immutable.
_last_rows: tuple[tuple[object, ...], list[Row]] | None = None


def rows(kb: KnowledgeBase) -> list[Row]:
    """Every reported result of the knowledge base, benchmarks in display order."""
    global _last_rows
    key = (
        id(kb),
        *map(id, kb.entries),
        *(id(e.results) for e in kb.entries),
        sum(len(e.results) for e in kb.entries),
    )
    if _last_rows is not None and _last_rows[0] == key:
        return list(_last_rows[1])
    out = _compute_rows(kb)
    _last_rows = (key, out)
    return list(out)


def _compute_rows(kb: KnowledgeBase) -> list[Row]:
    out = []
    for entry in kb.entries:
        for i, result in enumerate(entry.results):
            metric = kb.vocab["metrics"][result.metric]
            key = CellKey(
                benchmark=result.benchmark,
                subset=result.subset,
                version=result.benchmark_version,
                metric=result.metric,
                aggregate=result.aggregate,
                p=result.p,
                k=result.k,
                baseline=result.baseline,
                hardware=result.hardware,
            )
            hardware = kb.vocab["devices"].get(result.hardware or "")
            out.append(
                Row(
                    entry=entry,
                    index=i,
                    result=result,
                    cell=key,
                    benchmark_title=benchmark_name(kb, result.benchmark),
                    subset_name=_subset_name(kb, result),
                    metric_name=metric.name,
                    aggregate_name=kb.vocab["aggregates"][result.aggregate].name,
                    baseline_name=kb.vocab["baselines"][result.baseline].name,
                    hardware_name=hardware.name if hardware else "hardware not stated",
                    unit=result_unit(metric.unit, result.aggregate),
                    higher_is_better=metric.higher_is_better is not False,
                )
            )
    return out


def benchmark_name(kb: KnowledgeBase, bench_id: str) -> str:
    entry = kb.by_id.get(bench_id)
    if entry is None:
        return bench_id
    return entry.aliases[0] if entry.aliases else entry.title


def benchmark_order(kb: KnowledgeBase, bench_ids: set[str]) -> list[str]:
    """KernelBench first, then by how many works report on the benchmark, then by name."""
    users: dict[str, set[str]] = defaultdict(set)
    for entry in kb.entries:
        for r in entry.results:
            users[r.benchmark].add(entry.id)
    return sorted(
        bench_ids,
        key=lambda b: (
            PRIORITY.index(b) if b in PRIORITY else len(PRIORITY),
            -len(users[b]),
            benchmark_name(kb, b).lower(),
        ),
    )


def cells(kb: KnowledgeBase, all_rows: list[Row] | None = None) -> list[Cell]:
    """Every cell; benchmarks in display order, then comparable cells first, then by size."""
    by_key: dict[CellKey, Cell] = {}
    for row in all_rows if all_rows is not None else rows(kb):
        by_key.setdefault(row.cell, Cell(row.cell)).rows.append(row)
    order = {b: i for i, b in enumerate(benchmark_order(kb, {k.benchmark for k in by_key}))}
    return sorted(
        by_key.values(),
        key=lambda c: (order[c.key.benchmark], not c.comparable, -len(c.works), c.title.lower()),
    )


# The cell fields in the order a reader relaxes them when looking for something comparable.
_DIFFERENCES = (
    ("hardware", "hardware"),
    ("baseline", "baseline"),
    ("subset", "subset"),
    ("version", "benchmark version"),
    ("p", "threshold p"),
    ("k", "k"),
    ("aggregate", "aggregate"),
    ("metric", "metric"),
)


def not_comparable_reason(cell: Cell, all_cells: list[Cell]) -> str:
    """Why a cell with a single work has nothing to be ranked against, in one sentence."""
    others = [c for c in all_cells if c.key.benchmark == cell.key.benchmark and c.key != cell.key]
    others = [c for c in others if set(c.works) - set(cell.works)]
    if not others:
        return "no other work reports numbers on this benchmark"
    if cell.key.subset and cell.key.subset.startswith("holdout:"):
        return "the tasks are a selection made by this paper; no other work reports on the same selection"
    best_diff: tuple[int, list[str], Cell] | None = None
    for other in others:
        diff = [label for name, label in _DIFFERENCES if getattr(cell.key, name) != getattr(other.key, name)]
        if best_diff is None or len(diff) < best_diff[0]:
            best_diff = (len(diff), diff, other)
    assert best_diff is not None
    _, diff, nearest = best_diff
    who = ", ".join(nearest.works[:3])
    return f"the closest numbers ({who}) differ in {', '.join(diff)}: {nearest.title}"


@dataclass
class Stats:
    works: int
    works_with_results: int
    results: int
    cells: int
    comparable_cells: int
    comparable_results: int
    per_benchmark: list[tuple[str, int, int, int]]  # (benchmark, works, cells, comparable cells)


def stats(kb: KnowledgeBase) -> Stats:
    all_rows = rows(kb)
    all_cells = cells(kb, all_rows)
    per: dict[str, list[Cell]] = defaultdict(list)
    for c in all_cells:
        per[c.key.benchmark].append(c)
    return Stats(
        works=len(kb.entries),
        works_with_results=len({r.entry.id for r in all_rows}),
        results=len(all_rows),
        cells=len(all_cells),
        comparable_cells=sum(c.comparable for c in all_cells),
        comparable_results=sum(len(c.rows) for c in all_cells if c.comparable),
        per_benchmark=[
            (
                b,
                len({w for c in per[b] for w in c.works}),
                len(per[b]),
                sum(c.comparable for c in per[b]),
            )
            for b in benchmark_order(kb, set(per))
        ],
    )


def results_files(kb: KnowledgeBase) -> dict[str, str]:
    """results.csv and results.json: one line per reported number with every provenance field."""
    records = [r.as_record() for r in rows(kb)]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RECORD_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    payload = {
        "format": "kernelatlas-results",
        "fields": RECORD_FIELDS,
        "comparable_when_equal": [
            "benchmark",
            "subset",
            "benchmark_version",
            "metric",
            "aggregate",
            "p",
            "k",
            "baseline",
            "hardware",
        ],  # fmt: skip
        "results": records,
    }
    return {
        "results.csv": buf.getvalue(),
        "results.json": json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
    }
