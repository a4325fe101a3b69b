"""The checks of one entry file: the entry model's errors turned into editor-friendly problems,
then facts the model cannot express (real dates, known slugs, URLs, BibTeX that parses).

References to other entries are only recorded here; `site_gen.kb.check` resolves them once
every file is read. Imports only the rest of `site_gen.kb`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import bibtexparser
from pydantic import BaseModel, ValidationError

from site_gen.kb import citation_checks, result_checks
from site_gen.kb.model import FACETS, BenchmarkInfo, Entry, Links, Result, Subset
from site_gen.kb.paths import CATEGORIES_FILE, VOCABULARIES_FILE
from site_gen.kb.problems import Problem, dotted
from site_gen.kb.taxonomy import Category, Vocab, VocabTerm
from site_gen.kb.yaml_lines import ParsedYaml

# bibtexparser logs its own warning for every block it cannot parse; our message replaces it.
logging.getLogger("bibtexparser").setLevel(logging.ERROR)

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_PREPRINT_VENUES = {"arxiv", "arxiv preprint", "preprint", "corr"}
_NEW_ARXIV_RE = re.compile(r"^(\d{2})(\d{2})\.(\d{4,5})$")
_OLD_ARXIV_RE = re.compile(r"^[a-z-]+(?:\.[A-Z]{2})?/\d{2}(\d{2})\d{3}$")
ARXIV_FIX = "copy the id from the paper's arXiv page, e.g. 2502.10517"
_FIX_BY_FIELD = {
    "date": "write YYYY-MM or YYYY-MM-DD, e.g. 2025-03-14",
    "added": "write YYYY-MM-DD, e.g. 2025-03-14",
    "arxiv": "write the bare id without version, e.g. 2502.10517",
    "doi": "write the bare DOI without https://doi.org/, e.g. 10.1145/3620666.3651340",
    "id": "use lower-case letters, digits and '-', matching the file name",
    "benchmark": "write the id of the benchmark's entry, e.g. kernelbench",
}


def arxiv_never_issued(arxiv: str) -> str | None:
    """Why an id of the right shape cannot be a real arXiv id (a month 13, too many digits for
    its year), or None. arXiv's YYMM.NNNN scheme began in April 2007 and went to five digits in 2015."""
    if old := _OLD_ARXIV_RE.match(arxiv):
        month = int(old[1])
        return None if 1 <= month <= 12 else f"there is no month {month:02d}"
    match = _NEW_ARXIV_RE.match(arxiv)
    if not match:
        return None
    year, month, digits = int(match[1]), int(match[2]), len(match[3])
    if not 1 <= month <= 12:
        return f"there is no month {month:02d}"
    if (year, month) < (7, 4):
        return "ids of this form start in April 2007 (0704.NNNN)"
    if year < 15 and digits == 5:
        return "ids issued before 2015 have 4 digits after the dot"
    if year >= 15 and digits == 4:
        return "ids issued since 2015 have 5 digits after the dot"
    return None


@dataclass(frozen=True)
class CheckContext:
    """What every file's checks need to know; sent once to each worker process."""

    categories: dict[str, Category]
    vocab: Vocab
    today: dt.date


@dataclass
class Reference:
    """A mention of another entry's id, resolved once every file is read."""

    file: str
    line: int
    field: str
    target: str


def suggest(value: str, terms: dict[str, VocabTerm] | dict[str, Category], source: str) -> str:
    """A fix for an unknown slug: the alias it stands for, close matches, or the allowed values."""
    for slug, term in terms.items():
        if value in getattr(term, "aliases", ()):
            return f"{value!r} is an alias: write {slug!r}"
    spelled = {slug: slug for slug in terms}
    for slug, term in terms.items():
        spelled.setdefault(term.name.lower(), slug)
        for alias in getattr(term, "aliases", ()):
            spelled.setdefault(alias, slug)
    wanted = value.lower().strip()
    close = [spelled[m] for m in difflib.get_close_matches(wanted, spelled, n=5, cutoff=0.6)]
    close = list(dict.fromkeys(close))[:3]
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    if len(terms) <= 14:
        return "allowed: " + ", ".join(terms)
    return f"see {source} for the allowed values"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel]:
    """The model class that owns the field at `loc` (nested blocks have their own fields)."""
    if "results" in loc:
        return Result
    if "links" in loc:
        return Links
    if loc[:2] == ("benchmark", "subsets") and len(loc) > 3:
        return Subset
    if loc[:1] == ("benchmark",) and len(loc) > 1:
        return BenchmarkInfo
    return Entry


def _field_description(loc: tuple[str | int, ...]) -> str:
    model = _model_at(loc)
    name = next((step for step in reversed(loc) if isinstance(step, str)), "")
    info = model.model_fields.get(name)
    return (info.description or "") if info else ""


