"""Result files must name the commit they were measured at, also from a copy of the tree without .git."""

from __future__ import annotations

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
