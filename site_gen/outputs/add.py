"""`python -m site_gen add`: start a new entry from BibTeX or from an arXiv id and a title.

The command fills every field it can know (id, title, authors, date, venue, arXiv id, DOI,
links, BibTeX), refuses works already in the knowledge base, never overwrites a file, and then
runs the checker on the new file so the contributor sees exactly which fields are left to fill.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser
import yaml
from bibtexparser.middlewares import LatexDecodingMiddleware

from site_gen.kb.check import check_file, duplicate_keys, unreadable_entry
from site_gen.kb.entry_checks import ARXIV_FIX, CheckContext, arxiv_never_issued, suggest
from site_gen.kb.paths import CATEGORIES_FILE, PAPERS_DIR, VOCABULARIES_FILE, add_root_argument
from site_gen.kb.problems import Problem
from site_gen.kb.taxonomy import load_categories, load_vocabularies
from site_gen.kb.yaml_lines import error_line, error_text, parse_yaml
from site_gen.outputs.write import create_text_atomic

_ARXIV_IN_TEXT = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?![\d])")
# What --arxiv accepts: the id as arXiv shows it, with or without version, prefix or URL.
_ARXIV_ARGUMENT = re.compile(
    r"^(?:arxiv:|(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)?"
    r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_DATE_ARGUMENT = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_DATE_FIX = "write YYYY-MM or YYYY-MM-DD, e.g. 2025-03-14"
# What YAML (and so an entry file) cannot hold: control characters other than tab and line breaks.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_name) if name})
_STOPWORDS = {
    "a",
    "an",
    "the",
    "of",
    "for",
    "and",
    "to",
    "in",
    "on",
    "with",
    "via",
    "by",
    "towards",
    "toward",
}


class AddError(Exception):
    """A problem with the user's input; the message says what to change."""


@dataclass
class Draft:
    """What we know about a work before it becomes an entry file."""

    title: str
    authors: list[str] = field(default_factory=list)
    date: str | None = None
    venue: str | None = None
    arxiv: str | None = None
    doi: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    bibtex: str | None = None
    source: str = "--date"  # where `date` came from, for messages: "--date" or "entry 'key': date"


def normalize_arxiv(text: str) -> str | None:
    """The bare arXiv id in 'arXiv:2502.10517v2', an abs/pdf URL, or the id itself."""
    match = _ARXIV_IN_TEXT.search(text.strip())
    return match[1] if match else None


def arxiv_month(arxiv: str) -> str | None:
    """New-style ids (YYMM.NNNNN) carry the month of their first version."""
    match = re.match(r"^(\d{2})(\d{2})\.\d{4,5}$", arxiv)
    return f"20{match[1]}-{match[2]}" if match and 1 <= int(match[2]) <= 12 else None


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def derive_id(title: str, taken: set[str]) -> str:
    """'CudaForge: An Agent ...' -> 'cudaforge'; otherwise the first significant words of the title."""
    head, colon, _ = title.partition(":")
    if colon and 1 <= len(head.split()) <= 3 and slugify(head):
        base = slugify(head)
    else:
        words = [w for w in slugify(title).split("-") if w and w not in _STOPWORDS]
        base = "-".join(words[:4]) or "entry"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _short_name(title: str) -> str | None:
    head, colon, _ = title.partition(":")
    return head.strip() if colon and 1 <= len(head.split()) <= 3 else None


def _person(name: str) -> str:
    """'Last, First' -> 'First Last' (BibTeX order to display order)."""
    parts = [p.strip() for p in name.replace("{", "").replace("}", "").split(",")]
    return " ".join([parts[-1], parts[0]]).strip() if len(parts) > 1 else parts[0]


def _month(value: str) -> int | None:
    value = value.strip().lower().rstrip(".")
    if value.isdigit() and 1 <= int(value) <= 12:
        return int(value)
    return _MONTHS.get(value)