class EntryChecker:
    """Checks one parsed entry file and records its problems and cross-references."""

    def __init__(self, rel: str, stem: str, parsed: ParsedYaml, context: CheckContext):
        self.rel, self.stem, self.parsed, self.data = rel, stem, parsed, parsed.data
        self.context, self.today = context, context.today
        self.problems: list[Problem] = []
        self.references: list[Reference] = []
        self.subset_refs: list[result_checks.SubsetReference] = []

    def add(self, path: tuple[str | int, ...], message: str, fix: str = "") -> None:
        self.problems.append(Problem(self.rel, self.parsed.line_of(path), dotted(path), message, fix))

    def run(self) -> Entry | None:
        entry = self.check_model()
        self.check_facts()
        return entry

    def check_model(self) -> Entry | None:
        try:
            return Entry.model_validate(self.data)
        except ValidationError as exc:
            for error in exc.errors():
                self.add_model_error(error)
        return None

    def add_model_error(self, error: Mapping[str, Any]) -> None:
        loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
        name = next((step for step in reversed(loc) if isinstance(step, str)), "")
        if kind == "missing":
            description = _field_description(loc)
            self.add(
                loc,
                "required field is missing",
                f"add `{name}:`" + (f" ({description})" if description else ""),
            )
        elif kind == "extra_forbidden":
            model = _model_at(loc)
            close = difflib.get_close_matches(name, model.model_fields, n=1)
            fix = (
                f"did you mean {close[0]!r}?"
                if close
                else "remove it; allowed: " + ", ".join(model.model_fields)
            )
            if model is Subset and " " in name.strip():  # `{description: a, b}` splits at the comma
                fix = (
                    f"a comma inside {{...}} ends the value before it, so {name.strip()!r} became a field of its "
                    'own: put the text in quotes, e.g. description: "…, …"'
                )
            self.add(loc, "unknown field", fix)
        elif kind == "string_type" and isinstance(value, (int, float)):
            raw = self.parsed.raw_scalar(loc) or value
            self.add(loc, f"{raw} is read as a number, not text", f'quote it: {name}: "{raw}"')
        elif kind == "string_pattern_mismatch":
            fix = _FIX_BY_FIELD.get(name, _field_description(loc))
            if name == "arxiv" and "results" in loc:
                fix = "write the version the number is read from, e.g. 2502.10517v2"
            elif name == "arxiv" and isinstance(value, str) and re.search(r"v\d+$", value):
                fix = f"drop the version suffix: {re.sub(r'v[0-9]+$', '', value)}"
            self.add(loc, f"{value!r} is not a valid {name}", fix)
        elif kind == "string_too_long" and isinstance(value, str):
            limit = error.get("ctx", {}).get("max_length")
            self.add(
                loc,
                f"{len(value)} characters, at most {limit} allowed",
                "shorten it; the full text belongs in the paper",
            )
        elif kind in ("string_too_short", "too_short") and value in ("", []):
            self.add(loc, "is empty", _field_description(loc))
        elif kind == "list_type":
            self.add(loc, "must be a list", f"write `{name}: [a, b]` or one `- item` per line")
        elif kind == "model_type" or kind == "dict_type":
            self.add(loc, "must be a mapping of field: value", _field_description(loc))
        else:
            self.add(loc, error["msg"], _field_description(loc))

    def check_facts(self) -> None:
        data = self.data
        if isinstance(data.get("id"), str) and data["id"] != self.stem:
            self.add(
                ("id",),
                f"id {data['id']!r} does not match the file name {self.stem}.yaml",
                f"set `id: {self.stem}` or rename the file to {data['id']}.yaml",
            )
        venue = data.get("venue")
        if isinstance(venue, str) and venue.strip().lower() in _PREPRINT_VENUES:
            self.add(
                ("venue",),
                f"{venue!r} is not a venue: preprints have none",
                "delete the `venue:` line; the arXiv id already says where it is",
            )
        year_month = self.check_date("date")
        self.check_date("added")
        self.check_arxiv_date(year_month)
        links = data.get("links")
        if isinstance(links, dict):
            for name, url in links.items():
                if isinstance(url, str):
                    self.check_url(("links", name), url)
        for name, group in FACETS.items():
            values = data.get(name)
            if isinstance(values, str) and name == "kind":
                self.check_term((name,), values, group)
            elif isinstance(values, list):
                for i, value in enumerate(values):
                    if isinstance(value, str):
                        self.check_term((name, i), value, group)
        taxonomy = data.get("taxonomy")
        if isinstance(taxonomy, list):
            for i, slug in enumerate(taxonomy):
                if isinstance(slug, str) and slug not in self.context.categories:
                    self.add(
                        ("taxonomy", i),
                        f"unknown category {slug!r}",
                        suggest(slug, self.context.categories, CATEGORIES_FILE),
                    )
        benchmarks = data.get("benchmarks")
        if isinstance(benchmarks, list):
            for i, target in enumerate(benchmarks):
                if isinstance(target, str):
                    self.refer(("benchmarks", i), target)
        results = data.get("results")
        if isinstance(results, list):
            for i, result in enumerate(results):
                if isinstance(result, dict):
                    self.check_result(i, result)
        if isinstance(data.get("bibtex"), str):
            self.check_bibtex(data["bibtex"])
        if isinstance(data.get("benchmark"), dict):
            self.check_benchmark_block(data["benchmark"])
        citation_checks.check_citation(self)

    def check_date(self, name: str) -> tuple[int, int] | None:
        """Checks a date the model's pattern accepted; returns (year, month) when it is usable."""
        value = self.data.get(name)
        match = _DATE_RE.match(value) if isinstance(value, str) else None
        if not match:
            return None
        year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
        try:
            dt.date(year, month, day)
        except ValueError:
            self.add((name,), f"{value} is not a real date", "check the day of the month")
            return None
        if (year, month, day if match[3] else 1) > (
            self.today.year,
            self.today.month,
            self.today.day if match[3] else 1,
        ):
            self.add(
                (name,),
                f"{value} is in the future (today is {self.today.isoformat()})",
                "use the date of the first public release",
            )
            return None
        return year, month

    def check_arxiv_date(self, year_month: tuple[int, int] | None) -> None:
        arxiv = self.data.get("arxiv")
        if isinstance(arxiv, str) and (reason := arxiv_never_issued(arxiv)):
            self.add(("arxiv",), f"{arxiv!r} was never issued: {reason}", ARXIV_FIX)
            return
        match = _NEW_ARXIV_RE.match(arxiv) if isinstance(arxiv, str) else None
        if not match or year_month is None:
            return
        issued = (2000 + int(match[1]), int(match[2]))
        citation_checks.check_arxiv_date(self, year_month, issued)

    def check_url(self, path: tuple[str | int, ...], url: str) -> None:
        parts = urlparse(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in url.strip():
            self.add(
                path,
                f"{url!r} is not an http(s) URL",
                "write the full address, e.g. https://arxiv.org/abs/2502.10517",
            )

    def check_term(self, path: tuple[str | int, ...], value: str, group: str) -> None:
        terms = self.context.vocab.get(group, {})
        if not value:
            self.add(path, "is empty", "allowed: " + ", ".join(terms))
        elif value not in terms:
            self.add(
                path,
                f"unknown {group} term {value!r}",
                suggest(value, terms, f"{VOCABULARIES_FILE} ({group})"),
            )

    def check_result(self, i: int, result: dict[str, Any]) -> None:
        ref = result_checks.check_result(self, i, result)
        if ref is not None:
            self.subset_refs.append(ref)

    def check_benchmark_block(self, block: dict[str, Any]) -> None:
        taxonomy = self.data.get("taxonomy")
        in_benchmarks = isinstance(taxonomy, list) and "benchmarks" in taxonomy
        results = self.data.get("results")
        own_set = isinstance(results, list) and any(
            isinstance(r, dict) and r.get("benchmark") == self.data.get("id") for r in results
        )  # a method evaluated on its own task set declares that set's subsets here
        if self.data.get("kind") != "benchmark" and not in_benchmarks and not own_set:
            self.add(
                ("benchmark",),
                "a benchmark block belongs to benchmark entries only",
                "set `kind: benchmark`, add `benchmarks` to taxonomy, or move the block to the benchmark's entry "
                "(a method's own task set may keep it when the method's results name it)",
            )
        for name, group in (("baselines", "baselines"), ("reference_hardware", "devices")):
            values = block.get(name)
            if isinstance(values, list):
                for i, value in enumerate(values):
                    if isinstance(value, str):
                        self.check_term(("benchmark", name, i), value, group)

    def check_bibtex(self, text: str) -> None:
        library = bibtexparser.parse_string(text)
        if library.failed_blocks:
            block = library.failed_blocks[0]
            error = block.error
            reason = getattr(error, "abort_reason", None) or str(error) or type(error).__name__
            self.add(
                ("bibtex",),
                f"BibTeX does not parse (its line {(block.start_line or 0) + 1}): {reason}",
                "check braces, commas and the citation key",
            )
        elif len(library.entries) != 1:
            self.add(
                ("bibtex",),
                f"BibTeX holds {len(library.entries)} entries, expected exactly 1",
                "keep only this work's @type{key, ...} entry",
            )

    def refer(self, path: tuple[str | int, ...], target: str) -> None:
        self.references.append(Reference(self.rel, self.parsed.line_of(path), dotted(path), target))
