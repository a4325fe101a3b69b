"""Checks of reported results: what makes two numbers comparable, and whether a number is plausible.

A result names its benchmark, subset and version, the metric and how tasks were aggregated, the
baseline, the hardware and the model, and the document version and table it was read from. The
rules here are the ones a reader needs to trust a leaderboard: a speed or correctness number says
where it was measured and by what, a percentage is 0-100, a speedup is positive, and fast_p says
its p. Subsets and versions are declared by the benchmark's own entry, so they are resolved by
`site_gen.kb.check` once every file is read (`SubsetReference`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from site_gen.kb.problems import Problem

if TYPE_CHECKING:
    from site_gen.kb.entry_checks import EntryChecker

# Aggregates that turn per-task values into a percentage of tasks, whatever the metric's unit.
PERCENT_AGGREGATES = {"share", "fast_p", "pass-at-k"}
# Which aggregates make sense for which kind of metric.
AGGREGATES_OF_RATES = {"share", "pass-at-k"}  # correctness, compile-rate: a yes/no per task
AGGREGATES_OF_VALUES = {"mean", "geomean", "median", "max"}  # speedup, % of peak, scores
MAX_PLAUSIBLE_SPEEDUP = 10_000.0
_HOLDOUT_RE = re.compile(r"^holdout:(?P<paper>[a-z0-9][a-z0-9-]*)$")
_PLACE_RE = re.compile(r"^(Table|Figure|Fig\.|Section|Appendix|Abstract|Algorithm|Listing)\b")
_VERSION_RE = re.compile(r"v\d+$")


@dataclass
class SubsetReference:
    """A result's subset and version, checked against its benchmark entry's declarations."""

    file: str
    line: int
    field: str
    benchmark: str
    subset: str | None
    version: str | None
    version_line: int
    version_field: str


def result_unit(metric_unit: str | None, aggregate: str) -> str:
    """The unit of a result's value: a percentage for shares of tasks, else the metric's own."""
    return "%" if aggregate in PERCENT_AGGREGATES else (metric_unit or "")


def metric_group(checker: EntryChecker, metric: object) -> str | None:
    term = checker.context.vocab.get("metrics", {}).get(metric) if isinstance(metric, str) else None
    return term.group if term else None


def check_result(checker: EntryChecker, i: int, result: dict[str, Any]) -> SubsetReference | None:
    """Every single-file rule for results[i]; returns what the cross-file pass must resolve."""
    at = ("results", i)
    benchmark = result.get("benchmark")
    if isinstance(benchmark, str):
        checker.refer((*at, "benchmark"), benchmark)
    for name, group in (
        ("metric", "metrics"),
        ("aggregate", "aggregates"),
        ("baseline", "baselines"),
        ("hardware", "devices"),
    ):
        if isinstance(result.get(name), str):
            checker.check_term((*at, name), result[name], group)
    vocab = checker.context.vocab
    metric, aggregate = result.get("metric"), result.get("aggregate")
    metric_term = vocab.get("metrics", {}).get(metric) if isinstance(metric, str) else None
    known_aggregate = isinstance(aggregate, str) and aggregate in vocab.get("aggregates", {})
    if metric_term is not None and known_aggregate and isinstance(metric, str) and isinstance(aggregate, str):
        _check_aggregate(checker, at, result, metric, aggregate)
        _check_baseline(checker, at, result, metric, aggregate)
        _check_value(checker, at, result, result_unit(metric_term.unit, aggregate))
    if metric_term is not None and metric_term.group in ("speed", "correctness"):
        for name, what in (
            ("hardware", "the device it was measured on (a devices slug, e.g. nvidia-h100)"),
            ("model", "the LLM or system that produced the kernels, as the paper names it"),
        ):
            if not result.get(name):
                checker.add(
                    (*at, name) if name in result else at,
                    f"a {metric} result needs `{name}`",
                    f"add `{name}:` with {what}; if the paper does not say, leave the number out",
                )
    _check_provenance(checker, at, result)
    if not isinstance(benchmark, str):
        return None
    subset, version = result.get("subset"), result.get("benchmark_version")
    return SubsetReference(
        file=checker.rel,
        line=checker.parsed.line_of((*at, "subset") if "subset" in result else (*at, "benchmark")),
        field=f"results[{i}].subset",
        benchmark=benchmark,
        subset=subset if isinstance(subset, str) else None,
        version=version if isinstance(version, str) else None,
        version_line=checker.parsed.line_of((*at, "benchmark_version")),
        version_field=f"results[{i}].benchmark_version",
    )


def _check_aggregate(checker: EntryChecker, at: tuple, result: dict, metric: str, aggregate: str) -> None:
    group = metric_group(checker, metric)
    if aggregate == "fast_p":
        if metric != "speedup":
            checker.add((*at, "aggregate"), f"fast_p counts speedups, not {metric}", "set `metric: speedup`")
        p = result.get("p")
        if p is None:
            checker.add(
                (*at, "aggregate"),
                "fast_p needs its speedup threshold p",
                "add `p:` with the paper's threshold, e.g. p: 1.0 for fast_1",
            )
        elif isinstance(p, int | float) and not isinstance(p, bool) and p <= 0:
            checker.add((*at, "p"), f"p = {p} is not a speedup threshold", "write a positive p, e.g. 1.0")
    elif result.get("p") is not None:
        checker.add((*at, "p"), f"p belongs to fast_p, not to {aggregate}", "remove `p:`")
    if aggregate == "pass-at-k":
        if result.get("k") is None:
            checker.add(
                (*at, "aggregate"), "pass-at-k needs k", "add `k:` with the number of samples, e.g. k: 1"
            )
    elif result.get("k") is not None:
        checker.add((*at, "k"), f"k belongs to pass-at-k, not to {aggregate}", "remove `k:`")
    if group == "correctness" and aggregate not in AGGREGATES_OF_RATES:
        checker.add(
            (*at, "aggregate"),
            f"{metric} is yes or no per task; {aggregate} does not apply",
            "use `aggregate: share` (percentage of tasks) or `pass-at-k` with k",
        )
    elif group != "correctness" and aggregate in AGGREGATES_OF_RATES:
        checker.add(
            (*at, "aggregate"),
            f"{aggregate} counts tasks that pass; {metric} is a value per task",
            "use mean, geomean, median or max; for the share of tasks faster than a baseline use fast_p",
        )


def _check_baseline(checker: EntryChecker, at: tuple, result: dict, metric: str, aggregate: str) -> None:
    baseline = result.get("baseline", "none")
    if metric == "speedup" and baseline == "none":
        checker.add(
            (*at, "baseline") if "baseline" in result else at,
            "a speedup needs the baseline it is measured against",
            "add `baseline:` (eager, cuda-graph, compile-default, cublas, reference, ...)",
        )
    elif metric != "speedup" and isinstance(baseline, str) and baseline != "none":
        checker.add(
            (*at, "baseline"),
            f"{metric} is not measured against a baseline",
            "remove `baseline:`; a speedup over a baseline is `metric: speedup`",
        )


def _check_value(checker: EntryChecker, at: tuple, result: dict, unit: str) -> None:
    value = result.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return  # the model reports missing, non-numeric and non-finite values
    if unit == "%" and not 0 <= value <= 100:
        hint = f"write {value * 100:g} for {value:g}" if 0 < value < 1 else "write the percentage, 0-100"
        if value > 100:
            hint = "a percentage of tasks is at most 100; a ratio belongs to metric: speedup"
        checker.add((*at, "value"), f"{value:g} is not a percentage (0-100)", hint)
    elif unit == "x" and value <= 0:
        checker.add(
            (*at, "value"),
            f"a speedup of {value:g} is impossible",
            "write the ratio baseline time / kernel time, e.g. 0.8 for a slowdown",
        )
    elif unit == "x" and value > MAX_PLAUSIBLE_SPEEDUP:
        checker.add(
            (*at, "value"),
            f"a speedup of {value:g}x is not plausible",
            "check the number against the paper; a percentage gain of 22% is a speedup of 1.22",
        )


def _check_provenance(checker: EntryChecker, at: tuple, result: dict) -> None:
    arxiv, url, source = result.get("arxiv"), result.get("url"), result.get("source")
    entry_arxiv = checker.data.get("arxiv")
    if not arxiv and not url:
        example = f"{entry_arxiv}v1" if isinstance(entry_arxiv, str) else "2507.14111v8"
        checker.add(
            at,
            "a result needs the document it is read from",
            f"add `arxiv: {example}` (the version you read) or `url:` for a README, model card or report",
        )
    if isinstance(arxiv, str) and _VERSION_RE.search(arxiv):
        base = _VERSION_RE.sub("", arxiv)
        if not isinstance(entry_arxiv, str):
            checker.add(
                (*at, "arxiv"),
                f"arXiv {arxiv} is not this entry's paper (the entry has no `arxiv`)",
                "set the entry's `arxiv:` if this is its paper; a number from another paper belongs in that paper's entry",
            )
        elif base != entry_arxiv:
            checker.add(
                (*at, "arxiv"),
                f"arXiv {arxiv} is not this entry's paper ({entry_arxiv})",
                "a number from another paper belongs in that paper's entry",
            )
    elif isinstance(arxiv, str) and re.fullmatch(r"\d{4}\.\d{4,5}", arxiv):
        checker.add(
            (*at, "arxiv"),
            "the arXiv id needs the version the number was read from",
            f"write {arxiv}v1 or the version you read",
        )
    if isinstance(url, str):
        checker.check_url((*at, "url"), url)
    if isinstance(source, str) and arxiv and not url and not _PLACE_RE.match(source.strip()):
        checker.add(
            (*at, "source"),
            f"{source!r} does not say where in the paper",
            "start with Table, Figure, Section, Appendix or Abstract, e.g. 'Table 2'",
        )


def resolve_subsets(
    refs: list[SubsetReference], declared: dict[str, tuple[dict, list]], known: set[str]
) -> list[Problem]:
    """Cross-file rules: the subset and version a result names must be declared by its benchmark.

    `declared` maps a benchmark entry id to (subsets, versions) from its `benchmark:` block."""
    problems = []
    for ref in refs:
        if ref.benchmark not in known:
            continue  # the unknown benchmark id is reported once, as a reference
        subsets, versions = declared.get(ref.benchmark, ({}, []))
        where = f"papers/{ref.benchmark}.yaml"
        if ref.subset is not None:
            holdout = _HOLDOUT_RE.match(ref.subset)
            if holdout and holdout["paper"] not in known:
                problems.append(
                    Problem(
                        ref.file,
                        ref.line,
                        ref.field,
                        f"no entry with id {holdout['paper']!r}",
                        "write holdout:<id of the paper that chose the tasks>",
                    )
                )
            elif not holdout and ref.subset not in subsets:
                allowed = ", ".join(subsets) or "none declared"
                problems.append(
                    Problem(
                        ref.file,
                        ref.line,
                        ref.field,
                        f"{ref.benchmark} has no subset {ref.subset!r} (allowed: {allowed})",
                        f"use a declared subset, holdout:<paper id>, or declare it under benchmark.subsets in {where}",
                    )
                )
        elif subsets:
            problems.append(
                Problem(
                    ref.file,
                    ref.line,
                    ref.field,
                    f"{ref.benchmark} results must name a subset",
                    f"add `subset:` with one of {', '.join(subsets)} (or holdout:<paper id>)",
                )
            )
        if ref.version is not None and ref.version not in versions:
            allowed = ", ".join(versions) or "none declared"
            problems.append(
                Problem(
                    ref.file,
                    ref.version_line,
                    ref.version_field,
                    f"{ref.benchmark} has no version {ref.version!r} (allowed: {allowed})",
                    f"use a declared version or declare it under benchmark.versions in {where}",
                )
            )
    return problems
