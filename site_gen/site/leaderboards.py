"""Leaderboards: reported numbers ranked only within their comparison cell, our reproduced numbers
beside them, a reason for every number that cannot be ranked, the best result of each cell over
time, and the flat results table as CSV and JSON downloads.

The Reported results page shows every benchmark (KernelBench first); each benchmark's entry page
shows its own section. Both are the same HTML, filtered and sorted in the browser by
assets/leaderboards.js with the view kept in the URL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from markupsafe import Markup

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry
from site_gen.kb.results import (
    Cell,
    Row,
    benchmark_name,
    cells,
    not_comparable_reason,
)
from site_gen.site.reproduced import Reproduced
from site_gen.site.xmltext import escape

REPRODUCED_ID = "kernelatlas-suite"
REPRODUCED_NAME = "KernelAtlas task suite (reproduced here)"
# Our reproduction's metrics that have a reported counterpart: (metric key stem, aggregate).
REPRODUCED_METRICS = (("fast_1", "fast_p"), ("geomean_speedup", "geomean"))
REPRODUCED_BASELINES = {"eager": "eager", "compile": "compile-default"}


@dataclass
class BoardRow:
    """One line of a leaderboard, reported or reproduced, ready for the template."""

    rank: int
    kind: str  # "reported" or "reproduced"
    work_id: str  # entry id, or "" for a reproduced row
    work: str
    model: str
    value: float
    value_label: str
    date: str
    document: str  # "arXiv 2507.14111v8" or the URL's host, or the result file
    document_href: str
    source: str
    notes: str


@dataclass
class Board:
    slug: str
    title: str
    benchmark: str
    metric: str  # the metric label, e.g. "fast_p (p = 1)"
    baseline: str  # baseline slug
    baseline_name: str
    hardware: str  # device slug ("" if none)
    hardware_name: str
    higher_is_better: bool
    works: int
    rows: list[BoardRow]
    chart: Markup | str = ""  # SVG of the best result over time, when two or more works report


@dataclass
class Unranked:
    row: Row
    reason: str


@dataclass
class Section:
    id: str
    name: str
    entry: Entry | None
    boards: list[Board] = field(default_factory=list)
    unranked: list[Unranked] = field(default_factory=list)
    note: str = ""


def _document(row: Row) -> tuple[str, str]:
    r = row.result
    if r.arxiv:
        return f"arXiv {r.arxiv}", f"https://arxiv.org/abs/{r.arxiv}"
    host = (r.url or "").split("/")[2] if r.url and r.url.count("/") >= 2 else (r.url or "")
    return host, r.url or ""


def _board_row(rank: int, row: Row) -> BoardRow:
    e = row.entry
    document, href = _document(row)
    return BoardRow(
        rank=rank,
        kind="reported",
        work_id=e.id,
        work=e.aliases[0] if e.aliases else e.title,
        model=row.result.model or "",
        value=row.result.value,
        value_label=row.value_label,
        date=e.date[:7],
        document=document,
        document_href=href,
        source=row.result.source,
        notes=row.result.notes or "",
    )


def _board(cell: Cell) -> Board:
    first = cell.first
    ranked = cell.ranked()
    board = Board(
        slug=cell.key.slug,
        title=cell.title,
        benchmark=cell.key.benchmark,
        metric=first.metric_label,
        baseline=cell.key.baseline,
        baseline_name=first.baseline_name,
        hardware=cell.key.hardware or "",
        hardware_name=first.hardware_name,
        higher_is_better=first.higher_is_better,
        works=len(cell.works),
        rows=[_board_row(i + 1, r) for i, r in enumerate(ranked)],
    )
    if cell.comparable:
        board.chart = Markup(best_over_time_svg(cell))  # built from escaped text only
    return board


def sections(kb: KnowledgeBase, reproduced: Reproduced | None = None) -> list[Section]:
    """Every benchmark with reported numbers (KernelBench first), then our reproduced suite."""
    all_cells = cells(kb)
    out: dict[str, Section] = {}
    for cell in all_cells:
        bench = cell.key.benchmark
        section = out.setdefault(bench, Section(bench, benchmark_name(kb, bench), kb.by_id.get(bench)))
        if len(cell.rows) >= 2:
            section.boards.append(_board(cell))
        else:
            section.unranked.append(Unranked(cell.first, not_comparable_reason(cell, all_cells)))
    result = list(out.values())
    ours = reproduced_section(reproduced) if reproduced else None
    if ours is not None:
        at = 1 if result and result[0].id == "kernelbench" else 0
        result.insert(at, ours)
    return result


def benchmark_section(kb: KnowledgeBase, bench_id: str) -> Section | None:
    """The leaderboards of one benchmark, for its entry page."""
    return next((s for s in sections(kb) if s.id == bench_id), None)


def reproduced_section(reproduced: Reproduced) -> Section | None:
    """Our own runs (repro/results) as leaderboards of the same shape: one per suite, metric,
    baseline and GPU, one row per method. They are on our task suite, not KernelBench's."""
    section = Section(REPRODUCED_ID, REPRODUCED_NAME, None)
    section.note = (
        "Measured with this project's harness on its own KernelBench-format task suite, so these "
        "numbers are not comparable with KernelBench's: the tasks differ. See "
        "[Reproduced results](../reproduced/) for every task and the provenance of each run."
    )
    for gpu in reproduced.gpus:
        for suite in gpu.suites:
            for stem, aggregate in REPRODUCED_METRICS:
                for ours, baseline in REPRODUCED_BASELINES.items():
                    board_rows = []
                    for run in suite.methods:
                        value = run.metrics.get(f"{stem}_{ours}")
                        if not isinstance(value, int | float) or isinstance(value, bool):
                            continue
                        shown = value * 100 if aggregate == "fast_p" else value
                        label = f"{shown:.3g}%" if aggregate == "fast_p" else f"{shown:.3g}×"
                        date = str(run.provenance.get("date", ""))[:7]
                        board_rows.append(
                            BoardRow(
                                0,
                                "reproduced",
                                "",
                                run.label,
                                run.label,
                                round(shown, 4),
                                label,
                                date,
                                run.path.rsplit("/", 1)[-1],
                                "",
                                run.path,
                                "commit " + ", ".join(c[:10] for c in run.commits),
                            )  # fmt: skip
                        )
                    if len(board_rows) < 1:
                        continue
                    board_rows.sort(key=lambda r: -r.value)
                    for i, r in enumerate(board_rows):
                        r.rank = i + 1
                    metric_label = "fast_p (p = 1)" if aggregate == "fast_p" else "Speedup, geometric mean"
                    base_name = "PyTorch eager" if baseline == "eager" else "torch.compile (default)"
                    title = f"{suite.suite} · {metric_label} · over {base_name} · {gpu.gpu}"
                    section.boards.append(
                        Board(
                            slug=f"{REPRODUCED_ID}-{suite.suite}-{stem}-{baseline}-{gpu.slug}".replace(
                                "_", "-"
                            ),
                            title=title,
                            benchmark=REPRODUCED_ID,
                            metric=metric_label,
                            baseline=baseline,
                            baseline_name=base_name,
                            hardware=gpu.slug,
                            hardware_name=gpu.gpu,
                            higher_is_better=True,
                            works=1,
                            rows=board_rows,
                        )  # fmt: skip
                    )
    return section if section.boards else None


