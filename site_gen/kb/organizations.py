"""Organisations written more than one way: `taxonomy/organizations.yaml`, read and checked.

Papers name the same university or lab in several ways ("UC Berkeley", "University of California,
Berkeley"). Entries keep the spelling of their paper; the site lists every spelling's works under
one organisation. Spellings that differ only in case, accents, punctuation or `&`/`and` are one
organisation without an entry in the file (`organization_key`); the file names the rest.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import yaml

from site_gen.kb.paths import ORGANIZATIONS_FILE
from site_gen.kb.problems import Problem
from site_gen.kb.yaml_lines import error_line, error_text, parse_yaml


def organization_key(name: str) -> str:
    """'Zoë Labs & Co.' -> 'zoe-labs-and-co': the key under which spellings are one organisation."""
    text = unicodedata.normalize("NFKD", name.replace("&", " and ")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def load_organization_aliases(root: Path, problems: list[Problem]) -> dict[str, str]:
    """Key of every spelling named in the file -> the organisation's name (its own key too). A
    missing file means no aliases; every mistake in it is a problem naming its line."""
    rel = ORGANIZATIONS_FILE
    try:
        text = (root / rel).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        parsed = parse_yaml(text)
    except yaml.YAMLError as exc:
        problems.append(
            Problem(rel, error_line(exc), "", f"YAML syntax error: {error_text(exc)}", "fix the syntax")
        )
        return {}
    problems.extend(parsed.duplicate_problems(rel))
    if parsed.data is None:
        return {}
    if not isinstance(parsed.data, dict):
        fix = "write `Canonical name: [other spelling, ...]`, one organisation per line"
        problems.append(Problem(rel, 1, "", "must be a mapping of organisation name -> other spellings", fix))
        return {}
    names: dict[str, str] = {}
    where: dict[str, str] = {}  # key -> the name whose line claimed it first
    for name, spellings in parsed.data.items():
        line = parsed.line_of((name,))
        if not isinstance(name, str) or not organization_key(name):
            problems.append(Problem(rel, line, str(name), "an organisation name must be text", "quote it"))
            continue
        if not isinstance(spellings, list) or not all(isinstance(s, str) and s.strip() for s in spellings):
            fix = f"write `{name}: [other spelling, ...]` (quote a spelling that holds a comma)"
            problems.append(Problem(rel, line, name, "other spellings must be a list of names", fix))
            continue
        for spelling in [name, *spellings]:
            key = organization_key(spelling)
            if key in where:
                if where[key] == name and spelling != name:
                    message = (
                        f"{spelling!r} is already {name!r} once case, accents and punctuation are ignored"
                    )
                    fix = "drop it: such spellings need no line"
                else:
                    message = f"{spelling!r} is also listed under {where[key]!r}"
                    fix = "keep it under one organisation"
                problems.append(Problem(rel, line, name, message, fix))
                continue
            where[key], names[key] = name, name
    return names
