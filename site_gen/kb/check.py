"""`python -m site_gen check`: validate every papers/*.yaml and report all problems at once.

Each problem is printed as `papers/<file>.yaml:<line>: <field>: <what is wrong> (<how to fix>)`
so that editors and CI logs jump straight to it. Checks run in three layers: YAML syntax, the
entry model (site_gen.kb.model), then facts the model cannot express (real dates, known slugs,
URLs, cross-references and duplicates across files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import os
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from site_gen.kb.entry_checks import CheckContext, EntryChecker, Reference
from site_gen.kb.model import Entry
from site_gen.kb.organizations import load_organization_aliases
from site_gen.kb.paths import PAPERS_DIR, REPO_ROOT, add_root_argument
from site_gen.kb.problems import Problem
from site_gen.kb.result_checks import SubsetReference, resolve_subsets
from site_gen.kb.taxonomy import Category, Vocab, load_categories, load_vocabularies
from site_gen.kb.yaml_lines import ParsedYaml, error_line, error_text, parse_yaml


@dataclass
class CheckReport:
    """Everything `check` learned: valid entries, the taxonomy, and all problems found."""

    root: Path
    entries: list[Entry] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # entry id -> path relative to root
    categories: dict[str, Category] = field(default_factory=dict)
    vocab: Vocab = field(default_factory=dict)
    organizations: dict[str, str] = field(default_factory=dict)  # spelling's key -> organisation
    problems: list[Problem] = field(default_factory=list)


def normalize_title(title: str) -> str:
    """Case, accents, punctuation and spacing removed, so near-identical titles compare equal."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def duplicate_keys(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, label, key) triples that identify a work: arXiv id without version, DOI, title."""
    keys = []
    arxiv, doi, title = data.get("arxiv"), data.get("doi"), data.get("title")
    if isinstance(arxiv, str) and arxiv.strip():
        keys.append(("arxiv", "arXiv id", re.sub(r"v\d+$", "", arxiv.strip().lower())))
    if isinstance(doi, str) and doi.strip():
        keys.append(("doi", "DOI", doi.strip().lower()))
    if isinstance(title, str) and normalize_title(title):
        keys.append(("title", "title", normalize_title(title)))
    return keys


@dataclass
class FileResult:
    """What checking one file yields: its own problems plus what the cross-file pass needs."""

    rel: str
    problems: list[Problem] = field(default_factory=list)
    entry: Entry | None = None
    identity: list[tuple[str, str, str, int, str]] = field(
        default_factory=list
    )  # field, label, key, line, value
    references: list[Reference] = field(default_factory=list)
    added: str = ""  # the entry's `added` date, "" when absent: it tells the newer of two duplicates
    subset_refs: list[SubsetReference] = field(default_factory=list)
    declared: tuple[dict, list] | None = None  # a benchmark entry's (subsets, versions)


def unreadable_entry(path: Path, rel: str, exc: OSError) -> Problem:
    """Why a papers/*.yaml path cannot be read as an entry, and what to do about it."""
    if path.is_dir():
        return Problem(
            rel,
            1,
            "",
            "is a directory, not an entry file",
            f"move it out of {PAPERS_DIR}/ or rename it so that it does not end in .yaml",
        )
    if path.is_symlink() and not path.exists():
        return Problem(
            rel,
            1,
            "",
            f"is a symbolic link to {os.readlink(path)}, which does not exist",
            "remove the link or restore the file it points to",
        )
    return Problem(rel, 1, "", f"cannot be read: {exc.strerror or exc}", "check the file's permissions")


def _parse_entry_file(path: Path, result: FileResult) -> ParsedYaml | None:
    rel = result.rel
    try:
        parsed = parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        result.problems.append(unreadable_entry(path, rel, exc))
        return None
    except UnicodeDecodeError as exc:
        result.problems.append(
            Problem(rel, 1, "", f"not UTF-8 text ({exc.reason})", "save the file as UTF-8")
        )
        return None
    except yaml.YAMLError as exc:
        fix = "fix the syntax; quote values that contain ': ' or start with a special character"
        result.problems.append(
            Problem(rel, error_line(exc), "", f"YAML syntax error: {error_text(exc)}", fix)
        )
        return None
    if not isinstance(parsed.data, dict):
        fix = "start from `python -m site_gen add`"
        result.problems.append(Problem(rel, 1, "", "must be a mapping of field: value", fix))
        return None
    return parsed


def check_file(path: Path, context: CheckContext) -> FileResult:
    """Every check that needs only this one file."""
    result = FileResult(rel=f"{PAPERS_DIR}/{path.name}")
    parsed = _parse_entry_file(path, result)
    if parsed is None:
        return result
    checker = EntryChecker(result.rel, path.stem, parsed, context)
    result.entry = checker.run()
    result.problems = sorted(parsed.duplicate_problems(result.rel) + checker.problems)
    result.references = checker.references
    result.subset_refs = checker.subset_refs
    block = parsed.data.get("benchmark")
    if isinstance(block, dict):
        subsets, versions = block.get("subsets"), block.get("versions")
        result.declared = (
            subsets if isinstance(subsets, dict) else {},
            versions if isinstance(versions, list) else [],
        )
    result.identity = [
        (name, label, key, parsed.line_of((name,)), parsed.data[name].strip())
        for name, label, key in duplicate_keys(parsed.data)
    ]
    added = parsed.data.get("added")
    result.added = added if isinstance(added, str) else ""
    return result


