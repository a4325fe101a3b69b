"""Every command that writes a file says, in one line naming the path and the fix, why it cannot
write where it was told, and never leaves a half-written or missing file behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import one_error_line, run_cli

from site_gen.cli import main
from site_gen.kb.load import load_knowledge_base
from site_gen.kb.paths import REPO_ROOT
from site_gen.outputs.export import papers_json
from site_gen.outputs.write import OutputError


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_export_out_pointing_at_a_file(
    kb_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exports"
    out.write_text("mine")
    assert main(["export", "--root", str(kb_root), "--out", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {out} is a file: --out takes the directory to write papers.json, papers.csv,"
        " papers.bib, results.csv and results.json into (name a directory, e.g. build/exports)"
    ]
    assert out.read_text() == "mine"


@pytest.mark.parametrize("command", ["bib", "awesome"])
def test_out_pointing_at_a_directory(
    kb_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out = tmp_path / "folder"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main([command, "--root", str(kb_root), "--out", str(out)]) == 2
    name = "papers.bib" if command == "bib" else "README.md"
    assert capsys.readouterr().err.splitlines() == [
        f"error: {out} is a directory (name the file to write, e.g. --out {out / name})"
    ]
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["bib", "--out", "{ro}/papers.bib"],
        ["awesome", "--out", "{ro}/README.md"],
        ["export", "--out", "{ro}"],
    ],
    ids=["bib", "awesome", "export"],
)
def test_read_only_output_directory(kb_root: Path, tmp_path: Path, args: list[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    result = run_cli(*[a.format(ro=ro) for a in args], "--root", kb_root, read_only=ro)
    line = one_error_line(result)
    assert line.startswith(f"error: cannot write {ro}/"), line
    assert line.endswith(f"(choose a writable --out, or make {ro} writable)"), line
    assert list(ro.iterdir()) == []


@pytest.mark.parametrize("command", ["bib", "export"])
def test_a_write_that_fails_midway_keeps_the_previous_file(
    kb_root: Path, tmp_path: Path, command: str
) -> None:
    """A full disk (here: a cap on file size) stops the write: the old file stays whole."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "papers.bib"
    target.write_text("% the previous export\n")
    out = target if command == "bib" else out_dir
    result = run_cli(command, "--root", kb_root, "--out", out, max_file_bytes=200)
    line = one_error_line(result)
    assert line.startswith("error: cannot write ") and "File too large" in line, line
    assert target.read_text() == "% the previous export\n"
    assert _leftovers(out_dir) == []


def test_papers_json_refuses_numbers_a_browser_cannot_parse(kb_root: Path) -> None:
    kb = load_knowledge_base(kb_root)
    alpha = kb.by_id["alpha"]
    json.loads(papers_json(kb))  # finite values export
    for bad in (float("nan"), float("inf"), -float("inf")):
        alpha.results[0].value = bad
        with pytest.raises(OutputError) as info:
            papers_json(kb)
        assert str(info.value) == (
            f"papers/alpha.yaml: results[0].value: {bad} is not a finite number, which JSON cannot hold"
            " (write the number the paper reports)"
        )


def test_output_cut_short_by_a_closed_pipe_is_not_a_traceback(kb_root: Path) -> None:
    """`python -m site_gen bib | head -1`: the reader goes away before the writer is done."""
    command = [sys.executable, "-B", "-m", "site_gen", "bib", "--root", str(kb_root)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    reader, writer = os.pipe()
    os.close(reader)  # nobody will read: every write fails with EPIPE
    try:
        done = subprocess.run(command, stdout=writer, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    finally:
        os.close(writer)
    assert done.returncode == 1 and done.stderr == "", done.stderr
