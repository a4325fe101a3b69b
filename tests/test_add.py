"""`add` creates entries that pass `check` once filled, and refuses works already present."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import TODAY

from site_gen.cli import main
from site_gen.kb.check import check_knowledge_base
from site_gen.outputs.add import derive_id

CUDAFORGE_BIB = r"""@article{zhang2025cudaforge,
  title={{CudaForge}: An Agent Framework with Hardware Feedback for {CUDA} Kernel Optimization},
  author={Zhang, Zijian and Wang, Rong and M{\"u}ller, Jan},
  journal={arXiv preprint arXiv:2511.01884},
  year={2025}
}
"""


def add(root: Path, *args: str) -> int:
    return main(["add", "--root", str(root), *args])


def test_add_from_bibtex_creates_entry_that_passes_check_once_filled(
    kb_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bib = tmp_path / "cf.bib"
    bib.write_text(CUDAFORGE_BIB)
    added = TODAY.isoformat()
    assert (
        add(
            kb_root,
            "--bibtex",
            str(bib),
            "--kind",
            "method",
            "--taxonomy",
            "iterative-refinement",
            "--added",
            added,
        )
        == 0
    )
    path = kb_root / "papers" / "cudaforge.yaml"
    text = path.read_text()
    out = capsys.readouterr().out
    assert "created papers/cudaforge.yaml" in out
    assert "papers/cudaforge.yaml:16: summary: is empty" in out  # the only field left to fill
    assert 'authors: ["Zijian Zhang", "Rong Wang", "Jan Müller"]' in text
    assert 'date: "2025-11"' in text and 'arxiv: "2511.01884"' in text
    assert f'added: "{added}"' in text
    assert "@article{zhang2025cudaforge," in text
    problems = check_knowledge_base(kb_root, today=TODAY).problems
    assert [(p.file, p.field) for p in problems] == [("papers/cudaforge.yaml", "summary")]
    path.write_text(
        text.replace('summary: ""', "summary: A loop of a coder and a judge that reads profiler metrics.")
    )
    assert check_knowledge_base(kb_root, today=TODAY).problems == []
    # A second run refuses and leaves the file alone.
    before = path.read_text()
    assert add(kb_root, "--bibtex", str(bib)) == 1
    assert (
        "already in the knowledge base as papers/cudaforge.yaml (same arXiv id '2511.01884')"
        in capsys.readouterr().out
    )
    assert path.read_text() == before


def test_add_from_arxiv_lists_every_field_to_fill(kb_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        add(kb_root, "--arxiv", "https://arxiv.org/abs/2503.00001v2", "--title", "Gamma: tiles for everyone")
        == 0
    )
    out = capsys.readouterr().out
    fields = [line.split(": ")[1] for line in out.splitlines() if line.startswith("    papers/gamma.yaml")]
    assert fields == ["authors", "kind", "taxonomy", "summary"]
    assert 'date: "2025-03"' in (kb_root / "papers" / "gamma.yaml").read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--arxiv", "2502.10517v3", "--title", "Another title"],
            "as papers/alpha.yaml (same arXiv id '2502.10517')",
        ),
        (
            ["--arxiv", "2601.00001", "--title", "ALPHA: Generating Kernels with Feedback"],
            "as papers/alpha.yaml (same title",
        ),
    ],
)
def test_add_refuses_duplicates(
    kb_root: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert add(kb_root, *args) == 1
    assert expected in capsys.readouterr().out
    assert sorted(p.name for p in (kb_root / "papers").iterdir()) == ["alpha.yaml", "bench.yaml"]


def test_add_refuses_duplicate_doi(
    kb_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bib = "@inproceedings{x, title={Something New}, author={Doe, Jane}, year={2024}, month={nov}, doi={10.1145/1234567.7654321}}"
    monkeypatch.setattr("sys.stdin", io.StringIO(bib))
    assert add(kb_root, "--bibtex", "-") == 1
    assert "as papers/bench.yaml (same DOI '10.1145/1234567.7654321')" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--arxiv", "2503.00001", "--title", "Delta", "--kind", "benchmrk"],
            "--kind 'benchmrk' is not a kind: did you mean 'benchmark'?",
        ),
        (
            ["--arxiv", "2503.00001", "--title", "Delta", "--taxonomy", "rl,sfft"],
            "--taxonomy 'sfft' is not a category: did you mean 'sft'?",
        ),
        (["--arxiv", "not-an-id", "--title", "Delta"], "'not-an-id' is not an arXiv id"),
        (["--arxiv", "2503.00001"], "--arxiv needs --title"),
    ],
)
def test_add_rejects_bad_arguments(
    kb_root: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert add(kb_root, *args) == 2
    assert expected in capsys.readouterr().err


def test_add_rejects_bibtex_that_does_not_parse(
    kb_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bib = tmp_path / "bad.bib"
    bib.write_text("@article{x, title={Unclosed}\n")
    assert add(kb_root, "--bibtex", str(bib)) == 2
    assert "the BibTeX does not parse at line 1" in capsys.readouterr().err


def test_derive_id() -> None:
    assert derive_id("CudaForge: An Agent Framework", set()) == "cudaforge"
    assert derive_id("CUDA-L1: Improving CUDA Optimization", set()) == "cuda-l1"
    assert (
        derive_id("Towards the Automated Generation of Fast Kernels", set())
        == "automated-generation-fast-kernels"
    )
    assert derive_id("CudaForge: Again", {"cudaforge", "cudaforge-2"}) == "cudaforge-3"


def test_add_refuses_an_impossible_added_date(kb_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        add(kb_root, "--arxiv", "2503.00001", "--title", "Gamma", "--added", "2026-02-30")
    assert exit_info.value.code == 2
    assert "'2026-02-30' is not a date; write YYYY-MM-DD" in capsys.readouterr().err
    assert not list((kb_root / "papers").glob("gamma*.yaml"))