def draft_from_bibtex(entry: bibtexparser.model.Entry) -> Draft:
    """Read the fields we use from one (LaTeX-decoded) BibTeX entry; keep its raw text verbatim."""
    fields = {f.key.lower(): " ".join(str(f.value).split()) for f in entry.fields}
    title = fields.get("title", "").replace("{", "").replace("}", "")
    if not title:
        raise AddError(f"BibTeX entry {entry.key!r} has no title (add title = {{...}})")
    authors = [_person(a) for a in re.split(r"\s+and\s+", fields.get("author", "")) if a and a != "others"]
    arxiv = None
    if fields.get("archiveprefix", "").lower() == "arxiv" or "eprint" in fields:
        arxiv = normalize_arxiv(fields.get("eprint", ""))
    for key in ("journal", "url", "note"):
        arxiv = arxiv or (normalize_arxiv(fields[key]) if "arxiv" in fields.get(key, "").lower() else None)
    date = arxiv_month(arxiv) if arxiv else None
    year, month = fields.get("year", ""), _month(fields.get("month", ""))
    if not date and re.fullmatch(r"\d{4}", year) and month:
        date = f"{year}-{month:02d}"
    venue = fields.get("booktitle") or fields.get("journal")
    if venue and re.search(r"arxiv|corr", venue, re.IGNORECASE):
        venue = None
    doi = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", fields.get("doi", ""), flags=re.IGNORECASE) or None
    if arxiv and (reason := arxiv_never_issued(arxiv)):
        raise AddError(f"entry {entry.key!r}: arXiv id {arxiv!r} was never issued: {reason} ({ARXIV_FIX})")
    draft = Draft(
        title=title,
        authors=authors,
        date=date,
        venue=venue,
        arxiv=arxiv,
        doi=doi,
        bibtex=(entry.raw or "").strip(),
        source=f"entry {entry.key!r}: date",
    )
    paper = fields.get("url") or (f"https://arxiv.org/abs/{arxiv}" if arxiv else None)
    paper = paper or (f"https://doi.org/{doi}" if doi else None)
    if paper:
        draft.links["paper"] = paper
    return draft


def drafts_from_bibtex_text(text: str) -> list[Draft]:
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    if library.failed_blocks:
        block = library.failed_blocks[0]
        reason = getattr(block.error, "abort_reason", None) or str(block.error)
        raise AddError(f"the BibTeX does not parse at line {(block.start_line or 0) + 1}: {reason}")
    if not library.entries:
        raise AddError("no BibTeX entry found (expected @article{key, title = {...}, ...})")
    return [draft_from_bibtex(entry) for entry in library.entries]


def parse_arxiv_argument(text: str) -> str:
    """The bare id in what a user may paste (2502.10517, arXiv:2502.10517v2, an abs or pdf URL);
    AddError for anything else, or for an id arXiv never issued (e.g. a month 13)."""
    match = _ARXIV_ARGUMENT.match(text.strip())
    if not match:
        raise AddError(
            f"--arxiv {text!r} is not an arXiv id (write it as arXiv shows it, e.g. 2502.10517,"
            " arXiv:2502.10517v2 or https://arxiv.org/abs/2502.10517)"
        )
    bare = match[1]
    if reason := arxiv_never_issued(bare):
        raise AddError(f"--arxiv {text!r} was never issued: {reason} ({ARXIV_FIX})")
    return bare


def check_draft_date(draft: Draft, today: dt.date) -> None:
    """AddError when the draft's date is malformed, not on the calendar, or after `today`."""
    if draft.date is None:
        return
    match = _DATE_ARGUMENT.match(draft.date)
    if not match:
        raise AddError(f"{draft.source} {draft.date!r} is not a date ({_DATE_FIX})")
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        dt.date(year, month, day)
    except ValueError:
        raise AddError(f"{draft.source} {draft.date!r} is not a real date ({_DATE_FIX})") from None
    if (year, month, day if match[3] else 1) > (today.year, today.month, today.day if match[3] else 1):
        raise AddError(
            f"{draft.source} {draft.date!r} is after the day the entry is added ({today.isoformat()})"
            " (give the date of the first public release)"
        )


def refuse_non_printable(text: str, source: str, what: str) -> None:
    """AddError naming the line of the first character an entry file cannot hold."""
    if bad := _NON_PRINTABLE.search(text):
        line = text.count("\n", 0, bad.start()) + 1
        raise AddError(
            f"{source}:{line}: control character U+{ord(bad[0]):04X} in {what}"
            " (delete it; only tabs and line breaks may appear)"
        )


def draft_from_arxiv(arxiv: str, title: str, date: str | None) -> Draft:
    bare = parse_arxiv_argument(arxiv)
    refuse_non_printable(title, "--title", "the title")
    title = " ".join(title.split())
    if len(title) < 3:
        raise AddError("--title is empty; give the full title as published")
    return Draft(
        title=title,
        date=date or arxiv_month(bare),
        arxiv=bare,
        links={"paper": f"https://arxiv.org/abs/{bare}"},
    )


