"""`python -m site_gen bib`: the whole knowledge base as one BibTeX file.

The citation key of every work is its entry id: unique (it is the file name), stable across
runs and readable (`\\cite{cudaforge}`). An entry's own `bibtex:` keeps its fields exactly as
written (values are neither decoded nor re-enclosed) and only gets our key; other entries get
@inproceedings/@article/@misc built from their fields, with LaTeX specials escaped.
"""

from __future__ import annotations

import argparse
import calendar
import re
from pathlib import Path

import bibtexparser
from bibtexparser import BibtexFormat
from bibtexparser.library import Library
from bibtexparser.model import Block, Field
from bibtexparser.model import Entry as BibEntry

from site_gen.kb.citation_checks import bib_year
from site_gen.kb.load import load_knowledge_base
from site_gen.kb.model import Entry
from site_gen.kb.paths import add_root_argument
from site_gen.outputs.write import write_output

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))
_PREPRINT_RE = re.compile(r"arxiv|corr|preprint", re.IGNORECASE)
_JOURNAL_RE = re.compile(r"journal|transactions|letters|magazine", re.IGNORECASE)


def _format() -> BibtexFormat:
    fmt = BibtexFormat()
    fmt.indent = "  "
    fmt.block_separator = "\n"
    return fmt


def latex_escape(text: str) -> str:
    """Escape the characters that mean something to LaTeX, so titles print as written."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m[0]], text)


def _braced(text: str) -> str:
    return "{" + latex_escape(text) + "}"


def _from_stored(entry: Entry) -> BibEntry:
    """The entry's own BibTeX, values untouched (no parse middleware), under our citation key."""
    library = bibtexparser.parse_string(entry.bibtex or "", parse_stack=[])
    stored = library.entries[0]
    return BibEntry(stored.entry_type, entry.id, stored.fields)


# Kinds whose works are software, data or documentation rather than papers.
_MANUAL_KINDS = {"documentation", "tutorial"}


def _from_fields(entry: Entry) -> BibEntry:
    """@inproceedings for a venue, @article for a journal, @manual for documentation, @misc for
    preprints, software and everything else. A work without named authors is credited to its
    organizations (braced, so BibTeX does not split them into first and last names)."""
    fields = [Field("title", "{" + _braced(entry.title) + "}")]  # double braces keep the capitals
    if entry.authors:
        fields.append(Field("author", _braced(" and ".join(entry.authors))))
    elif entry.organizations:
        fields.append(Field("author", "{" + " and ".join(_braced(o) for o in entry.organizations) + "}"))
    kind = "manual" if entry.kind in _MANUAL_KINDS and not entry.venue else "misc"
    if entry.venue and not _PREPRINT_RE.search(entry.venue):
        kind = "article" if _JOURNAL_RE.search(entry.venue) else "inproceedings"
        fields.append(Field("journal" if kind == "article" else "booktitle", _braced(entry.venue)))
    elif entry.organizations and (entry.authors or kind == "manual"):
        fields.append(Field("organization", _braced(", ".join(entry.organizations))))
    year, month = bib_year(entry.venue, entry.date), int(entry.date[5:7])
    fields.append(Field("year", year))
    if year == entry.date[:4]:  # the release month; a proceedings year has its own month
        fields.append(Field("month", calendar.month_abbr[month].lower()))
    if entry.doi:
        fields.append(Field("doi", _braced(entry.doi)))
    if entry.arxiv:
        fields += [Field("eprint", _braced(entry.arxiv)), Field("archivePrefix", "{arXiv}")]
    url = entry.links.paper or (f"https://arxiv.org/abs/{entry.arxiv}" if entry.arxiv else None)
    url = url or next((u for u in entry.links.model_dump().values() if u), None)
    if url:
        fields.append(Field("url", "{" + url.replace("%", r"\%").replace("#", r"\#") + "}"))
    if kind == "misc" and not entry.arxiv and not entry.doi and url:
        fields.append(Field("howpublished", "{\\url{" + url.replace("%", r"\%").replace("#", r"\#") + "}}"))
    return BibEntry(kind, entry.id, fields)


def bib_entry(entry: Entry) -> BibEntry:
    return _from_stored(entry) if entry.bibtex else _from_fields(entry)


def _write(blocks: list[BibEntry]) -> str:
    return bibtexparser.write_string(Library(list[Block](blocks)), unparse_stack=[], bibtex_format=_format())


def bibtex_by_id(entries: list[Entry]) -> dict[str, str]:
    """Each entry's BibTeX on its own (for per-entry pages and copy buttons)."""
    return {entry.id: _write([bib_entry(entry)]) for entry in entries}


def papers_bib(entries: list[Entry], by_id: dict[str, str] | None = None) -> str:
    """One .bib holding every entry, in the order given: the entries' own BibTeX one after the
    other (`by_id` when the caller already has them from `bibtex_by_id`)."""
    by_id = bibtex_by_id(entries) if by_id is None else by_id
    return "\n".join(by_id[entry.id] for entry in entries)


def run(args: argparse.Namespace) -> int:
    write_output(papers_bib(load_knowledge_base(Path(args.root)).entries), args.out, "papers.bib")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bib", help="write every entry as BibTeX (citation key = entry id)")
    parser.add_argument("--out", default="-", metavar="FILE", help="output file (default: standard output)")
    add_root_argument(parser)
    parser.set_defaults(func=run)
