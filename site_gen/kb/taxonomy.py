"""The category tree and the controlled vocabularies, read from taxonomy/*.yaml and checked.

Entries refer to categories and vocabulary terms by slug; both files are hand-edited, so they
are validated here with the same `file:line:` messages as the entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from site_gen.kb.paths import CATEGORIES_FILE, VOCABULARIES_FILE
from site_gen.kb.problems import Problem
from site_gen.kb.yaml_lines import ParsedYaml, error_line, error_text, parse_yaml

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
VOCABULARIES = (
    "kinds", "languages", "hardware", "techniques", "metrics", "aggregates", "baselines", "devices",
)  # fmt: skip
_CATEGORY_KEYS = {"name", "description", "children"}
_TERM_KEYS = {"name", "description", "aliases", "unit", "higher_is_better", "group"}


@dataclass
class Category:
    slug: str
    name: str
    description: str
    parent: str | None
    children: list[str] = field(default_factory=list)
    depth: int = 0  # 0 for a stream (top level)
    stream: str = ""  # slug of the top-level ancestor (itself for a stream)


@dataclass(frozen=True)
class VocabTerm:
    slug: str
    name: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    unit: str | None = None
    higher_is_better: bool | None = None
    group: str | None = None  # metrics: speed, correctness or other (what a result must name)


Vocab = dict[str, dict[str, VocabTerm]]


def _read(root: Path, rel: str, problems: list[Problem]) -> ParsedYaml | None:
    path = root / rel
    try:
        parsed = parse_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(rel, 1, "", "file is missing", "restore it from the repository"))
        return None
    except yaml.YAMLError as exc:
        problems.append(
            Problem(rel, error_line(exc), "", f"YAML syntax error: {error_text(exc)}", "fix the syntax")
        )
        return None
    problems.extend(parsed.duplicate_problems(rel))
    if not isinstance(parsed.data, dict):
        problems.append(
            Problem(rel, 1, "", "must be a mapping of slug -> definition", "see the file's header comment")
        )
        return None
    return parsed


def _unknown_key_fix(value: object) -> str:
    # `{name: A (b, c)}` silently splits at the comma into keys `c)` with no value.
    if value is None:
        return "a comma inside a {flow: mapping} starts a new key: quote the value"
    return "remove it"


def load_categories(root: Path, problems: list[Problem]) -> dict[str, Category]:
    """Flatten the category tree (file order kept: parents before children)."""
    parsed = _read(root, CATEGORIES_FILE, problems)
    categories: dict[str, Category] = {}
    if parsed is None:
        return categories

    def walk(tree: dict, path: tuple, parent: Category | None) -> None:
        for slug, spec in tree.items():
            here = (*path, slug)
            line = parsed.line_of(here)
            where = ".".join(str(p) for p in here if p != "children")
            if not isinstance(slug, str) or not SLUG_RE.match(slug):
                problems.append(
                    Problem(
                        CATEGORIES_FILE,
                        line,
                        where,
                        f"bad slug {slug!r}",
                        "use lower-case letters, digits and '-'",
                    )
                )
                continue
            if slug in categories:
                problems.append(
                    Problem(
                        CATEGORIES_FILE, line, where, f"slug {slug!r} is used twice", "rename one of them"
                    )
                )
                continue
            if not isinstance(spec, dict):
                problems.append(
                    Problem(
                        CATEGORIES_FILE,
                        line,
                        where,
                        "must be a mapping with name and description",
                        "add `name:` and `description:`",
                    )
                )
                continue
            for key in spec.keys() - _CATEGORY_KEYS:
                problems.append(
                    Problem(
                        CATEGORIES_FILE,
                        parsed.line_of((*here, key)),
                        f"{where}.{key}",
                        "unknown key",
                        _unknown_key_fix(spec[key]),
                    )
                )
            name, description = spec.get("name"), spec.get("description")
            if not isinstance(name, str) or not isinstance(description, str):
                problems.append(
                    Problem(CATEGORIES_FILE, line, where, "needs a text `name` and `description`", "add both")
                )
                continue
            category = Category(
                slug=slug,
                name=name,
                description=" ".join(description.split()),
                parent=parent.slug if parent else None,
                depth=parent.depth + 1 if parent else 0,
                stream=parent.stream if parent else slug,
            )
            categories[slug] = category
            if parent:
                parent.children.append(slug)
            children = spec.get("children")
            if isinstance(children, dict):
                walk(children, (*here, "children"), category)
            elif children is not None:
                problems.append(
                    Problem(
                        CATEGORIES_FILE,
                        line,
                        f"{where}.children",
                        "must be a mapping of sub-categories",
                        "indent them under `children:`",
                    )
                )

    walk(parsed.data, (), None)
    return categories


def load_vocabularies(root: Path, problems: list[Problem]) -> Vocab:
    """Read every controlled vocabulary; aliases must not shadow another term of the same vocabulary."""
    parsed = _read(root, VOCABULARIES_FILE, problems)
    vocab: Vocab = {name: {} for name in VOCABULARIES}
    if parsed is None:
        return vocab
    for group in VOCABULARIES:
        if not isinstance(parsed.data.get(group), dict):
            problems.append(
                Problem(
                    VOCABULARIES_FILE,
                    1,
                    group,
                    "vocabulary is missing or not a mapping",
                    f"add `{group}:` with its terms",
                )
            )
    for group, terms in parsed.data.items():
        if group not in VOCABULARIES:
            problems.append(
                Problem(
                    VOCABULARIES_FILE,
                    parsed.line_of((group,)),
                    group,
                    "unknown vocabulary",
                    f"use one of: {', '.join(VOCABULARIES)}",
                )
            )
            continue
        if not isinstance(terms, dict):
            continue
        seen: dict[str, str] = {}
        for slug, spec in terms.items():
            line = parsed.line_of((group, slug))
            where = f"{group}.{slug}"
            if not isinstance(slug, str) or not SLUG_RE.match(slug):
                problems.append(
                    Problem(
                        VOCABULARIES_FILE,
                        line,
                        where,
                        f"bad slug {slug!r}",
                        "use lower-case letters, digits, '-' and '_'",
                    )
                )
                continue
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                problems.append(
                    Problem(VOCABULARIES_FILE, line, where, "needs a text `name`", "write `{name: ...}`")
                )
                continue
            for key in spec.keys() - _TERM_KEYS:
                problems.append(
                    Problem(
                        VOCABULARIES_FILE,
                        parsed.line_of((group, slug, key)),
                        f"{where}.{key}",
                        "unknown key",
                        _unknown_key_fix(spec[key]),
                    )
                )
            aliases = spec.get("aliases") or []
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                problems.append(
                    Problem(
                        VOCABULARIES_FILE,
                        line,
                        f"{where}.aliases",
                        "must be a list of strings",
                        "write `aliases: [a, b]`",
                    )
                )
                aliases = []
            for name in (slug, *aliases):
                if name in seen:
                    problems.append(
                        Problem(
                            VOCABULARIES_FILE,
                            line,
                            where,
                            f"{name!r} already names {seen[name]!r}",
                            "remove the duplicate",
                        )
                    )
                seen[name] = slug
            vocab[group][slug] = VocabTerm(
                slug=slug,
                name=spec["name"],
                description=str(spec.get("description") or ""),
                aliases=tuple(aliases),
                unit=spec.get("unit"),
                higher_is_better=spec.get("higher_is_better"),
                group=spec.get("group"),
            )
    return vocab
