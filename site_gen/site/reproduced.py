"""Results reproduced by our own harness: the files `python -m repro reproduce` writes under
repro/results/, read and checked field by field, summarised per GPU, suite and task, and set beside
the numbers papers report. A malformed file is named and skipped, never fatal."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from repro.records.reproduction import OTHER_OUTPUTS, read_reproduction
from repro.records.verdicts import Status
from site_gen.kb.load import KnowledgeBase
from site_gen.kb.results import Row
from site_gen.site.reported import result_row

KERNEL_METHODS = ("solutions", "evolve", "refine")  # column order; other methods follow by name
METHOD_LABELS = {
    "baselines": "eager and torch.compile",
    "solutions": "hand-written",
    "evolve": "evolve (offline)",
    "refine": "refine (offline)",
}
# Reported KernelBench metrics with an analogue among ours: (metric, p) -> our metric key stem.
COMPARABLE = {
    ("fast_p", 1.0): "fast_1",
    ("share", None): "correct_rate",
    ("geomean", None): "geomean_speedup",
}
BASELINE_KEYS = {"eager": "eager", "compile-default": "compile", "reference": "eager"}


@dataclass
class MethodRun:
    """One result file: a method (or the baselines) on one suite on one GPU."""

    path: str  # "repro/results/<gpu>/<suite>/<method>.json"
    gpu: str
    slug: str
    suite: str
    method: str
    info: dict
    settings: dict
    settings_hash: str
    provenance: dict
    commits: list[str]
    metrics: dict
    tasks: list[dict]
    command: str | None

    @property
    def label(self) -> str:
        return METHOD_LABELS.get(self.method, self.method)

    def record(self, task: str) -> dict:
        return next((r for r in self.tasks if r["task"] == task), {})


@dataclass
class TaskRow:
    """One task of a suite: baselines, the fastest correct kernel and who found it."""

    task: str
    eager_ms: float | None
    compile_ms: float | None
    best_ms: float | None = None
    best_method: str | None = None
    best_operator: str | None = None
    speedup_eager: float | None = None
    speedup_compile: float | None = None
    sol_fraction: float | None = None
    cells: dict[str, str] = field(default_factory=dict)  # method -> "1.23×" or why there is none
    ran: bool = False  # some method evaluated a kernel for this task


@dataclass
class SuiteReport:
    suite: str
    baselines: MethodRun | None
    methods: list[MethodRun]
    rows: list[TaskRow]
    charts: list[tuple[str, str]] = field(default_factory=list)  # (docs-relative path, title)


@dataclass
class GpuReport:
    slug: str
    gpu: str
    suites: list[SuiteReport]
    errors: list[str] = field(default_factory=list)

    @property
    def on_cpu(self) -> bool:
        """CPU runs time the Triton interpreter: they test the mechanism, not kernel speed."""
        return any(r.settings.get("device") == "cpu" for r in self.runs)

    @property
    def runs(self) -> list[MethodRun]:
        return [r for s in self.suites for r in ([s.baselines] if s.baselines else []) + s.methods]

    @property
    def provenance(self) -> dict:
        """The provenance of the most recently written file (each file keeps its own)."""
        return max((r.provenance for r in self.runs), key=lambda p: str(p.get("date", "")), default={})

    @property
    def commits(self) -> list[str]:
        return sorted({c for r in self.runs for c in r.commits})

    @property
    def settings(self) -> list[tuple[str, dict, list[str]]]:
        """(settings hash, settings, files measured with them): normally a single entry."""
        by_hash: dict[str, tuple[dict, list[str]]] = {}
        for r in self.runs:
            by_hash.setdefault(r.settings_hash, (r.settings, []))[1].append(r.path)
        return [(h, s, paths) for h, (s, paths) in sorted(by_hash.items())]


@dataclass
class Reproduced:
    gpus: list[GpuReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one message per absent, unreadable or malformed file


def _method_run(rel: str, data: object, parts: tuple[str, str, str]) -> MethodRun:
    """Check the file with the reproduction format's own reader (format, version, place, the fields the
    pages read); the message names the first one that is wrong."""
    checked = read_reproduction(data, parts)
    slug, suite, method = parts
    return MethodRun(
        path=rel, gpu=checked["gpu"], slug=slug, suite=suite, method=method, info=checked["method_info"],
        settings=checked["settings"], settings_hash=checked["settings_hash"], provenance=checked["provenance"],
        commits=list(checked.get("commits") or []), metrics=checked["metrics"], tasks=checked["tasks"],
        command=checked.get("command"),
    )  # fmt: skip


def _median(timing: object) -> float | None:
    value = timing.get("median") if isinstance(timing, dict) else timing
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def percent(value: object) -> str:
    """A fraction (0.42) as a table cell ("42%"); missing values as a dash."""
    return f"{value * 100:.0f}%" if isinstance(value, int | float) and not isinstance(value, bool) else "—"


def times(value: object) -> str:
    """A speedup (1.234) as a table cell ("1.23×"); missing values as a dash."""
    return f"{value:.2f}×" if isinstance(value, int | float) and not isinstance(value, bool) else "—"


def milliseconds(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) and not isinstance(value, bool) else "—"


def _short_operator(operator: str | None) -> str | None:
    """The kind of step that produced a kernel ("template:flat", "mutate:TILE"), without its values."""
    return re.split(r"[\[ ]", operator)[0] if operator else None


def cell_text(rec: dict) -> str:
    """A task's table cell for one method: its speedup over eager, or why there is none."""
    if rec.get("status") != Status.MEASURED:
        return {
            Status.NOT_RUN: "not run",
            Status.NO_SOLUTION: "none written",
            Status.FAILED: "harness failed",
        }.get(rec.get("status", ""), rec.get("status") or "—")
    if not rec.get("correct"):
        return str(rec.get("verdict") or "incorrect").replace("_", " ")
    speedup = (rec.get("speedups") or {}).get("eager")
    return f"{speedup:.2f}×" if isinstance(speedup, int | float) else "correct"


