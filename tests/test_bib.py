"""The BibTeX export parses back, keeps stored BibTeX fields exactly and uses the entry id as key."""

from __future__ import annotations

from pathlib import Path

import bibtexparser
from conftest import ALPHA, write_entry

from site_gen.cli import main
from site_gen.kb.load import load_knowledge_base
from site_gen.outputs.bib import latex_escape, papers_bib

STORED = "bibtex: |\n  @inproceedings{lovelace2025alpha,\n    title = {{Alpha}: Kernels \\& Feedback},\n    booktitle = {Proc. of Something},\n    year = 2025, month = feb\n  }\n"


def test_export_round_trips_with_stable_keys(kb_root: Path, tmp_path: Path) -> None:
    write_entry(kb_root, "alpha", ALPHA + STORED)
    out = tmp_path / "papers.bib"
    assert main(["bib", "--root", str(kb_root), "--out", str(out)]) == 0
    library = bibtexparser.parse_string(out.read_text(), parse_stack=[])
    assert library.failed_blocks == []
    assert [e.key for e in library.entries] == ["alpha", "bench"]  # newest first, key = id
    alpha, bench = library.entries
    assert alpha.entry_type == "inproceedings"
    assert alpha.fields_dict["title"].value == r"{{Alpha}: Kernels \& Feedback}"
    assert alpha.fields_dict["month"].value == "feb"
    assert bench.entry_type == "misc" and bench.fields_dict["doi"].value == "{10.1145/1234567.7654321}"
    assert out.read_text() == papers_bib(load_knowledge_base(kb_root).entries)  # stable across runs


def test_generated_fields_escape_latex(kb_root: Path) -> None:
    write_entry(
        kb_root,
        "alpha",
        ALPHA.replace("Alpha: generating kernels with feedback", "Alpha: 50% faster_kernels & more #1"),
    )
    text = papers_bib(load_knowledge_base(kb_root).entries)
    assert r"title = {{Alpha: 50\% faster\_kernels \& more \#1}}" in text
    assert "eprint = {2502.10517}" in text and "archivePrefix = {arXiv}" in text
    assert len(bibtexparser.parse_string(text).entries) == 2


def test_latex_escape() -> None:
    assert latex_escape(r"a{b}~c^d\e$") == r"a\{b\}\textasciitilde{}c\textasciicircum{}d\textbackslash{}e\$"
