"""The results schema: every rule that makes reported numbers comparable and plausible, the
citation rules, the comparison cells and the `stats` command, on throw-away knowledge bases."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ALPHA, TODAY, replace_line, write_entry

from site_gen.kb.check import check_knowledge_base
from site_gen.kb.load import load_knowledge_base
from site_gen.kb.paths import REPO_ROOT
from site_gen.kb.results import cells, not_comparable_reason, rows, stats
from site_gen.outputs.bib import bib_entry

BENCH_WITH_SUBSETS = """\
id: bench
title: "BenchSuite: measuring generated kernels"
authors: [Grace Hopper]
date: "2024-11"
kind: benchmark
taxonomy: [benchmarks]
summary: A suite of kernel tasks with a harness that checks correctness and times every candidate.
benchmark:
  subsets:
    level1: {name: Level 1, tasks: 100}
    level2: {name: Level 2, tasks: 100}
  versions: [v0, v0.1]
"""


def problems_for(root: Path) -> list[str]:
    return [str(p) for p in check_knowledge_base(root, today=TODAY).problems]


def result_entry(name: str, result: str, arxiv: str = "2502.10517", date: str = "2025-02-14") -> str:
    """An entry with one result given as a YAML flow mapping."""
    return (
        f'id: {name}\ntitle: "{name.title()}: a method"\nauthors: [Ada Lovelace]\ndate: "{date}"\n'
        f'arxiv: "{arxiv}"\nkind: method\ntaxonomy: [rl]\nbenchmarks: [bench]\n'
        "summary: A method that repairs and speeds up kernels from execution feedback, turn by turn.\n"
        f"results:\n  - {{{result}}}\n"
    )


GOOD = (
    "benchmark: bench, subset: level1, metric: speedup, aggregate: fast_p, p: 1.0, value: 40, "
    "baseline: eager, model: Alpha, hardware: nvidia-h100, arxiv: 2502.10517v2, source: Table 2"
)


@pytest.fixture
def root(kb_root: Path) -> Path:
    write_entry(kb_root, "bench", BENCH_WITH_SUBSETS)
    write_entry(kb_root, "alpha", result_entry("alpha", GOOD))
    return kb_root


def test_a_complete_result_passes(root: Path) -> None:
    assert problems_for(root) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("hardware: nvidia-h100, ", ""), "results[0]: a speedup result needs `hardware`"),
        (("model: Alpha, ", ""), "results[0]: a speedup result needs `model`"),
        (
            ("hardware: nvidia-h100", "hardware: H100"),
            "results[0].hardware: unknown devices term 'H100' (did you mean 'nvidia-h100'",
        ),
        (("value: 40", "value: 140"), "results[0].value: 140 is not a percentage (0-100)"),
        (("value: 40", "value: true"), "results[0].value: true is a yes/no value, not a number"),
        (("value: 40", "value: .nan"), "results[0].value: Input should be a finite number"),
        (("value: 40", 'value: "40%"'), "results[0].value: '40%' is text, not a number"),
        (("p: 1.0, ", ""), "results[0].aggregate: fast_p needs its speedup threshold p"),
        (
            ("aggregate: fast_p, p: 1.0", "aggregate: mean, p: 1.0"),
            "results[0].p: p belongs to fast_p, not to mean",
        ),
        (
            ("baseline: eager", "baseline: none"),
            "results[0].baseline: a speedup needs the baseline it is measured against",
        ),
        (
            ("baseline: eager", "baseline: torch-compile"),
            "results[0].baseline: unknown baselines term 'torch-compile' ('torch-compile' is an alias: write 'compile-default')",
        ),
        (
            ("arxiv: 2502.10517v2", 'arxiv: "2502.10517"'),
            "results[0].arxiv: '2502.10517' is not a valid arxiv (write the version the number is read from",
        ),
        (
            ("arxiv: 2502.10517v2", "arxiv: 2401.00001v1"),
            "results[0].arxiv: arXiv 2401.00001v1 is not this entry's paper (2502.10517)",
        ),
        (("arxiv: 2502.10517v2, ", ""), "results[0]: a result needs the document it is read from"),
        (
            ("source: Table 2", "source: the paper"),
            "results[0].source: 'the paper' does not say where in the paper",
        ),
        (
            ("subset: level1", "subset: level3"),
            "results[0].subset: bench has no subset 'level3' (allowed: level1, level2)",
        ),
        (("subset: level1, ", ""), "results[0].subset: bench results must name a subset"),
        (("subset: level1", "subset: holdout:nobody"), "results[0].subset: no entry with id 'nobody'"),
        (
            ("subset: level1", "subset: level1, benchmark_version: v2"),
            "results[0].benchmark_version: bench has no version 'v2' (allowed: v0, v0.1)",
        ),
    ],
)
def test_bad_results_are_reported_with_field_and_fix(
    root: Path, change: tuple[str, str], expected: str
) -> None:
    assert change[0] in GOOD
    write_entry(root, "alpha", result_entry("alpha", GOOD.replace(*change)))
    problems = problems_for(root)
    assert any(p.startswith(f"papers/alpha.yaml:11: {expected}") for p in problems), problems


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            "benchmark: bench, subset: level1, metric: correctness, aggregate: mean, value: 80, model: A, "
            "hardware: nvidia-a100, arxiv: 2502.10517v1, source: Table 1",
            "aggregate: correctness is yes or no per task; mean does not apply",
        ),
        (
            "benchmark: bench, subset: level1, metric: correctness, aggregate: share, value: 80, baseline: eager, "
            "model: A, hardware: nvidia-a100, arxiv: 2502.10517v1, source: Table 1",
            "baseline: correctness is not measured against a baseline",
        ),
        (
            "benchmark: bench, subset: level1, metric: speedup, aggregate: mean, value: -1.5, baseline: eager, "
            "model: A, hardware: nvidia-a100, arxiv: 2502.10517v1, source: Table 1",
            "value: a speedup of -1.5 is impossible",
        ),
        (
            "benchmark: bench, subset: level1, metric: correctness, aggregate: pass-at-k, value: 50, model: A, "
            "hardware: nvidia-a100, arxiv: 2502.10517v1, source: Table 1",
            "aggregate: pass-at-k needs k",
        ),
    ],
)
def test_metric_aggregate_and_baseline_must_fit_together(root: Path, result: str, expected: str) -> None:
    write_entry(root, "alpha", result_entry("alpha", result))
    problems = problems_for(root)
    assert any(f"results[0].{expected}" in p for p in problems), problems


def test_a_url_source_needs_no_arxiv_version_and_holdout_names_a_paper(root: Path) -> None:
    result = GOOD.replace("arxiv: 2502.10517v2", 'url: "https://github.com/x/y/blob/abc/README.md"')
    result = result.replace("subset: level1", "subset: holdout:alpha").replace(
        "source: Table 2", "source: README table"
    )
    write_entry(root, "alpha", result_entry("alpha", result))
    assert problems_for(root) == []


def test_non_leaf_category_and_missing_authors_are_refused(kb_root: Path) -> None:
    text = replace_line(ALPHA, 7, "taxonomy: [agent4kernel]").replace(
        "authors: [Ada Lovelace, Alan Turing]\n", ""
    )
    write_entry(kb_root, "alpha", text)
    problems = problems_for(kb_root)
    assert any(
        p.startswith(
            "papers/alpha.yaml:6: taxonomy[0]: 'agent4kernel' has sub-categories; entries are filed under a leaf"
        )
        for p in problems
    ), problems
    assert any("authors: a preprint needs its authors" in p for p in problems), problems


def test_proceedings_year_must_be_the_venues(kb_root: Path) -> None:
    bib = "bibtex: |\n  @inproceedings{a,\n    title = {Alpha},\n    author = {Lovelace, Ada},\n    year = {2025}\n  }\n"
    text = ALPHA.replace('arxiv: "2502.10517"\n', 'arxiv: "2502.10517"\nvenue: ICLR 2026\n') + bib
    write_entry(kb_root, "alpha", text)
    problems = problems_for(kb_root)
    assert any(
        "bibtex: @inproceedings year 2025 contradicts the venue (ICLR 2026) (set year = {2026}" in p
        for p in problems
    ), problems
    write_entry(kb_root, "alpha", text.replace("year = {2025}", "year = {2026}"))
    assert problems_for(kb_root) == []


def test_generated_bibtex_uses_the_venue_year_and_credits_organizations(kb_root: Path) -> None:
    write_entry(
        kb_root, "alpha", ALPHA.replace('arxiv: "2502.10517"\n', 'arxiv: "2502.10517"\nvenue: ICLR 2026\n')
    )
    kb = load_knowledge_base(kb_root)
    entry = bib_entry(kb.by_id["alpha"])
    assert entry.entry_type == "inproceedings" and entry.fields_dict["year"].value == "2026"
    org = kb.by_id["bench"].model_copy(update={"authors": [], "organizations": ["NVIDIA", "Meta"]})
    assert bib_entry(org).fields_dict["author"].value == "{{NVIDIA} and {Meta}}"


def test_arxiv_later_than_a_public_release_is_accepted_only_with_a_link_to_it(kb_root: Path) -> None:
    early = replace_line(ALPHA, 4, 'date: "2024-06"')
    write_entry(kb_root, "alpha", early)  # has links.paper only: the arXiv paper is the first release
    assert any(
        "arXiv id 2502.10517 was issued in 2025-02 but date is 2024-06" in p for p in problems_for(kb_root)
    )
    write_entry(kb_root, "alpha", early.replace("links:\n", "links:\n  code: https://github.com/x/alpha\n"))
    assert problems_for(kb_root) == []


def _two_works(root: Path, hardware_beta: str) -> None:
    write_entry(root, "alpha", result_entry("alpha", GOOD))
    beta = GOOD.replace("value: 40", "value: 55").replace("arxiv: 2502.10517v2", "arxiv: 2503.00001v1")
    beta = beta.replace("hardware: nvidia-h100", f"hardware: {hardware_beta}")
    write_entry(root, "beta", result_entry("beta", beta, arxiv="2503.00001", date="2025-03-02"))


def test_same_cell_is_comparable_and_ranked_best_first(root: Path) -> None:
    _two_works(root, "nvidia-h100")
    kb = load_knowledge_base(root)
    (cell,) = cells(kb)
    assert cell.comparable and [r.entry.id for r in cell.ranked()] == ["beta", "alpha"]
    assert [row.entry.id for _, row in cell.best_over_time()] == ["alpha", "beta"]
    assert cell.title == "Level 1 · fast_p (p = 1) · over PyTorch eager · NVIDIA H100"
    s = stats(kb)
    assert (s.works_with_results, s.results, s.cells, s.comparable_cells) == (2, 2, 1, 1)


def test_other_hardware_is_a_separate_cell_with_a_reason(root: Path) -> None:
    _two_works(root, "nvidia-a100")
    kb = load_knowledge_base(root)
    all_cells = cells(kb)
    assert len(all_cells) == 2 and not any(c.comparable for c in all_cells)
    reason = not_comparable_reason(all_cells[0], all_cells)
    assert "differ in hardware" in reason
    record = rows(kb)[0].as_record()
    assert (
        record["arxiv"]
        and record["hardware"]
        and record["cell"].startswith("bench-level1-speedup-fast-p-p1-eager")
    )


def test_stats_command_prints_the_counts(root: Path) -> None:
    _two_works(root, "nvidia-h100")
    out = subprocess.run(
        [sys.executable, "-m", "site_gen", "stats", "--root", str(root)],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    ).stdout  # fmt: skip
    assert "works: 3" in out and "works with reported results: 2" in out
    assert "comparable cells (>= 2 works): 1 holding 2 results" in out


def test_the_repository_knowledge_base_passes_the_schema() -> None:
    report = check_knowledge_base(REPO_ROOT, today=dt.date.today())
    assert [str(p) for p in report.problems] == []