def filter_options(all_sections: list[Section]) -> dict[str, list[tuple[str, str]]]:
    """(value, label) choices of every filter, in first-seen order."""
    options: dict[str, dict[str, str]] = {"benchmark": {}, "metric": {}, "baseline": {}, "hardware": {}}
    for s in all_sections:
        options["benchmark"].setdefault(s.id, s.name)
        for b in s.boards:
            options["metric"].setdefault(b.metric, b.metric)
            options["baseline"].setdefault(b.baseline, b.baseline_name)
            if b.hardware:
                options["hardware"].setdefault(b.hardware, b.hardware_name)
        for u in s.unranked:
            options["metric"].setdefault(u.row.metric_label, u.row.metric_label)
            options["baseline"].setdefault(u.row.result.baseline, u.row.baseline_name)
            if u.row.result.hardware:
                options["hardware"].setdefault(u.row.result.hardware, u.row.hardware_name)
    return {k: sorted(v.items(), key=lambda kv: kv[1].lower()) for k, v in options.items()}


def best_over_time_svg(cell: Cell) -> str:
    """Every number of the cell by date (grey dots) and the running best (a step line with the
    work that set each best), so a reader sees how the cell's best result moved over time."""
    all_rows = sorted(cell.rows, key=lambda r: (r.entry.date, r.entry.id, r.index))
    steps = cell.best_over_time()
    months = [_month_index(r.entry.date) for r in all_rows]
    lo_m, hi_m = min(months), max(months)
    hi_m = max(hi_m, lo_m + 1)
    values = [r.result.value for r in all_rows]
    lo_v, hi_v = min(values + [0.0]), max(values)
    hi_v = hi_v if hi_v > lo_v else lo_v + 1
    left, top, plot_w, plot_h = 56, 18, 460, 150
    width, height = left + plot_w + 150, top + plot_h + 40

    def x(date: str) -> float:
        return left + (_month_index(date) - lo_m) / (hi_m - lo_m) * plot_w

    def y(v: float) -> float:
        return top + plot_h - (v - lo_v) / (hi_v - lo_v) * plot_h

    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{escape(_short(hi_v, cell))}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">{escape(_short(lo_v, cell))}</text>',
        f'<text x="{left}" y="{top + plot_h + 14}">{escape(all_rows[0].entry.date[:7])}</text>',
        f'<text x="{left + plot_w}" y="{top + plot_h + 14}" text-anchor="end">{escape(all_rows[-1].entry.date[:7])}</text>',
    ]
    for r in all_rows:
        label = f"{r.entry.id} ({r.result.model or ''}): {r.value_label}, {r.entry.date[:7]}"
        body.append(
            f'<circle cx="{x(r.entry.date):.1f}" cy="{y(r.result.value):.1f}" r="3" fill="#9e9e9e">'
            f"<title>{escape(label)}</title></circle>"
        )
    points: list[str] = []
    for i, (_, r) in enumerate(steps):
        px, py = x(r.entry.date), y(r.result.value)
        if points:
            points.append(f"{px:.1f},{points[-1].split(',')[1]}")
        points.append(f"{px:.1f},{py:.1f}")
        body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="#3f51b5"/>')
        body.append(
            f'<text x="{px + 6:.1f}" y="{py - 6 - (i % 2) * 10:.1f}" fill="#3f51b5">'
            f"{escape(r.entry.id)} {escape(r.value_label)}</text>"
        )
    end = x(all_rows[-1].entry.date)
    if points:
        points.append(f"{max(end, float(points[-1].split(',')[0])):.1f},{points[-1].split(',')[1]}")
        body.insert(
            0, f'<polyline points="{" ".join(points)}" fill="none" stroke="#3f51b5" stroke-width="2"/>'
        )
    title = f"Best reported result over time: {cell.title}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" font-family="sans-serif" font-size="10">\n'
        f"<title>{escape(title)}</title>\n" + "\n".join(body) + "\n</svg>\n"
    )


def _month_index(date: str) -> int:
    return int(date[:4]) * 12 + int(date[5:7]) - 1


def _short(value: float, cell: Cell) -> str:
    unit = cell.first.unit
    text = f"{value:.3g}" if not math.isclose(value, round(value)) else f"{value:.0f}"
    return {"%": f"{text}%", "x": f"{text}×"}.get(unit, text)