def _suite_report(suite: str, runs: list[MethodRun]) -> SuiteReport:
    baselines = next((r for r in runs if r.method == "baselines"), None)
    methods = sorted(
        (r for r in runs if r.method != "baselines"),
        key=lambda r: (KERNEL_METHODS.index(r.method) if r.method in KERNEL_METHODS else len(KERNEL_METHODS), r.method),
    )  # fmt: skip
    names = [t["task"] for t in (baselines.tasks if baselines else [])]
    names += [t["task"] for r in methods for t in r.tasks if t["task"] not in names]
    rows = []
    for name in dict.fromkeys(names):
        base = baselines.record(name) if baselines else {}
        timings = base.get("baseline_ms") or {}
        row = TaskRow(name, _median(timings.get("eager")), _median(timings.get("compile")))
        for run in methods:
            rec = run.record(name)
            row.cells[run.method] = cell_text(rec)
            row.ran = row.ran or rec.get("status") in (Status.MEASURED, Status.FAILED)
            ms = _median(rec.get("candidate_ms"))
            if (
                rec.get("status") == Status.MEASURED
                and rec.get("correct")
                and ms
                and (row.best_ms is None or ms < row.best_ms)
            ):
                speedups = rec.get("speedups") or {}
                row.best_ms, row.best_method, row.best_operator = (
                    ms,
                    run.method,
                    _short_operator(rec.get("operator")),
                )
                row.speedup_eager, row.speedup_compile = speedups.get("eager"), speedups.get("compile")
                row.sol_fraction = rec.get("sol_fraction")
            # fmt: skip
        if row.eager_ms is None:  # baselines not measured: the kernel evaluations carry them too
            for run in methods:
                medians = run.record(name).get("baseline_ms") or {}
                row.eager_ms = row.eager_ms or _median(medians.get("eager"))
                row.compile_ms = row.compile_ms or _median(medians.get("compile"))
        rows.append(row)
    return SuiteReport(suite, baselines, methods, rows)


def render_reproduced(results_dir: Path) -> Reproduced:
    """Read every `<gpu>/<suite>/<method>.json` under repro/results/. A file that cannot be read or
    is malformed is reported by name (as a build warning and a notice on the pages) and skipped; the
    rest of the site still builds."""
    reproduced = Reproduced()
    if not results_dir.is_dir():
        return reproduced
    by_gpu: dict[str, list[MethodRun]] = defaultdict(list)
    errors_by_gpu: dict[str, list[str]] = defaultdict(list)
    for path in sorted(results_dir.glob("*/*/*.json")):
        parts = path.relative_to(results_dir).parts
        if parts[0] in OTHER_OUTPUTS:
            continue
        rel = f"repro/results/{'/'.join(parts)}"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            by_gpu[parts[0]].append(_method_run(rel, data, (parts[0], parts[1], path.stem)))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
            why = (
                f"not valid JSON ({exc.msg} at line {exc.lineno})"
                if isinstance(exc, json.JSONDecodeError)
                else exc
            )
            message = f"{rel}: {why} (fix or remove the file, or measure it again with `make repro`; it was skipped)"
            reproduced.errors.append(message)
            errors_by_gpu[parts[0]].append(message)
    for slug in sorted(set(by_gpu) | set(errors_by_gpu)):
        runs = by_gpu.get(slug, [])
        suites = [
            _suite_report(s, [r for r in runs if r.suite == s]) for s in sorted({r.suite for r in runs})
        ]
        gpu = runs[0].gpu if runs else slug
        reproduced.gpus.append(GpuReport(slug, gpu, suites, errors_by_gpu.get(slug, [])))
    return reproduced


def has_speedups(suite: SuiteReport, baseline: str) -> bool:
    return any((rec.get("speedups") or {}).get(baseline) for run in suite.methods for rec in run.tasks)


@dataclass
class Comparison:
    """A number a paper reports on KernelBench next to our closest analogue (never ranked)."""

    reported: Row
    suite: str
    ours: dict[str, str]  # method label -> our value, formatted in the reported metric's unit


def _level_of_subset(subset: str | None) -> int | None:
    match = re.match(r"\s*level\s*(\d)\b", subset or "", re.IGNORECASE)
    return int(match.group(1)) if match else None


def comparisons(kb: KnowledgeBase, gpu: GpuReport) -> list[Comparison]:
    """Reported KernelBench numbers of one level (not mixed-level aggregates) whose metric and
    baseline we also measure, each beside our value for the same-numbered level of our suite."""
    out = []
    suites = {int(s.suite[5:]): s for s in gpu.suites if re.fullmatch(r"level\d", s.suite)}
    for entry in sorted(kb.entries, key=lambda e: e.id):
        for result in entry.results:
            level = _level_of_subset(result.subset)
            stem = COMPARABLE.get((result.aggregate, result.p))
            if result.benchmark != "kernelbench" or level not in suites or stem is None:
                continue
            if stem != "correct_rate" and result.baseline not in BASELINE_KEYS:
                continue
            key = stem if stem == "correct_rate" else f"{stem}_{BASELINE_KEYS[result.baseline]}"
            row = result_row(kb, entry, result)
            ours = {}
            for run in suites[level].methods:
                value = run.metrics.get(key)
                if isinstance(value, int | float):
                    ours[run.label] = f"{value * 100:.3g}%" if row.unit == "%" else f"{value:.3g}×"
                else:
                    ours[run.label] = "—"
            out.append(Comparison(row, suites[level].suite, ours))
    return out
