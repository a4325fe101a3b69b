"""The Compare page: two to four works side by side, drawn in the browser from one compact data
file (`compare/data.json`) with only what the page shows. The full downloads (papers.json and
results.json, 2.4 MB for the real knowledge base) held every field of every work and repeated
each number's comparison cell and source in full; the page fetched both before it could draw."""

from __future__ import annotations

import json

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.results import PRIORITY, WHOLE, CellKey, rows

DATA_PATH = "compare/data.json"
# What the page shows of a work, and of a comparison cell (the fields that make numbers comparable).
WORK_FIELDS = (
    "id", "title", "aliases", "kind", "date", "venue", "authors", "organizations", "languages",
    "hardware", "techniques", "benchmarks", "summary",
)  # fmt: skip
CELL_FIELDS = (
    "cell", "benchmark", "subset", "benchmark_version", "metric", "aggregate", "p", "k", "baseline", "hardware",
)  # fmt: skip
# A number: its cell (an index into `cells`), value, unit, model and source (an index into `urls`, or -1).
NUMBER_FIELDS = ("cell", "value", "unit", "model", "url", "arxiv")


def names_script(kb: KnowledgeBase) -> str:
    """A JSON object for a <script type="application/json"> block: `<`, `>` and `&` are
    \\u-escaped so no name can end the block."""
    vocab = {group: {slug: term.name for slug, term in terms.items()} for group, terms in kb.vocab.items()}
    higher = {slug: term.higher_is_better is not False for slug, term in kb.vocab["metrics"].items()}
    subsets = {
        e.id: {slug: s.name for slug, s in e.benchmark.subsets.items()}
        for e in kb.entries
        if e.benchmark and e.benchmark.subsets
    }
    data = {"vocab": vocab, "higher": higher, "subsets": subsets, "whole": WHOLE, "first": list(PRIORITY)}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def data_json(kb: KnowledgeBase) -> str:
    """The page's data: each work's shown fields (categories as their paths from the stream
    down, the count of its numbers), each comparison cell once, each source URL once, and each
    work's numbers as short rows pointing into them."""
    works = []
    for entry in kb.entries:
        work = {name: getattr(entry, name) for name in WORK_FIELDS}
        work["categories"] = [[c.name for c in kb.category_path(slug)] for slug in entry.taxonomy]
        work["numbers"] = len(entry.results)
        works.append(work)
    cells: dict[CellKey, int] = {}
    cell_rows: list[list[object]] = []
    urls: dict[str, int] = {}
    numbers: dict[str, list[list[object]]] = {}
    for row in rows(kb):  # the fields as Row.as_record writes them, each cell and URL once
        r = row.result
        index = cells.get(row.cell)
        if index is None:
            index = cells[row.cell] = len(cell_rows)
            p, k = ("" if r.p is None else r.p), ("" if r.k is None else r.k)
            cell_rows.append(
                [row.cell.slug, r.benchmark, r.subset or "", r.benchmark_version or "", r.metric,
                 r.aggregate, p, k, r.baseline, r.hardware or ""]
            )  # fmt: skip
        url = r.url or ""
        if url and url not in urls:
            urls[url] = len(urls)
        number = [index, r.value, row.unit, r.model or "", urls.get(url, -1), r.arxiv or ""]
        numbers.setdefault(row.entry.id, []).append(number)
    data = {
        "works": works,
        "cell_fields": CELL_FIELDS,
        "cells": cell_rows,
        "urls": list(urls),
        "number_fields": NUMBER_FIELDS,
        "numbers": numbers,
    }
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
