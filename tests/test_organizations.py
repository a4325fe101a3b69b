"""Organisation spellings: one organisation per normalised name and per line of
taxonomy/organizations.yaml, with a clear problem for every mistake in that file."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ALPHA, BENCH, write_entry

from site_gen.kb.check import check_knowledge_base
from site_gen.kb.load import load_knowledge_base
from site_gen.kb.organizations import organization_key
from site_gen.kb.paths import ORGANIZATIONS_FILE
from site_gen.site.people import people

ALIASES = '"University of California, Berkeley": [UC Berkeley, Berkeley AI Research]\n'


def _with_organizations(root: Path, alpha: list[str], bench: list[str]) -> None:
    write_entry(root, "alpha", ALPHA + f"organizations: {alpha}\n")
    write_entry(root, "bench", BENCH + f"organizations: {bench}\n")


def test_spellings_in_the_table_and_normalised_spellings_are_one_organisation(kb_root: Path) -> None:
    (kb_root / ORGANIZATIONS_FILE).write_text(ALIASES, encoding="utf-8")
    _with_organizations(
        kb_root, ["UC Berkeley", "Zoë Labs & Co."], ["University of California Berkeley", "zoe labs and co"]
    )
    who = people(load_knowledge_base(kb_root))
    berkeley = who.organizations["university-of-california-berkeley"]
    assert berkeley.name == "University of California, Berkeley"
    assert [e.id for e in berkeley.works] == ["alpha", "bench"]
    assert berkeley.spellings == ["UC Berkeley", "University of California Berkeley"]
    assert len(who.organizations) == 2
    href = who.organization_href("UC Berkeley", "../../")
    assert href == "../../organizations/#university-of-california-berkeley"
    assert who.organization_href("zoe labs and co", "") == who.organization_href("Zoë Labs & Co.", "")


def test_without_the_file_spellings_stay_apart(kb_root: Path) -> None:
    (kb_root / ORGANIZATIONS_FILE).unlink(missing_ok=True)
    _with_organizations(kb_root, ["UC Berkeley"], ["University of California, Berkeley"])
    assert len(people(load_knowledge_base(kb_root)).organizations) == 2


def test_key_ignores_case_accents_punctuation_and_ampersands() -> None:
    assert organization_key("Zoë Labs & Co.") == organization_key("zoe labs and co") == "zoe-labs-and-co"


@pytest.mark.parametrize(
    "text,message",
    [
        ("- UC Berkeley\n", "must be a mapping of organisation name -> other spellings"),
        ("Berkeley: UC Berkeley\n", "other spellings must be a list of names"),
        ("Berkeley: [UC Berkeley, 3]\n", "other spellings must be a list of names"),
        (
            "Berkeley: [UC Berkeley]\nCalifornia: [uc berkeley]\n",
            "'uc berkeley' is also listed under 'Berkeley'",
        ),
        ("Berkeley: [berkeley.]\n", "is already 'Berkeley' once case, accents and punctuation are ignored"),
        ("Berkeley: [A]\nBerkeley: [B]\n", "duplicate key"),
        ("Berkeley: [A\n", "YAML syntax error"),
    ],
)
def test_mistakes_in_the_table_are_problems_naming_file_and_line(
    kb_root: Path, text: str, message: str
) -> None:
    (kb_root / ORGANIZATIONS_FILE).write_text(text, encoding="utf-8")
    problems = [p for p in check_knowledge_base(kb_root).problems if p.file == ORGANIZATIONS_FILE]
    assert problems, text
    assert message in str(problems[0]), [str(p) for p in problems]
    assert str(problems[0]).startswith(f"{ORGANIZATIONS_FILE}:")
