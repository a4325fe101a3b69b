"""`python -m site_gen export --out DIR`: the knowledge base as papers.json, papers.csv and papers.bib.

JSON keeps every field and adds each category's resolved name and path, so consumers need not
read the taxonomy; CSV has one row per entry, list fields joined by '; ', for spreadsheets.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from site_gen.kb.load import KnowledgeBase, load_knowledge_base
from site_gen.kb.model import Entry, Links
from site_gen.kb.paths import PAPERS_DIR, add_root_argument
from site_gen.kb.problems import dotted
from site_gen.kb.results import results_files
from site_gen.outputs.bib import papers_bib
from site_gen.outputs.write import OutputError, write_text_atomic

LIST_SEPARATOR = "; "
_CSV_LISTS = [
    "aliases",
    "authors",
    "organizations",
    "taxonomy",
    "languages",
    "hardware",
    "techniques",
    "benchmarks",
]


def entry_record(kb: KnowledgeBase, entry: Entry) -> dict[str, Any]:
    """All fields of an entry plus `categories`: slug, name and the names from the stream down."""
    record = entry.model_dump(mode="json")
    record["categories"] = [
        {"slug": slug, "name": kb.categories[slug].name, "path": [c.name for c in kb.category_path(slug)]}
        for slug in entry.taxonomy
    ]
    return record


def _non_finite(
    value: object, path: tuple[str | int, ...] = ()
) -> tuple[tuple[str | int, ...], float] | None:
    """The first NaN or infinity in `value` (nested dicts and lists) and where it is."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if found := _non_finite(item, (*path, key)):
            return found
    return None


def papers_json(kb: KnowledgeBase) -> str:
    """Every entry as JSON that a browser's JSON.parse reads: NaN and infinities are refused
    (JSON has no spelling for them), naming the entry and the field that holds one."""
    records = [entry_record(kb, entry) for entry in kb.entries]
    data = {"count": len(records), "entries": records}
    try:
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:  # only then look for the entry and field that holds one
        for entry in kb.entries:
            if found := _non_finite(entry.model_dump()):
                path, value = found
                raise OutputError(
                    f"{PAPERS_DIR}/{entry.id}.yaml: {dotted(path)}: {value} is not a finite number,"
                    " which JSON cannot hold (write the number the paper reports)"
                ) from None
        raise


def papers_csv(kb: KnowledgeBase) -> str:
    link_names = list(Links.model_fields)
    columns = ["id", "title", "date", "venue", "arxiv", "doi", "kind", *_CSV_LISTS, "categories"]
    columns += [*link_names, "summary", "results"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for entry in kb.entries:
        row: dict[str, Any] = {
            name: getattr(entry, name) or ""
            for name in ("id", "title", "date", "venue", "arxiv", "doi", "kind")
        }
        row.update({name: LIST_SEPARATOR.join(getattr(entry, name)) for name in _CSV_LISTS})
        row["categories"] = LIST_SEPARATOR.join(kb.categories[slug].name for slug in entry.taxonomy)
        row.update({name: getattr(entry.links, name) or "" for name in link_names})
        row["summary"] = entry.summary
        row["results"] = len(entry.results)
        writer.writerow(row)
    return out.getvalue()


def export_files(kb: KnowledgeBase, bibs: dict[str, str] | None = None) -> dict[str, str]:
    """File name -> content of every export, for the CLI and for the site's download page
    (`bibs`: each entry's BibTeX, when the caller has it already)."""
    return {
        "papers.json": papers_json(kb),
        "papers.csv": papers_csv(kb),
        "papers.bib": papers_bib(kb.entries, bibs),
        **results_files(kb),
    }


def write_exports(kb: KnowledgeBase, out_dir: Path) -> list[Path]:
    """Each file is replaced atomically; `out_dir` is created when missing."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(
            f"{out_dir} is a file: --out takes the directory to write papers.json, papers.csv,"
            " papers.bib, results.csv and results.json into (name a directory, e.g. build/exports)"
        )
    paths = []
    for name, content in export_files(kb).items():
        write_text_atomic(out_dir / name, content)
        paths.append(out_dir / name)
    return paths


def run(args: argparse.Namespace) -> int:
    for path in write_exports(load_knowledge_base(Path(args.root)), Path(args.out)):
        print(f"wrote {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="write papers.json, papers.csv, papers.bib, results.csv and results.json"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    add_root_argument(parser)
    parser.set_defaults(func=run)
