"""`build --site-dir DIR` never deletes what it did not write, and a build that is interrupted or
killed leaves the previous site exactly as it was; an invalid knowledge base gets `check`'s list."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_run import one_error_line, run_cli
from site_fixture import make_checkout

from site_gen.cli import main
from site_gen.kb.paths import REPO_ROOT
from site_gen.site.build import SITE_MARKER


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    root.mkdir()
    return make_checkout(root)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _previous_site(folder: Path) -> dict[str, bytes]:
    """A stand-in for an earlier build: the marker a build leaves, and a page."""
    folder.mkdir(parents=True)
    (folder / SITE_MARKER).write_text("an earlier build\n")
    (folder / "index.html").write_text("<p>the previous site</p>\n")
    return _tree(folder)


def test_build_refuses_a_non_empty_directory_it_did_not_write(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    papers = checkout / "papers"
    before = _tree(papers)
    assert main(["build", "--root", str(checkout), "--site-dir", str(papers)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {papers} is not empty and was not written by `python -m site_gen build` (it has no"
        f" {SITE_MARKER} file): choose an empty or new --site-dir, or empty {papers} yourself"
    ]
    assert _tree(papers) == before


def test_build_refuses_a_file_as_site_dir(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = checkout / "mkdocs.yml"
    before = target.read_bytes()
    assert main(["build", "--root", str(checkout), "--site-dir", str(target)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {target} is a file (name a directory for the site, e.g. --site-dir site)"
    ]
    assert target.read_bytes() == before


def test_build_into_a_read_only_directory(checkout: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    line = one_error_line(run_cli("build", "--root", checkout, "--site-dir", ro / "site", read_only=ro))
    assert line.startswith(f"error: cannot write {ro / 'site'}: "), line
    assert line.endswith(f"(choose a writable --site-dir, or make {ro} writable)"), line
    assert list(ro.iterdir()) == []


def test_build_on_an_invalid_knowledge_base_prints_the_problems_check_prints(
    checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = checkout / "papers" / "cudaforge.yaml"
    entry.write_text(entry.read_text().replace("kind: method", "kind: methd"))
    (checkout / "papers" / "drafts.yaml").mkdir()
    assert main(["check", "--root", str(checkout)]) == 1
    checked = capsys.readouterr().out
    site = tmp_path / "out" / "site"
    before = _previous_site(site)
    assert main(["build", "--root", str(checkout), "--site-dir", str(site)]) == 1
    built = capsys.readouterr().out
    assert "papers/cudaforge.yaml:" in checked and "papers/drafts.yaml:1: is a directory" in checked
    assert built == checked
    assert _tree(site) == before


def _start_build(checkout: Path, site: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-B", "-m", "site_gen", "build", "--root", str(checkout), "--site-dir", str(site)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_writing(out: Path, old_files: int, build: subprocess.Popen[str]) -> None:
    """Until the build has written pages of the new site (wherever it puts them) or cleaned the old."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and build.poll() is None:
        html = list(out.rglob("*.html"))
        if len(html) > old_files or not (out / "site" / "index.html").exists():
            return
        time.sleep(0.02)
    pytest.fail(f"the build finished or stalled before it wrote pages: {build.communicate()}")


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_an_interrupted_build_leaves_the_previous_site_intact(
    checkout: Path, tmp_path: Path, how: signal.Signals
) -> None:
    out = tmp_path / "out"
    site = out / "site"
    before = _previous_site(site)
    build = _start_build(checkout, site)
    _wait_until_writing(out, 1, build)
    build.send_signal(how)
    _, err = build.communicate(timeout=120)
    assert build.returncode != 0
    assert _tree(site) == before
    if how == signal.SIGINT:
        assert err.splitlines()[-1] == f"build interrupted: {site} is left as it was"
        assert sorted(p.name for p in out.iterdir()) == ["site"]  # nothing half-built left beside it


def test_a_build_after_a_crash_replaces_the_site_and_clears_what_the_crash_left(
    checkout: Path, tmp_path: Path
) -> None:
    """The previous site here predates the marker: a build recognises it by the files every site has."""
    out = tmp_path / "out"
    site = out / "site"
    for name in ("index.html", "404.html", "search/search_index.json", "downloads/papers.json"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text("the previous site")
    crashed = _start_build(checkout, site)
    _wait_until_writing(out, 1, crashed)
    crashed.kill()
    crashed.communicate(timeout=120)
    result = run_cli("build", "--root", checkout, "--site-dir", site)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["site"]
    assert (site / SITE_MARKER).is_file() and (site / "papers" / "cudaforge" / "index.html").is_file()
    assert "the previous site" not in (site / "index.html").read_text()


def test_build_of_a_read_only_checkout(checkout: Path, tmp_path: Path) -> None:
    """The build renders pages into ROOT/build/docs before MkDocs runs: that needs a writable root."""
    site = tmp_path / "out" / "site"
    line = one_error_line(run_cli("build", "--root", checkout, "--site-dir", site, read_only=checkout))
    assert line.startswith(f"error: cannot write {checkout / 'build'}: "), line
    assert line.endswith(f"(the build renders the pages there first: make {checkout} writable)"), line
    assert not site.exists()


def test_a_strict_build_that_fails_names_each_warning(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """MkDocs run as a library only counts its warnings; the build prints them, so a strict failure says
    which link or anchor is broken, not just how many."""
    from site_gen.site import build

    hook = tmp_path / "broken_link_hook.py"
    hook.write_text(
        "def on_page_markdown(markdown, page, **kw):\n"
        "    return markdown + '\\n[a link](#no-such-anchor)\\n' if page.file.src_uri == 'index.md' else markdown\n"
    )
    real = build.load_config
    monkeypatch.setattr(
        build, "load_config", lambda *a, hooks, **kw: real(*a, hooks=[*hooks, str(hook)], **kw)
    )
    site = tmp_path / "out" / "site"
    assert main(["build", "--root", str(checkout), "--site-dir", str(site)]) == 1
    err = capsys.readouterr().err
    assert (
        "WARNING - Doc file 'index.md' contains a link '#no-such-anchor', but there is no such anchor" in err
    )
    assert "site build failed: Aborted with 1 warnings in strict mode!" in err
    assert not site.exists()
