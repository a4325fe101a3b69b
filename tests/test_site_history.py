"""When entries joined, from real git repositories: the first commit that added each file, the
YAML `added` where git cannot tell (no repository, a shallow clone's cut), the site's version
and date for citing it, and the Atom feed built from them."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import bibtexparser
import pytest

from site_gen.kb.load import load_knowledge_base
from site_gen.kb.paths import REPO_ROOT
from site_gen.site import feed, history, home

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

ENTRY = """id: {id}
title: "Work {id}: a study"
authors: [Ada Lovelace]
date: 2025-0{month}
kind: method
taxonomy: [iterative-refinement]
summary: A synthetic entry used to date additions; it has just enough text to pass the checker.
added: "2020-01-0{month}"
"""


def _git(root: Path, *args: str, day: str | None = None) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    if day:
        env |= {"GIT_AUTHOR_DATE": f"{day}T12:00:00+0000", "GIT_COMMITTER_DATE": f"{day}T12:00:00+0000"}
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout


def _add(root: Path, entry_id: str, month: int, day: str) -> None:
    (root / "papers" / f"{entry_id}.yaml").write_text(
        ENTRY.format(id=entry_id, month=month), encoding="utf-8"
    )
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", f"add {entry_id}", day=day)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A knowledge base whose three entries were committed on three different days, one of them
    renamed later (a rename is not an addition of the work)."""
    root = tmp_path / "kb"
    (root / "papers").mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "taxonomy", root / "taxonomy")
    _git(root, "init", "-q", "-b", "main")
    _add(root, "alpha", 1, "2026-01-05")
    _add(root, "beta", 2, "2026-02-10")
    (root / "papers" / "alpha.yaml").write_text(
        ENTRY.format(id="alpha", month=1) + "venue: Edited\n", encoding="utf-8"
    )
    _git(root, "commit", "-qam", "edit alpha", day="2026-02-20")
    _add(root, "gamma", 3, "2026-03-15")
    return root


def test_added_dates_come_from_the_first_commit_of_each_file(repo: Path) -> None:
    kb = load_knowledge_base(repo)
    added = history.added_dates(kb)
    assert {k: (v.day, v.source) for k, v in added.items()} == {
        "alpha": ("2026-01-05", "git"),
        "beta": ("2026-02-10", "git"),
        "gamma": ("2026-03-15", "git"),
    }
    version = history.site_version(kb, added)
    assert version.date == "2026-03-15" and version.commit and len(version.commit) == 40
    recent = home.recent(kb, added)
    assert [e.id for e, _ in recent] == ["gamma", "beta", "alpha"]
    assert [day for day, _ in home.changes_by_day(kb, added)] == ["2026-03-15", "2026-02-10", "2026-01-05"]


def test_an_uncommitted_entry_falls_back_to_its_yaml_date(repo: Path) -> None:
    (repo / "papers" / "delta.yaml").write_text(ENTRY.format(id="delta", month=4), encoding="utf-8")
    added = history.added_dates(load_knowledge_base(repo))
    assert (added["delta"].day, added["delta"].source) == ("2020-01-04", "yaml")
    assert added["alpha"].source == "git"


def test_a_shallow_clone_does_not_date_everything_to_its_cut(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)], check=True, capture_output=True
    )
    added = history.added_dates(load_knowledge_base(clone))
    # The only commit holds all three files; only gamma was really added there, but a shallow
    # clone cannot tell, so every date comes from the YAML.
    assert {k: v.source for k, v in added.items()} == {"alpha": "yaml", "beta": "yaml", "gamma": "yaml"}
    assert added["beta"].day == "2020-01-02"


def test_without_git_the_yaml_dates_and_newest_date_are_used(repo: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git"))
    kb = load_knowledge_base(plain)
    added = history.added_dates(kb)
    assert {v.source for v in added.values()} == {"yaml"}
    version = history.site_version(kb, added)
    assert version.commit is None and version.date == "2020-01-03"


def test_site_citation_and_feed_parse(repo: Path) -> None:
    kb = load_knowledge_base(repo)
    added = history.added_dates(kb)
    version = history.site_version(kb, added)
    library = bibtexparser.parse_string(home.site_bibtex(version, "https://example.org/ka", len(kb.entries)))
    assert not library.failed_blocks
    fields = library.entries[0].fields_dict
    assert fields["year"].value == "2026" and fields["urldate"].value == "2026-03-15"
    assert version.commit[:12] in fields["note"].value
    atom = ET.fromstring(feed.atom_feed(kb, home.recent(kb, added), "https://example.org/ka/", "KA"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    links = [e.find("a:link", ns).get("href") for e in atom.findall("a:entry", ns)]
    assert links == [f"https://example.org/ka/papers/{i}/" for i in ("gamma", "beta", "alpha")]
    assert atom.find("a:updated", ns).text == "2026-03-15T00:00:00Z"