_WORKER_CONTEXT: CheckContext | None = None
_PARALLEL_FROM = 400  # below this many files a process pool costs more than it saves


def _init_worker(context: CheckContext) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context


def _check_in_worker(path: Path) -> FileResult:
    assert _WORKER_CONTEXT is not None
    return check_file(path, _WORKER_CONTEXT)


def _check_files(paths: list[Path], context: CheckContext) -> list[FileResult]:
    """Files are independent, so large knowledge bases are checked on every core."""
    workers = min(len(os.sched_getaffinity(0)), 8)
    if len(paths) < _PARALLEL_FROM or workers < 2:
        return [check_file(path, context) for path in paths]
    from concurrent.futures import ProcessPoolExecutor  # 12 ms to import: only when it is used

    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(context,)) as pool:
        return list(pool.map(_check_in_worker, paths, chunksize=max(1, len(paths) // (workers * 8))))


def _check_references(results: list[FileResult], known: set[str]) -> list[Problem]:
    problems = []
    for ref in (ref for result in results for ref in result.references):
        if ref.target not in known:
            close = difflib.get_close_matches(ref.target, known, n=3)
            fix = (
                ("did you mean " + " or ".join(map(repr, close)) + "?")
                if close
                else f"add {PAPERS_DIR}/{ref.target}.yaml for it first"
            )
            problems.append(Problem(ref.file, ref.line, ref.field, f"no entry with id {ref.target!r}", fix))
    return problems


def _check_duplicates(results: list[FileResult]) -> list[Problem]:
    """Works present twice. The entry added first (by `added`; entries without one predate the
    field) is kept; the problem is reported on the newer copy, whose fix never touches the kept one.
    One dict per identifying key, so the cost grows linearly with the entries."""
    groups: dict[tuple[str, str], list[tuple[FileResult, int, str, str]]] = {}
    for result in results:
        for name, label, key, line, shown in result.identity:
            groups.setdefault((name, key), []).append((result, line, label, shown))
    problems = []
    for (name, _), members in groups.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: (m[0].added, m[0].rel))
        kept = members[0][0]
        for result, line, label, shown in members[1:]:
            if result.added > kept.added:
                message = f"duplicates {kept.rel} (same {label} {shown!r}), which was added first"
                fix = f"drop {result.rel} or merge what it adds into {kept.rel}"
            else:
                message = f"duplicates {kept.rel} (same {label} {shown!r})"
                fix = (
                    "keep the entry already published: drop the copy you are adding, "
                    "or merge what it adds into the other"
                )
            problems.append(Problem(result.rel, line, name, message, fix))
    return problems


def check_knowledge_base(root: Path = REPO_ROOT, today: dt.date | None = None) -> CheckReport:
    """Validate the taxonomy and every entry under `root`; never stops at the first problem."""
    report = CheckReport(root=root)
    report.categories = load_categories(root, report.problems)
    report.vocab = load_vocabularies(root, report.problems)
    report.organizations = load_organization_aliases(root, report.problems)
    context = CheckContext(report.categories, report.vocab, today or dt.date.today())
    papers = root / PAPERS_DIR
    for stray in sorted(papers.glob("*.yml")):
        fix = f"rename it to {stray.stem}.yaml"
        report.problems.append(
            Problem(f"{PAPERS_DIR}/{stray.name}", 1, "", "entry files must end in .yaml", fix)
        )
    paths = sorted(papers.glob("*.yaml"))
    results = _check_files(paths, context)
    for result in results:
        report.problems.extend(result.problems)
        if result.entry is not None:
            report.entries.append(result.entry)
            report.files[result.entry.id] = result.rel
    known = {path.stem for path in paths}
    report.problems.extend(_check_references(results, known))
    declared = {Path(r.rel).stem: r.declared for r in results if r.declared is not None}
    refs = [ref for r in results for ref in r.subset_refs]
    report.problems.extend(resolve_subsets(refs, declared, known))
    report.problems.extend(_check_duplicates(results))
    report.problems.sort()
    return report


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    return print_report(check_knowledge_base(Path(args.root)), started)


def print_report(report: CheckReport, started: float) -> int:
    """Every problem, one per line, then a summary; the exit code (1 when there are problems).
    `build` prints the same, so a failed build reads exactly like `check`."""
    for problem in report.problems:
        print(problem)
    if report.problems:
        files = len({p.file for p in report.problems})
        print(f"FAILED: {len(report.problems)} problem(s) in {files} file(s)")
        return 1
    seconds = time.perf_counter() - started
    print(
        f"OK: {len(report.entries)} entries, {len(report.categories)} categories checked in {seconds:.2f} s"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check", help="validate every entry and report all problems")
    add_root_argument(parser)
    parser.set_defaults(func=run)
