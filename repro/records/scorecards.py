"""Gauntlet scorecards, read for the site: this project's own (`python -m repro gauntlet`, format
`kernelatlas-gauntlet`) and other harnesses' (`--harness kernelbench|kernelguard`, format
`kernelatlas-harness-scorecard`), folded into one table: hack type x harness -> caught / missed /
not applicable, with the commit of each harness. Torch-free; a malformed file is named and skipped.

This project's files are merged per device: for each case, the newest file that ran it gives the
cell, so a run of a few cases on a GPU adds to earlier ones instead of hiding them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GAUNTLET_FORMAT = "kernelatlas-gauntlet"
HARNESS_FORMAT = "kernelatlas-harness-scorecard"
KNOWN_VERSIONS = {GAUNTLET_FORMAT: (1,), HARNESS_FORMAT: (1,)}
# A cell's status, in the words the page shows.
STATUS_LABELS = {
    "caught": "caught",
    "missed": "missed",
    "known_miss": "missed (documented)",
    "not_applicable": "not applicable",
    "not_run": "not run",
    "error": "inconclusive",
}


@dataclass
class Cell:
    status: str  # a key of STATUS_LABELS
    why: str = ""
    file: str = ""

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass
class Column:
    key: str
    label: str
    harness: str
    repository: str  # "owner/name" on GitHub, or "" for this project
    device: str
    commits: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    name: str
    category: str
    hack: str
    cells: dict[str, Cell] = field(default_factory=dict)  # column key -> cell


@dataclass
class Scorecards:
    columns: list[Column] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def counts(self, key: str) -> dict[str, int]:
        """Cells of a column by status; a case no file of that column ran counts as "not_run" (a
        column's counts add up to the number of cases, so a partial run does not look complete)."""
        out: dict[str, int] = {}
        for case in self.cases:
            s = case.cells[key].status if key in case.cells else "not_run"
            out[s] = out.get(s, 0) + 1
        return out


class ScorecardError(ValueError):
    pass


def _need(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ScorecardError(f"{where}: missing field {key!r}")
    if not isinstance(data[key], kind):
        raise ScorecardError(f"{where}: field {key!r} is not a {getattr(kind, '__name__', kind)}")
    return data[key]


def _device(card: dict[str, Any]) -> str:
    prov = card.get("provenance") or {}
    if prov.get("device") == "cuda" and prov.get("name"):
        return str(prov["name"])
    return "CPU (Triton interpreter)" if card.get("format") == GAUNTLET_FORMAT else "CPU"


def _check(card: Any, where: str) -> dict[str, Any]:
    if not isinstance(card, dict):
        raise ScorecardError(f"{where}: not a JSON object")
    fmt = _need(card, "format", str, where)
    if fmt not in KNOWN_VERSIONS:
        raise ScorecardError(f"{where}: format {fmt!r} is not a scorecard ({', '.join(KNOWN_VERSIONS)})")
    version = card.get("format_version")
    if version not in KNOWN_VERSIONS[fmt]:
        raise ScorecardError(f"{where}: format_version {version!r} of {fmt} is not one this reader knows "
                             f"({KNOWN_VERSIONS[fmt]}); update the site generator")  # fmt: skip
    for i, row in enumerate(_need(card, "cases", list, where)):
        if not isinstance(row, dict):
            raise ScorecardError(f"{where}: cases[{i}] is not an object")
        for key in ("name", "category", "hack"):
            _need(row, key, str, f"{where}: cases[{i}]")
        if fmt == GAUNTLET_FORMAT:
            _need(row, "status", str, f"{where}: cases[{i}]")
        else:
            _need(row, "statuses", dict, f"{where}: cases[{i}]")
    if fmt == HARNESS_FORMAT:
        for key in ("harness", "label"):
            _need(card, key, str, where)
        for i, view in enumerate(_need(card, "views", list, where)):
            if not isinstance(view, dict) or not isinstance(view.get("key"), str):
                raise ScorecardError(f"{where}: views[{i}] needs a key")
    return card


def _commit(card: dict[str, Any]) -> str:
    if card.get("format") == HARNESS_FORMAT:
        return str(card.get("commit") or "unknown")
    return str(((card.get("provenance") or {}).get("git") or {}).get("commit") or "unknown")


def read_scorecards(folder: Path, root: Path | None = None) -> Scorecards:
    """Every scorecard JSON under `folder`, folded into columns and cases (paths shown relative to
    `root`)."""
    out = Scorecards()
    cards: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        where = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
        try:
            cards.append((where, _check(json.loads(path.read_text(encoding="utf-8")), where)))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            out.errors.append(str(exc) if isinstance(exc, ScorecardError) else f"{where}: {exc}")
    # This project's files newest first, so the newest run of a case gives its cell; the rows follow
    # the file with the most cases.
    ours = sorted((c for c in cards if c[1]["format"] == GAUNTLET_FORMAT),
                  key=lambda c: str(c[1].get("date") or ""), reverse=True)  # fmt: skip
    others = [c for c in cards if c[1]["format"] == HARNESS_FORMAT]
    cases: dict[str, Case] = {}
    columns: dict[str, Column] = {}

    def case_of(row: dict[str, Any]) -> Case:
        return cases.setdefault(row["name"], Case(row["name"], row["category"], row["hack"]))

    for _where, card in sorted(ours, key=lambda c: -len(c[1]["cases"])):
        for row in card["cases"]:
            case_of(row)
    for where, card in ours:
        device = _device(card)
        key = f"kernelatlas@{device}"
        col = columns.setdefault(key, Column(key, f"KernelAtlas, {device}", "kernelatlas", "", device,
                                             settings=card.get("settings") or {}))  # fmt: skip
        used = False
        for row in card["cases"]:
            case = case_of(row)
            if key in case.cells or row["status"] == "not_run":
                continue
            case.cells[key] = Cell(row["status"], _fold(row.get("reason")), where)
            used = True
        if used:
            _add(col, _commit(card), card, where)
    for where, card in others:
        device = _device(card)
        for view in card["views"]:
            key = f"{card['harness']}:{view['key']}@{device}"
            label = str(view.get("label") or card["label"])
            col = columns.setdefault(key, Column(key, f"{label}, {device}", card["harness"],
                                                 str(card.get("repository") or ""), device,
                                                 settings=card.get("settings") or {}))  # fmt: skip
            _add(col, _commit(card), card, where)
            for row in card["cases"]:
                status = row["statuses"].get(view["key"])
                if status is None:
                    continue
                why = row.get("why")
                why = why.get(view["key"], "") if isinstance(why, dict) else str(why or "")
                case = case_of(row)
                if key not in case.cells:
                    case.cells[key] = Cell(str(status), _fold(why), where)
    order = list(columns)  # this project's first, a GPU before the CPU, then in the order read
    out.columns = sorted(columns.values(), key=lambda c: (c.harness != "kernelatlas", c.device.startswith("CPU"),
                                                          order.index(c.key)))  # fmt: skip
    out.cases = list(cases.values())
    return out


def _fold(text: Any, limit: int = 400) -> str:
    """One line (a reason may carry a traceback: a newline would end the page's table row), cut short."""
    folded = " ".join(str(text or "").split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def _add(col: Column, commit: str, card: dict[str, Any], where: str) -> None:
    if commit not in col.commits:
        col.commits.append(commit)
    date = str(card.get("date") or "")[:10]
    if date and date not in col.dates:
        col.dates.append(date)
    col.files.append(where)
