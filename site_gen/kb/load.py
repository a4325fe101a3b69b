"""The validated knowledge base, as every consumer (site, exports, bib) should read it.

`load_knowledge_base` runs the full checker and refuses to hand out a partly valid knowledge
base: either all entries are good, or a single KnowledgeBaseError lists every problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from site_gen.kb.check import CheckReport, check_knowledge_base
from site_gen.kb.model import Entry
from site_gen.kb.paths import PAPERS_DIR, REPO_ROOT
from site_gen.kb.problems import Problem
from site_gen.kb.taxonomy import Category, Vocab, VocabTerm

__all__ = ["Category", "KnowledgeBase", "KnowledgeBaseError", "VocabTerm", "load_knowledge_base"]


class KnowledgeBaseError(Exception):
    """The knowledge base has problems; `.problems` holds them all, the message prints them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(
            f"{len(problems)} problem(s) in the knowledge base (run `python -m site_gen check`):\n{lines}"
        )


@dataclass
class KnowledgeBase:
    root: Path
    entries: list[Entry]  # newest first, then by id
    by_id: dict[str, Entry]
    categories: dict[str, Category]  # every category slug, parents before children
    vocab: Vocab  # vocabulary name (kinds, languages, ...) -> slug -> term
    organizations: dict[str, str] = field(default_factory=dict)  # spelling's key -> organisation

    def source_path(self, entry_id: str) -> Path:
        """The YAML file an entry was read from."""
        if entry_id not in self.by_id:
            raise KeyError(f"no entry with id {entry_id!r}")
        return self.root / PAPERS_DIR / f"{entry_id}.yaml"

    def category_path(self, slug: str) -> list[Category]:
        """The category and its ancestors, stream first."""
        chain = [self.categories[slug]]
        while chain[0].parent:
            chain.insert(0, self.categories[chain[0].parent])
        return chain


def sort_entries(entries: list[Entry]) -> list[Entry]:
    """Newest first, ties broken by id so that every output is deterministic."""
    by_id = sorted(entries, key=lambda e: e.id)
    return sorted(by_id, key=lambda e: e.date, reverse=True)


# A report `python -m site_gen build` has just made, for the load that follows it in the same
# command (the render hook's): taken once, so a later load checks the files again.
_just_checked: dict[Path, CheckReport] = {}


def use_report_once(root: Path, report: CheckReport) -> None:
    """Let the next `load_knowledge_base(root)` use `report` instead of checking again."""
    _just_checked[Path(root).resolve()] = report


def load_knowledge_base(root: Path = REPO_ROOT) -> KnowledgeBase:
    """Load and validate everything under `root`; raise KnowledgeBaseError listing all problems."""
    report = _just_checked.pop(Path(root).resolve(), None) or check_knowledge_base(Path(root))
    if report.problems:
        raise KnowledgeBaseError(report.problems)
    entries = sort_entries(report.entries)
    return KnowledgeBase(
        root=Path(root),
        entries=entries,
        by_id={e.id: e for e in entries},
        categories=report.categories,
        vocab=report.vocab,
        organizations=report.organizations,
    )
