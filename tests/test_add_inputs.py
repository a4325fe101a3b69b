"""`add` refuses what cannot be a real work before writing anything, reports a broken existing
entry instead of guessing around it, and never leaves a half-written entry behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import one_error_line, run_cli
from conftest import ALPHA, TODAY

from site_gen.cli import main

ADDED = ["--added", TODAY.isoformat()]


def add(root: Path, *args: str) -> int:
    return main(["add", "--root", str(root), *args, *ADDED])


def entry_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "papers").iterdir())


@pytest.mark.parametrize(
    ("arxiv", "message"),
    [
        ("xx2511.99999yy", "error: --arxiv 'xx2511.99999yy' is not an arXiv id"),
        ("2511.01884v2x", "error: --arxiv '2511.01884v2x' is not an arXiv id"),
        (
            "arxiv.org/abs/2511.0188",
            "error: --arxiv 'arxiv.org/abs/2511.0188' was never issued: ids issued since 2015 have 5 digits",
        ),
        ("2513.12345", "error: --arxiv '2513.12345' was never issued: there is no month 13"),
        ("1412.12345", "error: --arxiv '1412.12345' was never issued: ids issued before 2015 have 4 digits"),
    ],
)
def test_add_refuses_malformed_arxiv_ids(
    kb_root: Path, capsys: pytest.CaptureFixture[str], arxiv: str, message: str
) -> None:
    assert add(kb_root, "--arxiv", arxiv, "--title", "Gamma: tiles for everyone") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(message), err
    assert entry_files(kb_root) == ["alpha.yaml", "bench.yaml"]


@pytest.mark.parametrize(
    "arxiv", ["arXiv:2503.00001v2", "https://arxiv.org/pdf/2503.00001v1.pdf", "2503.00001"]
)
def test_add_accepts_the_usual_ways_of_writing_an_arxiv_id(kb_root: Path, arxiv: str) -> None:
    assert add(kb_root, "--arxiv", arxiv, "--title", "Gamma: tiles for everyone") == 0
    assert 'arxiv: "2503.00001"' in (kb_root / "papers" / "gamma.yaml").read_text()


def test_add_refuses_a_never_issued_arxiv_id_from_bibtex(
    kb_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bib = tmp_path / "x.bib"
    bib.write_text(
        "@misc{g, title={Gamma: tiles}, eprint={2513.12345}, archivePrefix={arXiv}, year={2025}}\n"
    )
    assert add(kb_root, "--bibtex", str(bib)) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {bib}: entry 'g': arXiv id '2513.12345' was never issued: there is no month 13"
        " (copy the id from the paper's arXiv page, e.g. 2502.10517)"
    ]
    assert entry_files(kb_root) == ["alpha.yaml", "bench.yaml"]


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("2025-02-30", "error: --date '2025-02-30' is not a real date"),
        ("2025-13", "error: --date '2025-13' is not a real date"),
        ("banana", "error: --date 'banana' is not a date"),
        ("2026-12", f"error: --date '2026-12' is after the day the entry is added ({TODAY.isoformat()})"),
    ],
)
def test_add_refuses_impossible_dates(
    kb_root: Path, capsys: pytest.CaptureFixture[str], date: str, message: str
) -> None:
    assert add(kb_root, "--arxiv", "2503.00001", "--title", "Gamma: tiles", "--date", date) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(message), err
    assert entry_files(kb_root) == ["alpha.yaml", "bench.yaml"]


def test_add_reports_a_broken_existing_entry_instead_of_creating_a_second_copy(
    kb_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (kb_root / "papers" / "alpha.yaml").write_text(ALPHA.replace("kind: method", "kind: [method"))
    assert add(kb_root, "--arxiv", "2502.10517", "--title", "Alpha: generating kernels with feedback") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: papers/alpha.yaml:7: YAML syntax error:"), err
    assert err[0].endswith(
        "(fix it first: until it reads, add cannot tell whether your work is already there)"
    ), err
    assert entry_files(kb_root) == ["alpha.yaml", "bench.yaml"]


def test_add_reports_a_directory_named_like_an_entry(
    kb_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (kb_root / "papers" / "drafts.yaml").mkdir()
    assert add(kb_root, "--arxiv", "2503.00001", "--title", "Gamma: tiles") == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: papers/drafts.yaml:1: is a directory, not an entry file (move it out of papers/ or"
        " rename it so that it does not end in .yaml)"
    ]


def test_duplicate_message_says_to_drop_the_new_entry_never_the_original(
    kb_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(kb_root, "--arxiv", "2502.10517", "--title", "Another title") == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "not added: 'Another title' is already in the knowledge base as papers/alpha.yaml (same arXiv id"
        " '2502.10517'): drop it from what you are adding, or merge what it adds into papers/alpha.yaml"
    ]
    assert "delete" not in out


def test_latin1_bibtex_is_refused_with_the_file_and_the_fix(kb_root: Path, tmp_path: Path) -> None:
    bib = tmp_path / "latin1.bib"
    bib.write_bytes(b"@article{m,\n  title = {M\xfcller kernels for GPUs},\n  year = {2025},\n}\n")
    line = one_error_line(run_cli("add", "--bibtex", bib, "--root", kb_root, *ADDED))
    assert line == f"error: {bib}: not UTF-8 text (byte 0xfc on line 2); save the file as UTF-8"
    assert entry_files(kb_root) == ["alpha.yaml", "bench.yaml"]


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\x00", "\x7f"])
def test_control_characters_in_bibtex_are_refused(kb_root: Path, tmp_path: Path, char: str) -> None:
    bib = tmp_path / "ctrl.bib"
    bib.write_text(f"@article{{c,\n  author = {{Doe, Jane}},\n  title = {{Control {char} kernels}},\n}}\n")
    line = one_error_line(run_cli("add", "--bibtex", bib, "--root", kb_root, *ADDED))
    assert line == (
        f"error: {bib}:3: control character U+{ord(char):04X} in the BibTeX"
        " (delete it; only tabs and line breaks may appear)"
    )
    assert entry_files(kb_root) == ["alpha.yaml", "bench.yaml"]


def test_add_into_a_read_only_papers_directory(kb_root: Path) -> None:
    papers = kb_root / "papers"
    result = run_cli(
        "add", "--arxiv", "2503.00001", "--title", "Gamma: tiles", "--root", kb_root, *ADDED, read_only=papers
    )
    line = one_error_line(result)
    assert line.startswith(f"error: cannot write {papers}/gamma.yaml: "), line
    assert line.endswith(f"(make {papers} writable)"), line
    assert entry_files(kb_root) == ["alpha.yaml", "bench.yaml"]


def test_an_interrupted_add_leaves_no_partial_entry(kb_root: Path) -> None:
    """The write stops part way (a cap on file size, as a full disk would): no gamma.yaml at all."""
    result = run_cli(
        "add",
        "--arxiv",
        "2503.00001",
        "--title",
        "Gamma: tiles",
        "--root",
        kb_root,
        *ADDED,
        max_file_bytes=100,
    )
    assert "File too large" in one_error_line(result)
    assert entry_files(kb_root) == ["alpha.yaml", "bench.yaml"]
