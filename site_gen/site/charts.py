"""SVG charts drawn at build time (no JavaScript, no chart library): works per quarter per
stream, and a chronology of the field with one lane per stream."""

from __future__ import annotations

import math
from dataclasses import dataclass

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry
from site_gen.site.reproduced import SuiteReport, cell_text
from site_gen.site.xmltext import escape, quoteattr

PALETTE = ["#3f51b5", "#e65100", "#00897b", "#8e24aa", "#c62828", "#546e7a"]
MAX_PER_CELL = 60  # chronology labels per stream and quarter; past that, a link to the rest in the table
YEARS_SHOWN = 4  # quarters of the last four years get their own column; older works share one
EARLIER = (0, 0)  # the bucket key of works older than the quarters shown


@dataclass
class Quarter:
    label: str  # "2025 Q3"
    counts: dict[str, int]  # stream slug -> works

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _quarter(date: str) -> tuple[int, int]:
    return int(date[:4]), (int(date[5:7]) - 1) // 3 + 1


def _streams(kb: KnowledgeBase) -> list[str]:
    return [slug for slug, c in kb.categories.items() if c.parent is None]


def _entry_streams(kb: KnowledgeBase, entry: Entry) -> list[str]:
    found = {kb.categories[slug].stream for slug in entry.taxonomy}
    return [s for s in _streams(kb) if s in found]


def _buckets(kb: KnowledgeBase) -> list[tuple[tuple[int, int], str]]:
    """(key, label) of every column: each quarter of the last YEARS_SHOWN years up to the newest
    work, empty ones included, preceded by one "Before YYYY" column when older works exist."""
    if not kb.entries:
        return []
    last = max(_quarter(e.date) for e in kb.entries)
    first = max(min(_quarter(e.date) for e in kb.entries), (last[0] - YEARS_SHOWN + 1, 1))
    buckets, (year, q) = [], first
    while (year, q) <= last:
        buckets.append(((year, q), f"{year} Q{q}"))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    if any(_quarter(e.date) < first for e in kb.entries):
        buckets.insert(0, (EARLIER, f"Before {first[0]}"))
    return buckets


def _bucket(date: str, buckets: list[tuple[tuple[int, int], str]]) -> tuple[int, int]:
    quarter = _quarter(date)
    return EARLIER if buckets[0][0] == EARLIER and quarter < buckets[1][0] else quarter


def works_per_quarter(kb: KnowledgeBase) -> list[Quarter]:
    """Works per column of `_buckets`; a work in several streams counts once in each."""
    buckets = _buckets(kb)
    quarters = {key: Quarter(label, dict.fromkeys(_streams(kb), 0)) for key, label in buckets}
    for entry in kb.entries:
        for stream in _entry_streams(kb, entry):
            quarters[_bucket(entry.date, buckets)].counts[stream] += 1
    return list(quarters.values())


def _svg(width: int, height: int, title: str, body: list[str], role: str = "img", css_class: str = "") -> str:
    """An SVG document. A chart holding links is a `group`, not an `img`: an image's children are
    hidden from assistive technology, so links inside it could not be reached."""
    klass = f' class="{css_class}"' if css_class else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="{role}" aria-label={quoteattr(title)}{klass} font-family="sans-serif" font-size="11">\n'
        f"<title>{escape(title)}</title>\n" + "\n".join(body) + "\n</svg>\n"
    )


def quarter_chart_svg(quarters: list[Quarter], kb: KnowledgeBase) -> str:
    """Stacked bars, one per quarter, coloured by stream, with a legend."""
    streams = _streams(kb)
    bar, gap, left, top, plot_h = 26, 8, 40, 40, 220
    width = left + max(1, len(quarters)) * (bar + gap) + 20
    height = top + plot_h + 70
    peak = max((q.total for q in quarters), default=0) or 1
    scale = plot_h / peak
    body = []
    for i, slug in enumerate(streams):
        x: float = left + i * 150
        body.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>')
        body.append(f'<text x="{x + 16}" y="18">{escape(kb.categories[slug].name)}</text>')
    base = top + plot_h
    for tick in range(0, peak + 1, max(1, peak // 5)):
        y = base - tick * scale
        body.append(
            f'<line x1="{left - 4}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc" stroke-width="0.5"/>'
        )
        body.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for qi, quarter in enumerate(quarters):
        x = left + qi * (bar + gap) + gap / 2
        y = base
        for si, slug in enumerate(streams):
            count = quarter.counts[slug]
            if not count:
                continue
            h = count * scale
            y -= h
            label = f"{quarter.label}: {count} {kb.categories[slug].name}"
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                f'fill="{PALETTE[si % len(PALETTE)]}"><title>{escape(label)}</title></rect>'
            )
        if quarter.total:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{quarter.total}</text>'
            )
        body.append(
            f'<text x="{x + bar / 2:.1f}" y="{base + 12}" text-anchor="end" '
            f'transform="rotate(-60 {x + bar / 2:.1f} {base + 12})">{escape(quarter.label)}</text>'
        )
    return _svg(width, height, "Works per quarter and stream", body)


def short_name(entry: Entry) -> str:
    """What the chronology prints: the first alias, or the title up to its colon, shortened."""
    name = entry.aliases[0] if entry.aliases else entry.title.split(":")[0]
    return name if len(name) <= 22 else name[:21] + "…"


