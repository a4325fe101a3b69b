"""Numbers papers report, as the site shows them: grouped so that only like is ranked with like,
and the benchmark comparison matrices. Reads the knowledge base only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry, Result
from site_gen.kb.result_checks import result_unit

NOT_STATED = "not stated"
MATRIX_COLUMNS = 24  # the most used benchmarks get a column of the works x benchmarks matrix


@dataclass(frozen=True)
class ResultRow:
    """A reported number with its names resolved for display."""

    entry: Entry
    result: Result
    metric_name: str
    baseline_name: str
    unit: str
    higher_is_better: bool | None

    @property
    def metric_label(self) -> str:
        r = self.result
        if r.aggregate == "fast_p":
            return f"fast_p (p = {r.p:g})" if r.p is not None else "fast_p"
        if r.aggregate == "pass-at-k":
            return f"pass@k (k = {r.k})" if r.k is not None else "pass@k"
        return f"{self.metric_name}, {r.aggregate}"

    @property
    def value_label(self) -> str:
        value = f"{self.result.value:g}"
        return {"%": f"{value}%", "x": f"{value}×"}.get(self.unit, value)


def result_row(kb: KnowledgeBase, entry: Entry, result: Result) -> ResultRow:
    metric = kb.vocab["metrics"][result.metric]
    return ResultRow(
        entry=entry,
        result=result,
        metric_name=metric.name,
        baseline_name=kb.vocab["baselines"][result.baseline].name,
        unit=result_unit(metric.unit, result.aggregate),
        higher_is_better=metric.higher_is_better,
    )


def entry_results(kb: KnowledgeBase, entry: Entry) -> list[ResultRow]:
    return [result_row(kb, entry, r) for r in entry.results]


@dataclass
class ComparisonGroup:
    """Numbers measured on the same benchmark subset, metric, hardware and baseline: the only
    numbers that may be put in order. A group whose hardware is not stated is never ranked."""

    subset: str
    hardware: str
    baseline: str
    rows: list[ResultRow]

    @property
    def ranked(self) -> bool:
        return (
            self.hardware != NOT_STATED and self.rows[0].higher_is_better is not None and len(self.rows) > 1
        )


@dataclass
class MetricSection:
    label: str
    groups: list[ComparisonGroup]


@dataclass
class BenchmarkSection:
    benchmark: Entry
    metrics: list[MetricSection]


def reported_groups(kb: KnowledgeBase) -> list[BenchmarkSection]:
    """Benchmark -> metric (with p/k) -> comparison group, each group best first."""
    tree: dict[str, dict[str, dict[tuple[str, str, str], list[ResultRow]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for entry in kb.entries:
        for result in entry.results:
            row = result_row(kb, entry, result)
            key = (result.subset or "whole benchmark", result.hardware or NOT_STATED, row.baseline_name)
            tree[result.benchmark][row.metric_label][key].append(row)
    sections = []
    for bench_id in sorted(tree, key=lambda b: kb.by_id[b].title.lower()):
        metrics = []
        for label in sorted(tree[bench_id]):
            groups = []
            for (subset, hardware, baseline), rows in sorted(tree[bench_id][label].items()):
                better_high = rows[0].higher_is_better is not False
                rows.sort(key=lambda r: (-r.result.value if better_high else r.result.value, r.entry.id))
                groups.append(ComparisonGroup(subset, hardware, baseline, rows))
            metrics.append(MetricSection(label, groups))
        sections.append(BenchmarkSection(kb.by_id[bench_id], metrics))
    return sections


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