def _q(value: str) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def render_entry(entry_id: str, draft: Draft, kind: str | None, taxonomy: list[str], today: dt.date) -> str:
    """The new file's text: known fields filled, the rest empty with a comment saying what goes there."""
    lines = [
        "# yaml-language-server: $schema=../taxonomy/entry.schema.json",
        f"id: {entry_id}",
        f"title: {_q(draft.title)}",
    ]
    if short := _short_name(draft.title):
        lines.append(f"aliases: [{_q(short)}]")
    if draft.authors:
        lines.append("authors: [" + ", ".join(_q(a) for a in draft.authors) + "]")
    lines.append(
        f"date: {_q(draft.date)}"
        if draft.date
        else 'date: ""  # TO FILL: first public release, YYYY-MM or YYYY-MM-DD'
    )
    for name in ("venue", "arxiv", "doi"):
        if value := getattr(draft, name):
            lines.append(f"{name}: {_q(value)}")
    lines.append(f"kind: {kind}" if kind else f'kind: ""  # TO FILL: one of the kinds in {VOCABULARIES_FILE}')
    if taxonomy:
        lines.append("taxonomy: [" + ", ".join(taxonomy) + "]")
    else:
        lines.append(f"taxonomy: []  # TO FILL: one or more category slugs from {CATEGORIES_FILE}")
    lines.append("links:" if draft.links else "links: {}  # paper, code, project, blog, dataset, model, docs")
    lines += [f"  {name}: {url}" for name, url in draft.links.items()]
    lines += [
        f"languages: []  # optional: slugs from {VOCABULARIES_FILE} (languages)",
        "hardware: []  # optional: nvidia, amd, ascend, ...",
        "techniques: []  # optional: slugs from the techniques vocabulary",
        "benchmarks: []  # optional: ids of benchmark entries it reports on",
        'summary: ""  # TO FILL: 1-3 sentences in your own words (40-700 characters)',
    ]
    if draft.bibtex:
        lines.append("bibtex: |")
        lines += [f"  {line}".rstrip() for line in draft.bibtex.splitlines()]
    lines.append(f'added: "{today.isoformat()}"')
    text = "\n".join(lines) + "\n"
    if draft.bibtex and parse_yaml(text).data.get("bibtex", "").strip() != draft.bibtex:
        # Trailing spaces or odd indentation do not survive a block scalar: quote it instead.
        text = (
            text[: text.index("bibtex: |")]
            + f"bibtex: {_q(draft.bibtex)}\n"
            + f'added: "{today.isoformat()}"\n'
        )
    return text