def chronology_svg(kb: KnowledgeBase) -> str:
    """One lane per stream, one column per quarter; each work a linked label in its lane(s)."""
    streams = _streams(kb)
    buckets = _buckets(kb)
    span = [key for key, _ in buckets]
    cells: dict[tuple[str, tuple[int, int]], list[Entry]] = {}
    # Newest first inside a column; past MAX_PER_CELL the rest are one link to the filtered table.
    for entry in sorted(kb.entries, key=lambda e: (e.date, e.id), reverse=True):
        for stream in _entry_streams(kb, entry):
            cells.setdefault((stream, _bucket(entry.date, buckets)), []).append(entry)
    col_w, row_h, left, top = 118, 15, 110, 30
    lane_rows = {
        s: max([min(len(cells.get((s, q), [])), MAX_PER_CELL + 1) for q in span] + [1]) for s in streams
    }
    width = left + max(1, len(span)) * col_w
    height = top + sum(lane_rows[s] * row_h + 16 for s in streams) + 10
    body = []
    for qi, (_, label) in enumerate(buckets):
        x = left + qi * col_w
        body.append(f'<line x1="{x}" x2="{x}" y1="{top - 12}" y2="{height}" stroke="#ddd"/>')
        body.append(f'<text x="{x + 4}" y="{top - 14}" font-weight="bold">{escape(label)}</text>')
    y = top
    for si, stream in enumerate(streams):
        color = PALETTE[si % len(PALETTE)]
        lane_h = lane_rows[stream] * row_h + 16
        body.append(
            f'<rect x="0" y="{y}" width="{width}" height="{lane_h}" fill="{color}" fill-opacity="0.06"/>'
        )
        body.append(
            f'<text x="6" y="{y + 16}" font-weight="bold" fill="{color}">{escape(kb.categories[stream].name)}</text>'
        )
        for qi, quarter in enumerate(span):
            works = cells.get((stream, quarter), [])
            x = left + qi * col_w + 6
            for ri, entry in enumerate(works[:MAX_PER_CELL]):
                ty = y + 14 + ri * row_h
                href = quoteattr(f"../papers/{entry.id}/")
                body.append(
                    f'<a href={href}><circle cx="{x}" cy="{ty - 4}" r="3" fill="{color}"/>'
                    f'<text x="{x + 6}" y="{ty}"><title>{escape(entry.title)}</title>{escape(short_name(entry))}</text></a>'
                )
            if len(works) > MAX_PER_CELL:
                ty = y + 14 + MAX_PER_CELL * row_h
                year = "" if quarter == EARLIER else f"&year={quarter[0]}"
                href = quoteattr(f"../works/?cat={stream}{year}")
                body.append(
                    f'<a href={href}><text x="{x + 6}" y="{ty}" fill="#555">'
                    f"{len(works) - MAX_PER_CELL} more in the table</text></a>"
                )
        y += lane_h
    return _svg(width, height, "Chronology of LLM-driven kernel generation", body, "group", "ka-chronology")


CHART_RANGE = (1 / 8, 8.0)  # speedups outside are drawn at the edge (the table has the number)


def speedup_chart_svg(title: str, suite: SuiteReport, baseline: str) -> str:
    """Horizontal bars per task and method: speedup over `baseline` on a log scale, 1× in the middle.
    A method without a correct kernel for a task gets a grey cross instead of a bar; tasks that no
    method was run on are left out."""
    lo, hi = (math.log2(v) for v in CHART_RANGE)
    left, plot_w, bar_h, top = 190, 420, 7, 46
    rows = [r for r in suite.rows if r.ran]  # tasks no method reached are left out
    group_h = bar_h * max(1, len(suite.methods)) + 8
    width, height = left + plot_w + 30, top + len(rows) * group_h + 30

    def x(v: float) -> float:
        return left + (min(max(math.log2(v), lo), hi) - lo) / (hi - lo) * plot_w

    body = []
    for i, run in enumerate(suite.methods):
        lx = left + i * 140
        body.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>')
        body.append(f'<text x="{lx + 16}" y="18">{escape(run.label)}</text>')
    base_y = top + len(rows) * group_h
    for k in range(int(lo), int(hi) + 1):
        tx = x(2.0**k)
        body.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top - 6}" y2="{base_y}" stroke="{"#555" if k == 0 else "#ddd"}"/>'
        )
        body.append(f'<text x="{tx:.1f}" y="{base_y + 14}" text-anchor="middle">{2.0**k:g}×</text>')
    body.append(f'<text x="{left + plot_w / 2}" y="{top - 12}" text-anchor="middle" fill="#555">'
                f"faster than {escape(baseline)} → (log scale)</text>")  # fmt: skip
    for ti, row in enumerate(rows):
        y0 = top + ti * group_h
        body.append(
            f'<text x="{left - 6}" y="{y0 + group_h / 2 + 2:.1f}" text-anchor="end">{escape(row.task)}</text>'
        )
        for mi, run in enumerate(suite.methods):
            rec = run.record(row.task)
            y = y0 + mi * bar_h + 4
            value = (rec.get("speedups") or {}).get(baseline) if rec.get("correct") else None
            if isinstance(value, int | float) and value > 0:
                a, b = sorted((x(1.0), x(value)))
                label = f"{row.task}, {run.label}: {value:.2f}× vs {baseline}"
                body.append(f'<rect x="{a:.1f}" y="{y}" width="{max(b - a, 1):.1f}" height="{bar_h - 1}" '
                            f'fill="{PALETTE[mi % len(PALETTE)]}"><title>{escape(label)}</title></rect>')  # fmt: skip
            else:
                label = f"{row.task}, {run.label}: {cell_text(rec)}"
                body.append(f'<text x="{x(1.0) + 3:.1f}" y="{y + bar_h - 1}" fill="#999" font-size="8">'
                            f"✕<title>{escape(label)}</title></text>")  # fmt: skip
    return _svg(width, height, title, body)
