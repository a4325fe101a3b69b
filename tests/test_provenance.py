"""Result files must name the commit they were measured at, also from a copy of the tree without .git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from repro.records import provenance


def test_commit_from_environment_for_a_tree_without_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERNELATLAS_GIT_COMMIT", "A" * 40)
    monkeypatch.setenv("KERNELATLAS_GIT_DIRTY", "0")
    assert provenance._commit_from_environment() == {
        "commit": "a" * 40,
        "dirty": False,
        "source": "environment",
    }


@pytest.mark.parametrize("value", ["HEAD", "abc123", "g" * 40])
def test_a_malformed_commit_is_not_recorded(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("KERNELATLAS_GIT_COMMIT", value)
    got = provenance._commit_from_environment()
    assert got["commit"] is None and "git rev-parse HEAD" in got["error"] and value in got["error"]


def test_the_environment_wins_over_a_stale_git_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERNELATLAS_GIT_COMMIT", "b" * 40)
    monkeypatch.setenv("KERNELATLAS_GIT_DIRTY", "1")
    provenance.git_commit.cache_clear()
    try:
        assert provenance.git_commit() == {"commit": "b" * 40, "dirty": True, "source": "environment"}
    finally:
        provenance.git_commit.cache_clear()


def test_checkout_commit_is_recorded() -> None:
    git = provenance.git_commit()
    assert git["commit"] is None or len(git["commit"]) == 40


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def test_a_checkout_records_its_own_head_and_a_folder_inside_another_repository_none(tmp_path: Path) -> None:
    """A third-party tree unpacked inside another repository (as a copied work tree carries one) is no
    checkout: recording the outer repository's HEAD as its commit would mislabel every reading."""
    outer = tmp_path / "project"
    (outer / "vendor" / "kb" / "level1").mkdir(parents=True)
    (outer / "vendor" / "kb" / "level1" / "1_MM.py").write_text("x = 1\n")
    _git("init", "-q", cwd=outer)
    _git("add", "-A", cwd=outer)
    _git("commit", "-qm", "outer", cwd=outer)
    assert provenance.checkout_commit(outer / "vendor" / "kb") is None
    assert provenance.checkout_commit(outer) == _git("rev-parse", "HEAD", cwd=outer).strip()

    inner = outer / "vendor" / "kb"
    _git("init", "-q", cwd=inner)
    _git("add", "-A", cwd=inner)
    _git("commit", "-qm", "inner", cwd=inner)
    head = _git("rev-parse", "HEAD", cwd=inner).strip()
    assert head != provenance.checkout_commit(outer)
    assert provenance.checkout_commit(inner) == head
    assert provenance.checkout_commit(tmp_path / "absent") is None


def test_a_checkout_without_commits_records_none(tmp_path: Path) -> None:
    _git("init", "-q", cwd=tmp_path)
    assert provenance.checkout_commit(tmp_path) is None