def _existing(papers: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(field, key) -> (file, label) for every work already in papers/. An entry that cannot be
    read could be this very work, so it stops `add` (AddError listing each such file)."""
    known: dict[tuple[str, str], tuple[str, str]] = {}
    unreadable: list[str] = []
    fix = "fix it first: until it reads, add cannot tell whether your work is already there"
    for path in sorted(papers.glob("*.yaml")):
        rel = f"{PAPERS_DIR}/{path.name}"
        try:
            data = parse_yaml(path.read_text(encoding="utf-8")).data
        except OSError as exc:
            unreadable.append(str(unreadable_entry(path, rel, exc)))
            continue
        except UnicodeDecodeError as exc:
            unreadable.append(str(Problem(rel, 1, "", f"not UTF-8 text ({exc.reason})", fix)))
            continue
        except yaml.YAMLError as exc:
            unreadable.append(
                str(Problem(rel, error_line(exc), "", f"YAML syntax error: {error_text(exc)}", fix))
            )
            continue
        if isinstance(data, dict):
            for name, label, key in duplicate_keys(data):
                known.setdefault((name, key), (rel, label))
    if unreadable:
        raise AddError("\nerror: ".join(unreadable))
    return known


def _validate_choices(root: Path, kind: str | None, taxonomy: list[str], today: dt.date) -> CheckContext:
    problems: list[Problem] = []
    categories = load_categories(root, problems)
    vocab = load_vocabularies(root, problems)
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        raise AddError(f"the taxonomy has problems; fix them first:\n{listed}")
    if kind and kind not in vocab["kinds"]:
        raise AddError(f"--kind {kind!r} is not a kind: {suggest(kind, vocab['kinds'], VOCABULARIES_FILE)}")
    for slug in taxonomy:
        if slug not in categories:
            raise AddError(
                f"--taxonomy {slug!r} is not a category: {suggest(slug, categories, CATEGORIES_FILE)}"
            )
    return CheckContext(categories, vocab, today)


def add_entries(
    root: Path, drafts: list[Draft], kind: str | None, taxonomy: list[str], today: dt.date | None = None
) -> int:
    """Write one new file per draft that is not already known; return the exit code.

    `today` is the date written into `added` and the day the new entry is checked against
    (default: the system clock's date).
    """
    context = _validate_choices(root, kind, taxonomy, today or dt.date.today())
    for draft in drafts:
        check_draft_date(draft, context.today)
    papers = root / PAPERS_DIR
    papers.mkdir(parents=True, exist_ok=True)
    known = _existing(papers)
    taken = {path.stem for path in papers.glob("*.yaml")}
    refused = 0
    for draft in drafts:
        keys = duplicate_keys({"title": draft.title, "arxiv": draft.arxiv, "doi": draft.doi})
        clash = next(((known[(n, k)], k) for n, _, k in keys if (n, k) in known), None)
        if clash:
            (other, label), key = clash
            print(
                f"not added: {draft.title!r} is already in the knowledge base as {other} (same {label}"
                f" {key!r}): drop it from what you are adding, or merge what it adds into {other}"
            )
            refused += 1
            continue
        entry_id = derive_id(draft.title, taken)
        path = papers / f"{entry_id}.yaml"
        text = render_entry(entry_id, draft, kind, taxonomy, context.today)
        try:  # all or nothing, and never over a file that appeared meanwhile
            create_text_atomic(path, text, writable_fix=f"make {papers} writable")
        except FileExistsError:
            raise AddError(f"{path} appeared while adding; run the command again") from None
        taken.add(entry_id)
        for name, label, key in keys:
            known[(name, key)] = (f"{PAPERS_DIR}/{path.name}", label)
        remaining = check_file(path, context).problems
        print(f"created {PAPERS_DIR}/{path.name}")
        if remaining:
            print("  still to fill in:")
            for problem in remaining:
                print(f"    {problem}")
    if len(drafts) > refused:
        print("Edit the file(s), then run `make check` (or `python -m site_gen check`).")
    return 1 if refused else 0


def _iso_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write YYYY-MM-DD, e.g. 2026-11-21"
        ) from None


def read_bibtex(name: str) -> str:
    """The text of a BibTeX file ('-': standard input), refused with the line to fix when it is
    not UTF-8 or holds characters an entry file cannot."""
    source = "standard input" if name == "-" else name
    try:
        if name != "-":
            data = Path(name).read_bytes()
        elif hasattr(sys.stdin, "buffer"):
            data = sys.stdin.buffer.read()
        else:  # a text stream without bytes underneath (e.g. replaced by a caller)
            data = sys.stdin.read().encode("utf-8")
    except OSError as exc:
        raise AddError(f"cannot read {source}: {exc.strerror} (give the path of a BibTeX file)") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise AddError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save the file as UTF-8"
        ) from None
    refuse_non_printable(text, source, "the BibTeX")
    return text


def run(args: argparse.Namespace) -> int:
    taxonomy = [slug.strip() for value in args.taxonomy or [] for slug in value.split(",") if slug.strip()]
    try:
        if args.bibtex:
            source = "standard input" if args.bibtex == "-" else args.bibtex
            text = read_bibtex(args.bibtex)
            try:
                drafts = drafts_from_bibtex_text(text)
            except AddError as exc:
                raise AddError(f"{source}: {exc}") from None
        else:
            if not args.title:
                raise AddError("--arxiv needs --title (the full title as published)")
            drafts = [draft_from_arxiv(args.arxiv, args.title, args.date)]
        return add_entries(Path(args.root), drafts, args.kind, taxonomy, args.added)
    except (AddError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "add",
        help="create papers/<id>.yaml from BibTeX or an arXiv id",
        description="Create a new entry file, refusing works already present, and list what is left to fill.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--bibtex", metavar="FILE", help="BibTeX file with one or more entries ('-' reads stdin)"
    )
    source.add_argument("--arxiv", metavar="ID", help="arXiv id or URL (with --title)")
    parser.add_argument("--title", help="full title, with --arxiv")
    parser.add_argument(
        "--date", help="first public release, YYYY-MM or YYYY-MM-DD (default: from the arXiv id)"
    )
    parser.add_argument("--kind", help="kind slug, e.g. method, benchmark, dataset")
    parser.add_argument(
        "--added",
        type=_iso_day,
        metavar="YYYY-MM-DD",
        help="the day the entry joins the knowledge base, written as `added` (default: today)",
    )
    parser.add_argument(
        "--taxonomy",
        action="append",
        metavar="SLUG[,SLUG]",
        help="category slug(s); repeat or separate with commas",
    )
    add_root_argument(parser)
    parser.set_defaults(func=run)
