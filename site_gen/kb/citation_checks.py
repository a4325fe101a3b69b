"""Checks that keep an entry citable: who wrote it, when and where it appeared, where it is filed.

They catch what the exported BibTeX would otherwise get wrong: a paper without authors, an
@inproceedings whose year is not the conference's, a venue older than the work, and a
category that has sub-categories (entries are filed under leaves).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import bibtexparser

from site_gen.kb.paths import CATEGORIES_FILE

if TYPE_CHECKING:
    from site_gen.kb.entry_checks import EntryChecker

_VENUE_YEAR_RE = re.compile(r"\b((?:19|20)\d{2})\b")
_PREPRINT_RE = re.compile(r"arxiv|corr|preprint", re.IGNORECASE)
# Links that show a work was public before its arXiv paper (software, posts, releases).
_EARLY_RELEASE_LINKS = ("code", "blog", "project", "docs", "model", "dataset")


def venue_year(venue: object) -> int | None:
    """The year a venue string names ("ICLR 2026" -> 2026), if it names exactly one."""
    if not isinstance(venue, str):
        return None
    years = set(_VENUE_YEAR_RE.findall(venue))
    return int(years.pop()) if len(years) == 1 else None


def is_paper(data: dict[str, Any]) -> bool:
    """A published paper: it has a venue or a DOI (its BibTeX is @inproceedings or @article)."""
    return bool(data.get("doi") or data.get("venue"))


def check_citation(checker: EntryChecker) -> None:
    data = checker.data
    _check_authors(checker, data)
    _check_venue_year(checker, data)
    _check_leaf_categories(checker, data)


def _check_authors(checker: EntryChecker, data: dict[str, Any]) -> None:
    if data.get("authors") or data.get("bibtex"):
        return
    if is_paper(data):
        checker.add(
            ("authors",),
            "a paper needs its authors (the exported BibTeX would have none)",
            "add `authors: [First Last, ...]` in the order of the paper or release",
        )
    elif data.get("arxiv") and not data.get("organizations"):
        checker.add(
            ("authors",),
            "a preprint needs its authors (the exported BibTeX would have none)",
            "add `authors: [First Last, ...]` in the order of the paper",
        )
    elif not data.get("organizations"):
        checker.add(
            ("authors",),
            "needs `authors` or `organizations` (the exported BibTeX would have no author)",
            "add `authors:` (a post or report has authors) or `organizations: [Name]` for a project, "
            "product or documentation set",
        )


def _check_venue_year(checker: EntryChecker, data: dict[str, Any]) -> None:
    year = venue_year(data.get("venue"))
    date = data.get("date")
    if year is None or not isinstance(date, str) or not date[:4].isdigit():
        return
    if year < int(date[:4]):
        checker.add(
            ("venue",),
            f"venue year {year} is before the work's date {date}",
            "date is the first public release; check both",
        )
    bibtex = data.get("bibtex")
    if not isinstance(bibtex, str):
        return
    library = bibtexparser.parse_string(bibtex)
    if len(library.entries) != 1:
        return  # reported by check_bibtex
    stored = library.entries[0]
    bib_year = stored.fields_dict.get("year")
    if stored.entry_type.lower() in ("inproceedings", "article") and bib_year is not None:
        text = str(bib_year.value).strip('{}" ')
        if text.isdigit() and int(text) != year:
            checker.add(
                ("bibtex",),
                f"@{stored.entry_type} year {text} contradicts the venue ({data['venue']})",
                f"set year = {{{year}}}: a proceedings paper is cited with its conference's year",
            )


def _check_leaf_categories(checker: EntryChecker, data: dict[str, Any]) -> None:
    taxonomy = data.get("taxonomy")
    if not isinstance(taxonomy, list):
        return
    categories = checker.context.categories
    for i, slug in enumerate(taxonomy):
        category = categories.get(slug) if isinstance(slug, str) else None
        if category is not None and category.children:
            leaves = ", ".join(category.children)
            checker.add(
                ("taxonomy", i),
                f"{slug!r} has sub-categories; entries are filed under a leaf",
                f"use the sub-category that fits ({leaves}); see {CATEGORIES_FILE}",
            )


def check_arxiv_date(
    checker: EntryChecker, year_month: tuple[int, int] | None, issued: tuple[int, int]
) -> None:
    """`date` is the first public release: the first arXiv version for a preprint, earlier for
    software or posts that had a paper later (then a link must show the earlier release)."""
    if year_month is None or issued == year_month:
        return
    arxiv, date = checker.data["arxiv"], checker.data["date"]
    when = f"{issued[0]}-{issued[1]:02d}"
    if issued < year_month:
        checker.add(
            ("arxiv",),
            f"arXiv id {arxiv} was issued in {when}, before the date {date}",
            f"set date to the first arXiv version ({when}) or correct the id",
        )
        return
    links = checker.data.get("links")
    early = isinstance(links, dict) and any(links.get(name) for name in _EARLY_RELEASE_LINKS)
    if not early:
        checker.add(
            ("arxiv",),
            f"arXiv id {arxiv} was issued in {when} but date is {date}",
            f"set date to the first arXiv version ({when}); if the work was public earlier, "
            "link that release (links.code, blog or project)",
        )


def bib_year(venue: str | None, date: str) -> str:
    """The year BibTeX should carry: the venue's for published papers, else the release year."""
    year = venue_year(venue)
    if year is not None and venue and not _PREPRINT_RE.search(venue):
        return str(year)
    return date[:4]
