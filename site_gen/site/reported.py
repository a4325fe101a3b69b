"""Numbers papers report on entry pages, and the benchmark comparison matrices. The leaderboards
(what may be ranked with what) are in site_gen.site.leaderboards. Reads the knowledge base only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry, Result
from site_gen.kb.results import Row, rows

MATRIX_COLUMNS = 24  # the most used benchmarks get a column of the works x benchmarks matrix


def entry_results(kb: KnowledgeBase, entry: Entry) -> list[Row]:
    """An entry's reported numbers with every name resolved, in the order the entry lists them."""
    by_entry = kb.__dict__.get("_rows_by_entry")  # resolved once per knowledge base, not per page
    if by_entry is None:
        by_entry = defaultdict(list)
        for row in rows(kb):
            by_entry[row.entry.id].append(row)
        kb.__dict__["_rows_by_entry"] = by_entry
    return by_entry.get(entry.id, [])


def result_row(kb: KnowledgeBase, entry: Entry, result: Result) -> Row:
    """The resolved row of one of an entry's results."""
    return next(row for row in entry_results(kb, entry) if row.result is result)


def is_benchmark(entry: Entry) -> bool:
    """Benchmark entries: kind `benchmark`, or works filed under the Benchmarks category (a method
    paper that also releases a benchmark)."""
    return entry.kind == "benchmark" or "benchmarks" in entry.taxonomy


@dataclass(frozen=True)
class BenchmarkRow:
    """One row of the benchmark comparison, with every cell resolved for display."""

    entry: Entry
    tasks: str
    languages: str
    hardware: str
    metrics: str
    correctness: str
    timing: str
    anti_cheating: list[str]
    baselines: str
    used_by: int


def _benchmark_row(kb: KnowledgeBase, b: Entry, metrics: set[str], used_by: int) -> BenchmarkRow:
    info = b.benchmark
    tasks = ""
    if info is not None:
        tasks = " — ".join(
            part for part in (f"{info.tasks:,}" if info.tasks else "", info.task_description or "") if part
        )
    return BenchmarkRow(
        entry=b,
        tasks=tasks or "—",
        languages=", ".join(kb.vocab["languages"][s].name for s in b.languages) or "—",
        hardware=", ".join(kb.vocab["hardware"][s].name for s in b.hardware) or "—",
        metrics=", ".join(sorted(metrics)) or "—",
        correctness=(info.correctness if info else None) or "—",
        timing=(info.timing if info else None) or "—",
        anti_cheating=list(info.anti_cheating) if info else [],
        baselines=", ".join(kb.vocab["baselines"][s].name for s in info.baselines) if info else "",
        used_by=used_by,
    )


def benchmark_matrices(kb: KnowledgeBase) -> dict:
    """The benchmark comparison (one row per benchmark entry) and the method x benchmark matrix
    (filled circle: reports numbers on it; open circle: lists it among its benchmarks)."""
    benchmarks = [e for e in kb.entries if is_benchmark(e)]
    bench_ids = {b.id for b in benchmarks}
    metrics_on: dict[str, set[str]] = defaultdict(set)
    reported_on: dict[str, set[str]] = defaultdict(set)
    for entry in kb.entries:
        for result in entry.results:
            metrics_on[result.benchmark].add(kb.vocab["metrics"][result.metric].name)
            reported_on[entry.id].add(result.benchmark)
    users: dict[str, int] = defaultdict(int)
    methods = []
    for entry in kb.entries:
        on = (set(entry.benchmarks) | reported_on[entry.id]) & bench_ids - {entry.id}
        if on:
            methods.append(entry)
            for b in on:
                users[b] += 1
    columns = sorted((b for b in benchmarks if users[b.id]), key=lambda b: (-users[b.id], b.id))[
        :MATRIX_COLUMNS
    ]
    methods = [m for m in methods if (set(m.benchmarks) | reported_on[m.id]) & {b.id for b in columns}]
    cells = {
        m.id: {
            b.id: "●" if b.id in reported_on[m.id] else "○" if b.id in m.benchmarks else "" for b in columns
        }
        for m in methods
    }
    return {
        "rows": [_benchmark_row(kb, b, metrics_on[b.id], users[b.id]) for b in benchmarks],
        "columns": columns,
        "methods": methods,
        "cells": cells,
    }
